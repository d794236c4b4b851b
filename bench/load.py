"""Benchmark: the public site under load, gunicorn on PostgreSQL, driven by locust.

A throwaway PostgreSQL database (dropped at the end) gets the demo clinic
(seed_demo: two locations, seven services, six practitioners with weekly hours,
so every day of the booking horizon has free times). gunicorn serves it with
production settings (DEBUG=false, a random SECRET_KEY, ALLOWED_HOSTS=127.0.0.1),
except what a plain-HTTP bench on one machine needs: no SSL redirect, rate
limits off, texts to the in-memory SMS backend, email to the dummy backend,
Celery tasks published to an in-memory broker (the web tier's share of the
work; no worker runs them).

Scenarios, each at increasing concurrency (users without think time):
- floor: a trivial Django view ("ok", full middleware stack, no database;
  bench/load_urls.py), the most this stack can serve on this machine;
- availability: the public "choose a time" page for any location, service and
  week in the horizon;
- booking: availability, the details page, the booking POST with its CSRF
  token, the confirmation page. Users crowd the first times shown, so they
  race: "that time is taken" (409) is counted as a conflict, not an error.
  Afterwards the database is checked for overlapping appointments. Users book
  on any week of a longer horizon (--horizon-days, default 180) so that the
  steps do not run out of free times: a page with no time to pick ends the
  flow after one cheap read, and a mix made mostly of those would flatter the
  figures. The share of flows that booked is reported, with a warning when
  more than 5% found no time.
- with --think MIN-MAX: the booking scenario again, with users pausing MIN to
  MAX seconds before each page (reading it, filling the form): the realistic
  mix, reported beside the one without think time, never instead of it.

Before the availability steps every page of the plan is requested once (the
warm-up prints how long an uncached page takes): the steps measure the steady
state of a site whose pages are cached, as they are between bookings. After
the steps, --rounds alternating floor and availability runs at the top step
give the ratio between the two (the median of those ratios and the steps'
one), since this machine's speed drifts by a third within minutes.

Errors are 5xx, connection failures and any other unexpected status.
Targets (at 20 users): availability p95 < 50 ms, the booking mix's p95 < 150
ms, 0 errors, 0 double bookings; the ratio of availability to the floor's
req/s (and the floor's own p95) is reported beside them, since both move with
the machine. A missed target is reported, not an exit status; only a crash
exits non-zero.

Run: .venv/bin/python bench/load.py   (DATABASE_URL=postgres://user@host:5432/db picks the server;
default postgres://postgres@127.0.0.1:5432/postgres). --help lists the knobs.
"""

import argparse
import io
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import psutil  # comes with locust (requirements-dev.txt)
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres"
BROWSE_DAYS = 60  # the availability scenario's weeks start in the first 60 days (the site's default horizon)
DRY_WARNING_SHARE = 0.05  # more than this share of booking flows with no time to pick: the mix is not honest


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", default="1,5,10,20", help="concurrency steps (default 1,5,10,20)")
    parser.add_argument("--seconds", type=float, default=15, help="measured seconds per step (default 15)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (default 3, for 2 cores)")
    parser.add_argument("--worker-class", default="sync", help="gunicorn worker class (default sync)")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (gthread; default 1)")
    parser.add_argument("--conn-max-age", type=int, default=60, help="CONN_MAX_AGE seconds (default 60)")
    parser.add_argument("--scenarios", default="floor,availability,booking")
    parser.add_argument(
        "--horizon-days",
        type=int,
        default=180,
        help="booking horizon (BOOKING_HORIZON_DAYS) of the bench's site: users book on any week of it (default 180)",
    )
    parser.add_argument(
        "--think",
        default="",
        help="also run the booking scenario with users pausing MIN-MAX seconds before each page (e.g. 1-3)",
    )
    parser.add_argument(
        "--redis-db",
        type=int,
        default=11,
        help="Redis database of the REDIS_URL server for the cache, flushed (default 11)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="alternating floor/availability rounds at the top step for the ratio (default 3; 0: none)",
    )
    return parser.parse_args()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_problem():
    """Why there is no PostgreSQL server to run on, or None."""
    import psycopg

    url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    if not url.startswith(("postgres://", "postgresql://")):
        return f"DATABASE_URL is not PostgreSQL ({url.split(':')[0]})"
    try:
        psycopg.connect(url.rpartition("/")[0] + "/postgres", connect_timeout=5).close()
    except psycopg.Error as exc:
        return f"PostgreSQL at DATABASE_URL is not reachable ({exc.__class__.__name__})"
    return None


