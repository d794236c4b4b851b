"""Benchmark: the web tier's CPU per booking flow, in-process, with bench/load.py's production settings.

bench/load.py's booking mix has users without think time, so on this 2-core
machine its latency is bound by the web processes' CPU per flow. Latency
figures move with whatever else runs on the machine; CPU time per request
(time.process_time of this process) moves much less. So this runs the same
flow as load.py's booking users, N times, through Django's test client (the
full middleware stack, CSRF checked, no HTTP or gunicorn), on a throwaway
PostgreSQL database with the demo clinic, DEBUG=false and the Redis cache:

    availability page (a random booking page and week) -> details page of one
    of its first three times -> booking POST -> confirmation page

and prints per step: CPU ms (median, p95), wall ms (median) and queries
(median, max). Redis and PostgreSQL's own CPU is not counted (other
processes), nor is the worker's (tasks go to an in-memory broker, as in
load.py). --profile prints cProfile's top functions per step.

Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 \
     .venv/bin/python bench/flow_cpu.py [--flows 150] [--redis-db 11] [--profile]
"""

import argparse
import cProfile
import html
import io
import pstats
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import load  # noqa: E402  (bench/load.py: the same environment and demo database)

SLOT_LINK = re.compile(r'<a class="slot" href="([^"]+)"')
HIDDEN_INPUT = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')
STEPS = ("availability", "details", "post", "confirmation")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flows", type=int, default=150, help="booking flows measured (default 150)")
    parser.add_argument("--warmup", type=int, default=10, help="flows run first, not measured (default 10)")
    parser.add_argument("--redis-db", type=int, default=11, help="Redis database for the cache, flushed (default 11)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions per step")
    return parser.parse_args()


class QueryCounter:
    """Counts queries through a cheap execute wrapper (CaptureQueriesContext would time and copy each one)."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


class Flow:
    def __init__(self, plan, rng, profiles=None):
        from django.test import Client

        self.plan, self.rng, self.profiles = plan, rng, profiles
        self.client = Client(HTTP_HOST="127.0.0.1", enforce_csrf_checks=True)
        self.figures = {step: {"cpu": [], "wall": [], "queries": []} for step in STEPS}
        self.outcomes = {"booked": 0, "conflict_on_details": 0, "conflict_on_post": 0, "no_slot_shown": 0}

    def _timed(self, step, record, request):
        from django.db import connection

        counter = QueryCounter()
        profile = self.profiles[step] if (self.profiles is not None and record) else None
        with connection.execute_wrapper(counter):
            wall, cpu = time.perf_counter(), time.process_time()
            if profile:
                profile.enable()
            response = request()
            if profile:
                profile.disable()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        if record:
            figures = self.figures[step]
            figures["cpu"].append(cpu * 1000)
            figures["wall"].append(wall * 1000)
            figures["queries"].append(counter.count)
        return response

    def run(self, record=True):
        pair = self.rng.choice(self.plan["booking_pairs"])
        day = self.rng.choice(self.plan["booking_dates"])
        url = f"/book/{pair['location']}/{pair['service']}/?date={day}&practitioner=any"
        response = self._timed("availability", record, lambda: self.client.get(url))
        assert response.status_code == 200, response.status_code
        links = [html.unescape(link) for link in SLOT_LINK.findall(response.content.decode())]
        if not links:
            self.outcomes["no_slot_shown"] += record
            return
        details_url = self.rng.choice(links[: self.plan["crowd"]])
        response = self._timed("details", record, lambda: self.client.get(details_url))
        if response.status_code == 409:
            self.outcomes["conflict_on_details"] += record
            return
        assert response.status_code == 200, response.status_code
        form = {name: html.unescape(value) for name, value in HIDDEN_INPUT.findall(response.content.decode())}
        ref = uuid.uuid4().hex[:12]
        form.update(
            first_name="Load",
            last_name=f"Test {ref}",
            email=f"load-{ref}@example.com",
            mobile_phone=f"+1408555{self.rng.randrange(10000):04d}",
            is_adult="on",
            accept_privacy_policy="on",
        )
        if self.rng.random() < 0.5:
            form["sms_reminders"] = "on"
        response = self._timed(
            "post",
            record,
            lambda: self.client.post(
                details_url, form, HTTP_ORIGIN="http://127.0.0.1", HTTP_REFERER="http://127.0.0.1" + details_url
            ),
        )
        if response.status_code == 409:
            self.outcomes["conflict_on_post"] += record
            return
        assert response.status_code == 302 and "booked=1" in response["Location"], response.status_code
        self.outcomes["booked"] += record
        response = self._timed("confirmation", record, lambda: self.client.get(response["Location"]))
        assert response.status_code == 200, response.status_code


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def main():
    args = parse_args()
    problem = load.postgres_problem()
    if problem:
        print(f"bench/flow_cpu.py: SKIPPED, it needs a PostgreSQL server: {problem}")
        return 0
    work = Path(tempfile.mkdtemp(prefix="clinic-bench-flow-"))
    load.configure_environment(argparse.Namespace(redis_db=args.redis_db, conn_max_age=60), 8000, work / "static")
    plan = load.prepare_database()
    from django.conf import settings

    rng = random.Random(args.seed)
    flow = Flow(plan, rng)
    for _ in range(args.warmup):
        flow.run(record=False)
    profiles = {step: cProfile.Profile(time.process_time) for step in STEPS} if args.profile else None
    flow.profiles = profiles
    started = time.process_time()
    for _ in range(args.flows):
        flow.run()
    total_cpu = time.process_time() - started

    print(
        f"{args.flows} booking flows in-process (DEBUG={settings.DEBUG}, cache "
        f"{settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}): {flow.outcomes}"
    )
    print(f"{'step':<14}{'n':>5}{'CPU med':>9}{'CPU p95':>9}{'wall med':>10}{'queries':>9}{'max':>5}")
    flow_cpu = 0.0
    for step in STEPS:
        figures = flow.figures[step]
        if not figures["cpu"]:
            continue
        median = statistics.median(figures["cpu"])
        flow_cpu += median
        print(
            f"{step:<14}{len(figures['cpu']):>5}{median:>9.1f}{percentile(figures['cpu'], 0.95):>9.1f}"
            f"{statistics.median(figures['wall']):>10.1f}{statistics.median(figures['queries']):>9.0f}"
            f"{max(figures['queries']):>5}"
        )
    print(
        f"a flow's CPU, sum of the steps' medians: {flow_cpu:.1f} ms; "
        f"all CPU of the measured flows / flows: {total_cpu * 1000 / args.flows:.1f} ms"
    )
    if profiles:
        for step in STEPS:
            out = io.StringIO()
            stats = pstats.Stats(profiles[step], stream=out)
            stats.sort_stats("cumulative").print_stats(45)
            stats.sort_stats("tottime").print_stats(25)
            print(f"\n===== profile: {step} =====")
            print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
