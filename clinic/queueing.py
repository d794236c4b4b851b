"""Handing work to Celery from a web request without ever failing the request.

If the broker is down (Redis restarting), the request has already committed
its data; the work is picked up later by the sweeper that owns it (the
reminder pass re-queues texts, a periodic task re-sends pending confirmation
emails, the daily privacy task sends pending acknowledgements).
"""

import logging

from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)


def enqueue(task, *args, **kwargs):
    try:
        return task.apply_async(args=args, kwargs=kwargs)
    except (OperationalError, ConnectionError, OSError) as exc:
        logger.warning("Broker unavailable, %s left for its sweeper: %s", task.name, exc.__class__.__name__)
        return None