def cache_redis_url(db):
    """Redis database db of the REDIS_URL server (default the local one), flushed; "" if unreachable."""
    import redis

    base = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    url = base.rsplit("/", 1)[0] + f"/{db}"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).flushdb()
    except redis.RedisError as exc:
        print(f"note: no Redis at {url} ({exc.__class__.__name__}); the cache stays per gunicorn worker")
        return ""
    return url


def configure_environment(args, port, static_root):
    """The environment both this process (migrate, seed) and gunicorn read settings from."""
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    # As in production, the cache (the cached availability pages) is Redis, shared by the
    # gunicorn workers: a database of its own on the REDIS_URL server, flushed first.
    redis_url = cache_redis_url(args.redis_db)
    config = {
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "bench.load_settings",
        "BENCH_STATIC_ROOT": str(static_root),
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        # Production refuses to start without a key for clinical answers; a throwaway one here.
        "CLINICAL_FORMS_KEYS": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SITE_URL": f"http://127.0.0.1:{port}",
        "SECURE_SSL_REDIRECT": "false",  # plain HTTP on the loopback; production sits behind TLS
        "RATELIMIT_ENABLE": "false",  # every virtual user shares one IP
        "SMS_BACKEND": "messaging.backends.locmem.SmsBackend",
        "PAYMENTS_ALLOW_SIMULATOR": "true",  # no money moves in a load test: the local payments simulator
        "EMAIL_URL": "dummymail://",
        "CELERY_BROKER_URL": "memory://",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CONN_MAX_AGE": str(args.conn_max_age),
        "LOG_LEVEL": "WARNING",
    }
    if getattr(args, "horizon_days", None):  # bench/flow_cpu.py keeps the site's default
        config["BOOKING_HORIZON_DAYS"] = str(args.horizon_days)
    os.environ.update(config)
    return config


def prepare_database():
    """A fresh database (bench/harness.py), migrated, with the demo clinic; returns the load plan."""
    sys.path.insert(0, str(HERE))
    from harness import setup_django

    started = time.perf_counter()
    setup_django("load")
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from appointments.models import Practitioner, Service
    from clinic.models import Location

    call_command("seed_demo", stdout=io.StringIO())
    call_command("collectstatic", interactive=False, verbosity=0)

    pairs = []
    for location in Location.objects.filter(is_active=True).order_by("slug"):
        for service in Service.objects.filter(is_active=True, locations=location).order_by("slug"):
            if Practitioner.objects.filter(is_active=True, locations=location, services=service).exists():
                pairs.append({"location": location.slug, "service": service.slug})
    location = Location.objects.filter(is_active=True).order_by("slug").first()
    today = timezone.now().astimezone(location.tzinfo).date()
    # Any week that starts inside the booking horizon; browsing users look at the first BROWSE_DAYS (the
    # availability scenario's pages, warmed up and comparable whatever the horizon), booking users at any week.
    week_starts = [(today + timedelta(days=i)).isoformat() for i in range(settings.BOOKING_HORIZON_DAYS - 6)]
    browse_starts = week_starts[: BROWSE_DAYS - 6]
    # Bookings crowd three popular services, on the first three times of the page.
    booking_pairs = [p for p in pairs if p["service"] in ("consultation", "neurotoxin", "hydrafacial")] or pairs
    plan = {
        "pairs": pairs,
        "browse_dates": browse_starts,
        "booking_pairs": booking_pairs,
        "booking_dates": week_starts,
        "crowd": 3,
    }
    print(
        f"database: {connection.settings_dict['NAME']} on PostgreSQL {connection.pg_version // 10000}, "
        f"migrated and seeded in {time.perf_counter() - started:.1f} s; {len(pairs)} location/service pages; "
        f"users book on {len(booking_pairs)} of them, which offer {free_start_times(plan)} start times "
        f"in the {settings.BOOKING_HORIZON_DAYS}-day horizon"
    )
    return plan


