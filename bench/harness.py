"""Shared set-up for the benchmarks: a throwaway database, Django, and timing helpers.

With DATABASE_URL pointing at PostgreSQL, a fresh database is created on that
server (and dropped at exit); otherwise a temporary SQLite file is used. The
developer's own database is never touched.
"""

import atexit
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django(name):
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        import psycopg

        base, _, _ = url.rpartition("/")
        database = f"clinic_bench_{name}_{os.getpid()}"
        admin_url = f"{base}/postgres"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}"')
            conn.execute(f'CREATE DATABASE "{database}"')

        def drop():
            from django.db import connections

            connections.close_all()
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

        atexit.register(drop)
        os.environ["DATABASE_URL"] = f"{base}/{database}"
    else:
        folder = tempfile.mkdtemp(prefix=f"clinic-bench-{name}-")
        os.environ["DATABASE_URL"] = f"sqlite:///{folder}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
    os.environ.setdefault("DEBUG", "true")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from django.db import connection

    return connection.vendor


def timed(func, *, runs=10, warmup=2):
    """(result, median seconds, min seconds, query count of one run)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmup):
        func()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - started)
    with CaptureQueriesContext(connection) as queries:
        func()
    return result, statistics.median(times), min(times), len(queries)
