"""The demo clinic for `make run` (`manage.py seed_demo`).

Each app registers the demo data it adds, in its AppConfig.ready(), so the command names no app and
dependencies keep pointing one way (clinic <- appointments <- messaging <- waitlist ...). Every step is
idempotent and returns the line it prints (or None).
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class DemoStep:
    name: str
    order: int
    seed: Callable[[], str | None]
    week: bool  # part of the realistic week: `seed_demo --no-week` leaves it out
    debug_only: bool  # local logins and hints: only with DEBUG on


_steps: dict[str, DemoStep] = {}


def register_demo_step(
    name: str, seed: Callable[[], str | None], *, order: int, week: bool = False, debug_only: bool = False
) -> None:
    _steps[name] = DemoStep(name=name, order=order, seed=seed, week=week, debug_only=debug_only)


def demo_steps(*, week: bool, debug: bool) -> list[DemoStep]:
    """The steps to run, in order: the clinic first, then its week, then what only a local run prints."""
    return [
        step
        for step in sorted(_steps.values(), key=lambda step: (step.order, step.name))
        if (week or not step.week) and (debug or not step.debug_only)
    ]