def free_start_times(plan):
    """Free start times (any practitioner) over the booking horizon, summed over the pages users book on."""
    from django.conf import settings
    from django.utils import timezone

    from appointments.availability import find_free_slots
    from appointments.models import Service
    from clinic.models import Location

    total = 0
    for pair in plan["booking_pairs"]:
        location, service = Location.objects.get(slug=pair["location"]), Service.objects.get(slug=pair["service"])
        today = timezone.now().astimezone(location.tzinfo).date()
        total += len(
            find_free_slots(
                location=location,
                service=service,
                start_date=today,
                end_date=today + timedelta(days=settings.BOOKING_HORIZON_DAYS),
            )
        )
    return total


def profile_availability_page(plan):
    """The availability page in-process (same settings, no HTTP): cached, not cached, and the floor view."""
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from appointments import slot_cache
    from appointments.availability import find_free_slots
    from appointments.models import Service
    from clinic.models import Location

    pair = plan["booking_pairs"][0]
    location, service = Location.objects.get(slug=pair["location"]), Service.objects.get(slug=pair["service"])
    today = timezone.now().astimezone(location.tzinfo).date()
    url = f"/book/{location.slug}/{service.slug}/?date={today.isoformat()}&practitioner=any"
    client = Client(HTTP_HOST="127.0.0.1")

    def median_ms(func, runs=200, before=None):
        func()
        times = []
        for _ in range(runs):
            if before:
                before()
            started = time.perf_counter()
            func()
            times.append(time.perf_counter() - started)
        return statistics.median(times) * 1000

    def forget_pages():
        slot_cache.forget_process_copies()
        cache.clear()

    floor_ms = median_ms(lambda: client.get("/bench/floor/"))
    hit_ms = median_ms(lambda: client.get(url))
    cold_ms = median_ms(lambda: client.get(url), runs=20, before=forget_pages)
    slots_ms = median_ms(
        lambda: find_free_slots(
            location=location, service=service, start_date=today, end_date=today + timedelta(days=6)
        ),
        runs=20,
    )
    forget_pages()
    with CaptureQueriesContext(connection) as cold_queries:
        client.get(url)
    with CaptureQueriesContext(connection) as hit_queries:
        response = client.get(url)
    cache.clear()
    times_shown = response.content.count(b'class="slot"')
    print(
        f"availability page in-process ({pair['location']}/{pair['service']}, a week, "
        f"{times_shown} times, {len(response.content) // 1024} KB), medians: "
        f"cached {hit_ms:.2f} ms ({len(hit_queries)} queries) against {floor_ms:.2f} ms for the floor view; "
        f"not cached {cold_ms:.1f} ms ({len(cold_queries)} queries), of which find_free_slots {slots_ms:.1f} ms"
    )


