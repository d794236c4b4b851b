"""Where each app declares the personal data it holds.

Each app registers, in its AppConfig.ready(), an exporter and an eraser for the
client records it owns, so that privacy requests reach every table without this
app importing the others' models.

- exporter(client_ids) -> {category: [row dict, ...]}
- eraser(client_ids) -> number of rows anonymised (None until the app has one)
"""

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class PersonalDataSource:
    app_label: str
    exporter: Callable
    eraser: Callable | None


_sources: dict[str, PersonalDataSource] = {}


def register(app_label, *, exporter, eraser=None):
    _sources[app_label] = PersonalDataSource(app_label, exporter, eraser)


def sources():
    return list(_sources.values())


def export_subject(client_ids):
    """Every category of personal data held about these clients, per app."""
    bundle = {}
    for source in sources():
        bundle.update(source.exporter(client_ids))
    return bundle
