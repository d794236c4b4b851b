"""Celery tasks for the waitlist: thin, pass ids, safe to run twice."""

from celery import shared_task

from . import services


@shared_task(bind=True, acks_late=True, max_retries=5)
def offer_opening(self, opening_id):
    try:
        offer = services.offer_opening(opening_id=opening_id)
    except Exception as exc:  # a database hiccup: try again later, the pass is idempotent
        raise self.retry(exc=exc, countdown=min(300, 10 * 2**self.request.retries)) from exc
    return offer.pk if offer else None


@shared_task(acks_late=True)
def expire_waitlist_offers():
    """Every minute: expired offers move to the next person; open times get another try (texting hours)."""
    return services.expire_offers()