def start_gunicorn(args, port, log_path):
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "clinic.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(args.workers),
        "--worker-class",
        args.worker_class,
        "--threads",
        str(args.threads),
        "--chdir",
        str(ROOT),
        "--backlog",
        "2048",
        "--timeout",
        "60",
        "--log-level",
        "warning",
    ]
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{Path(log_path).read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/bench/floor/", timeout=2) as response:
                if response.status == 200:
                    return process
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    stop_gunicorn(process)
    raise RuntimeError(f"gunicorn did not answer within 60 s:\n{Path(log_path).read_text()[-3000:]}")


def stop_gunicorn(process):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_scenario(scenario, args, port, plan_path, log_dir, label="", think=""):
    """Run the locust child for one scenario; returns its per-step figures (and the final line)."""
    command = [
        sys.executable,
        str(HERE / "load_users.py"),
        scenario,
        "--host",
        f"http://127.0.0.1:{port}",
        "--users",
        args.users,
        "--seconds",
        str(args.seconds),
        "--plan",
        str(plan_path),
        *(["--think", think] if think else []),
    ]
    stderr_path = Path(log_dir) / f"locust-{scenario}{'-think' if think else ''}.log"
    steps, final = [], {}
    with open(stderr_path, "w") as stderr:
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=stderr, text=True)
        for line in process.stdout:
            data = json.loads(line)
            if data.get("final"):
                final = data
                continue
            steps.append(data)
            total = data["total"]
            print(
                f"  {label + ' ' if label else ''}{scenario:<12} {data['users']:>3} users: "
                f"{data['rps']:7.1f} req/s  p50 {total['p50']} ms  "
                f"p95 {total['p95']} ms  p99 {total['p99']} ms  errors {total['failures']}",
                flush=True,
            )
        if process.wait() != 0:
            raise RuntimeError(
                f"locust ({scenario}) exited with {process.returncode}:\n{stderr_path.read_text()[-3000:]}"
            )
    return steps, final


def warm_pages(port, plan):
    """Request every availability page of the plan once, as the site's steady state has them cached."""
    urls = [
        f"/book/{p['location']}/{p['service']}/?date={day}&practitioner=any"
        for p in plan["pairs"]
        for day in plan["browse_dates"]
    ]
    times = []
    for url in urls:
        started = time.perf_counter()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{url}", timeout=30) as response:
            response.read()
        times.append(time.perf_counter() - started)
    print(
        f"  warm-up: every availability page once, {len(urls)} pages in {sum(times):.1f} s "
        f"(median {statistics.median(times) * 1000:.0f} ms a page while not cached)",
        flush=True,
    )


def ratio_rounds(args, port, plan_path, work):
    """Floor and availability at the top step in alternating rounds: a drift of the machine's speed hits both."""
    top = max(int(n) for n in args.users.split(","))
    step_args = argparse.Namespace(**{**vars(args), "users": str(top)})
    rounds = []
    for number in range(1, args.rounds + 1):
        floor = run_scenario("floor", step_args, port, plan_path, work, label=f"round {number}")[0][-1]
        availability = run_scenario("availability", step_args, port, plan_path, work, label=f"round {number}")[0][-1]
        rounds.append((floor, availability))
    return rounds


