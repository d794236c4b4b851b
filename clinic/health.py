"""GET /healthz for a load balancer: database, pending migrations, Redis."""

from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.views.decorators.cache import never_cache


def _database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def _migrations():
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return "ok" if not pending else f"{len(pending)} pending"


def _redis():
    if not settings.REDIS_URL:
        return "not configured"
    import redis

    redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2).ping()
    return "ok"


@never_cache
def healthz(request):
    checks, healthy = {}, True
    for name, check in (("database", _database), ("migrations", _migrations), ("redis", _redis)):
        try:
            checks[name] = check()
        except Exception as exc:  # noqa: BLE001 - any failure is an unhealthy answer, not a 500
            checks[name] = f"error: {exc.__class__.__name__}"
        healthy &= checks[name] in ("ok", "not configured")
    return JsonResponse({"status": "ok" if healthy else "unhealthy", "checks": checks}, status=200 if healthy else 503)