def double_bookings():
    """(overlapping pairs of non-cancelled appointments of one practitioner, online appointments)."""
    from django.db import connection

    from appointments.models import Appointment, AppointmentStatus

    table = connection.ops.quote_name(Appointment._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT count(*) FROM {table} a JOIN {table} b
              ON a.practitioner_id = b.practitioner_id AND a.id < b.id
             AND a.start < b.occupied_until AND b.start < a.occupied_until
             WHERE a.status <> %s AND b.status <> %s
            """,
            [AppointmentStatus.CANCELLED, AppointmentStatus.CANCELLED],
        )
        overlaps = cursor.fetchone()[0]
    return overlaps, Appointment.objects.exclude(status=AppointmentStatus.CANCELLED).count()


def print_table(results):
    width = max([14, *(len(scenario) + 2 for scenario in results)])
    header = (
        f"{'scenario':<{width}}{'users':>6}{'req/s':>9}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}"
        f"{'errors':>8}{'booked':>8}{'conflicts':>10}{'loadgen CPU':>13}"
    )
    print(header)
    print("-" * len(header))
    for scenario, steps in results.items():
        for step in steps:
            total, counters = step["total"], step["counters"]
            booked = conflicts = ""
            if scenario.startswith("booking"):
                booked = counters["booked"]
                conflicts = counters["conflict_on_details"] + counters["conflict_on_post"]
            print(
                f"{scenario:<{width}}{step['users']:>6}{step['rps']:>9.1f}{total['p50']:>8}{total['p95']:>8}"
                f"{total['p99']:>8}{total['failures']:>8}{booked:>8}{conflicts:>10}"
                f"{step['loadgen_cpu_percent']:>12.0f}%"
            )


def think_name(args):
    return f"booking, think {args.think} s"


def flow_shares(counters):
    """(flows, share that booked, share that found no time to pick) of a booking step."""
    flows = sum(counters.values())
    if not flows:
        return 0, 0.0, 0.0
    return flows, counters["booked"] / flows, counters["no_slot_shown"] / flows


def print_breakdown(step, scenario="booking"):
    print(f"{scenario} scenario at {step['users']} users, per request:")
    for name, entry in sorted(step["entries"].items()):
        print(
            f"  {name:<26}{entry['requests'] / step['seconds']:>8.1f} req/s  p50 {entry['p50']:>5} ms  "
            f"p95 {entry['p95']:>5} ms  p99 {entry['p99']:>5} ms  errors {entry['failures']}"
        )
    counters = step["counters"]
    print(
        f"  conflicts: {counters['conflict_on_details']} on the details page (taken since the list was shown), "
        f"{counters['conflict_on_post']} on the POST (lost the race); "
        f"pages with no time to pick: {counters['no_slot_shown']}"
    )
    flows, booked, dry = flow_shares(counters)
    print(f"  flows: {flows}, of which {booked:.0%} booked and {dry:.0%} found no time to pick")


def dry_warnings(results):
    """A warning per booking step where the pages ran out of times (the mix became mostly availability reads)."""
    lines = []
    for scenario, steps in results.items():
        for step in steps if scenario.startswith("booking") else []:
            flows, _, dry = flow_shares(step["counters"])
            if dry > DRY_WARNING_SHARE:
                lines.append(
                    f"warning: {scenario} at {step['users']} users: {dry:.0%} of {flows} flows found no time to pick "
                    "(the booking pages ran dry: the mix was mostly availability reads; raise --horizon-days)"
                )
    return lines


def main():
    args = parse_args()
    problem = postgres_problem()
    if problem:
        print(f"bench/load.py: SKIPPED, it needs a PostgreSQL server: {problem}")
        return 0
    scenarios = [s for s in args.scenarios.split(",") if s]
    port = free_port()
    work = Path(tempfile.mkdtemp(prefix="clinic-bench-load-"))
    configure_environment(args, port, work / "static")
    print(
        f"load benchmark: gunicorn {args.workers} {args.worker_class} workers"
        + (f" x {args.threads} threads" if args.threads > 1 else "")
        + f" on {os.cpu_count()} CPU cores, CONN_MAX_AGE={args.conn_max_age}, DEBUG=false; "
        f"locust (1 process, FastHttpUser, no think time) on the same machine; "
        f"steps of {args.users} users, {args.seconds:g} s each; "
        f"cache: {os.environ['REDIS_URL'] or 'per-worker memory'}"
    )
    busy = psutil.cpu_percent(interval=1.0)
    if busy > 15:
        print(
            f"warning: the machine is already {busy:.0f}% busy before the benchmark starts; "
            "figures will be low and noisy"
        )
    plan = prepare_database()
    profile_availability_page(plan)
    plan_path = work / "plan.json"
    plan_path.write_text(json.dumps(plan))

    gunicorn_log = work / "gunicorn.log"
    server = start_gunicorn(args, port, gunicorn_log)
    results, final, booking_check, rounds = {}, {}, None, []
    try:
        for scenario in scenarios:
            if scenario == "availability":
                warm_pages(port, plan)
            results[scenario], final[scenario] = run_scenario(scenario, args, port, plan_path, work)
            if scenario == "booking" and args.think:
                # The realistic mix, beside (never instead of) the one without think time.
                name = think_name(args)
                results[name], final[name] = run_scenario("booking", args, port, plan_path, work, name, args.think)
            if scenario == "booking":
                booking_check = double_bookings() + (free_start_times(plan),)
            # Once both are measured, and before bookings change every page.
            if args.rounds and not rounds and {"floor", "availability"} <= results.keys():
                if "booking" in results:
                    warm_pages(port, plan)
                rounds = ratio_rounds(args, port, plan_path, work)
    finally:
        stop_gunicorn(server)
    server_log = gunicorn_log.read_text()
    shutil.rmtree(work, ignore_errors=True)

    print()
    print_table(results)
    for scenario in [s for s in results if s.startswith("booking")]:
        print()
        print_breakdown(results[scenario][-1], scenario)
    for warning in dry_warnings(results):
        print(warning)
    all_errors = [e for steps in results.values() for step in steps for e in step["errors"]]
    if all_errors:
        print("\nerrors:")
        for error in all_errors[:10]:
            print(f"  {error['occurrences']} x {error['name']}: {error['error']}")
    if "Traceback" in server_log:
        print(f"\nserver log has tracebacks ({server_log.count('Traceback')}); the last:\n{server_log[-2000:]}")

    print("\ntargets:")
    top = max(int(n) for n in args.users.split(","))

    def at_top(scenario):
        return next((s for s in results.get(scenario, []) if s["users"] == top), None)

    floor, availability = at_top("floor"), at_top("availability")
    if floor and availability:
        ratios = [availability["rps"] / floor["rps"] if floor["rps"] else 0.0]
        shown = [f"steps {availability['rps']:.1f} vs {floor['rps']:.1f} = {ratios[0]:.2f}"]
        for number, (round_floor, round_availability) in enumerate(rounds, 1):
            ratios.append(round_availability["rps"] / round_floor["rps"] if round_floor["rps"] else 0.0)
            shown.append(
                f"round {number} {round_availability['rps']:.1f} vs {round_floor['rps']:.1f} = {ratios[-1]:.2f}"
            )
        ratio = statistics.median(ratios)
        print(
            f"  (reported, not a target) availability req/s / floor req/s at {top} users: median {ratio:.2f} "
            f"of {len(ratios)} ({'; '.join(shown)})"
        )
        floor_p95 = max([floor["total"]["p95"]] + [f["total"]["p95"] for f, _ in rounds])
        print(
            f"  (reported) the floor view's p95 at {top} users: {floor_p95} ms (the worst of the step and the rounds)"
        )
    if availability:
        p95 = max([availability["total"]["p95"]] + [a["total"]["p95"] for _, a in rounds])
        print(
            f"  availability p95 < 50 ms at {top} users: {p95} ms (the worst of the step and the rounds) "
            f"-> {'MET' if p95 < 50 else 'NOT MET'}"
        )
    booking = at_top("booking")
    if booking:
        p95 = booking["total"]["p95"]
        print(f"  booking mix p95 < 150 ms at {top} users: {p95} ms -> {'MET' if p95 < 150 else 'NOT MET'}")
    thinking = at_top(think_name(args)) if args.think else None
    if thinking:
        print(
            f"  (reported, beside the above) booking mix with think time {args.think} s at {top} users: "
            f"p95 {thinking['total']['p95']} ms, {thinking['rps']:.1f} req/s"
        )
    errors = sum(step["total"]["failures"] for steps in results.values() for step in steps)
    errors += sum(step["total"]["failures"] for pair in rounds for step in pair)
    print(f"  0 errors: {errors} -> {'MET' if errors == 0 else 'NOT MET'}")
    if booking_check is not None:
        overlaps, appointments, left = booking_check
        booked = sum(final.get(name, {}).get("booked_in_run", 0) for name in results if name.startswith("booking"))
        print(
            f"  0 double bookings: {overlaps} overlapping pairs among {appointments} appointments "
            f"({booked} bookings answered 302 by the site) -> {'MET' if overlaps == 0 else 'NOT MET'}"
        )
        print(f"  (start times still free on the booking pages afterwards: {left})")
    if top != 20:
        print(f"  (targets are set for 20 users; this run's top step is {top})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
