"""Privacy policy versions: which one is current, publishing, and telling clients."""

import logging

from django.conf import settings
from django.core import checks
from django.core.mail import send_mail
from django.db import DatabaseError, transaction
from django.db.models import Min
from django.utils import timezone

from clinic.models import Client
from clinic.plain_text import render_plain_text
from clinic.queueing import enqueue

from .models import PolicyChangeNotice, PolicyVersion

logger = logging.getLogger(__name__)
NOTICE_BATCH = 200


def current_policy(*, today=None):
    today = today or timezone.localdate()
    return PolicyVersion.objects.filter(is_published=True, effective_date__lte=today).first()


def text_in(policy: PolicyVersion, language: str) -> tuple[str, str]:
    """(body, its language): the clinic's text in `language` when it wrote one, else the main text."""
    if language != settings.LANGUAGE_CODE:
        translated = policy.translations.filter(language=language).values_list("body", flat=True).first()
        if translated:
            return translated, language
    return policy.body, settings.LANGUAGE_CODE


def languages_without_text(*, today=None) -> list[str]:
    """The site's languages the current policy has no text in (empty when nothing is published yet)."""
    policy = current_policy(today=today)
    if policy is None:
        return []
    written = {settings.LANGUAGE_CODE, *policy.translations.exclude(body="").values_list("language", flat=True)}
    return [code for code, _ in settings.LANGUAGES if code not in written]


def check_policy_languages(app_configs=None, databases=None, **kwargs) -> list[checks.Warning]:
    """A language the site speaks with no policy text: its visitors read the English one with a notice."""
    try:
        missing = languages_without_text()
    except (DatabaseError, RuntimeError):  # no tables yet (before migrate), no database, or a test without one
        return []
    names = dict(settings.LANGUAGES)
    return [
        checks.Warning(
            f"The current privacy policy has no {names[code]} ({code}) text: visitors reading in it see the "
            "English text with a notice that it is the binding one and how to ask for it in their language.",
            hint="Add the translation to the next policy version (Privacy > Policy versions) before publishing it.",
            id="privacy.W001",
        )
        for code in missing
    ]


def published_versions():
    return PolicyVersion.objects.filter(is_published=True)


def publish_policy(*, policy_id, notify=True):
    """Publish a version; with `notify`, email every client with an address (once each, in batches)."""
    with transaction.atomic():
        policy = PolicyVersion.objects.select_for_update().get(pk=policy_id)
        if not policy.is_published:
            policy.is_published = True
            policy.published_at = timezone.now()
            policy.save(update_fields=["is_published", "published_at"])
    if notify:
        from .tasks import notify_policy_change

        transaction.on_commit(lambda: enqueue(notify_policy_change, policy_id))
    return policy


def queue_policy_notices(*, policy_id):
    """One notice row per client with an email (never twice), then hand them out in batches."""
    from .tasks import send_policy_notices

    # One per address: several records may hold one email (each online booking is its own record).
    client_ids = (
        Client.objects.exclude(email="").values("email").annotate(first=Min("pk")).values_list("first", flat=True)
    )
    PolicyChangeNotice.objects.bulk_create(
        [PolicyChangeNotice(policy_id=policy_id, client_id=pk) for pk in client_ids.iterator()],
        batch_size=1000,
        ignore_conflicts=True,
    )
    pending = list(
        PolicyChangeNotice.objects.filter(policy_id=policy_id, sent_at__isnull=True).values_list("pk", flat=True)
    )
    for i in range(0, len(pending), NOTICE_BATCH):
        chunk = pending[i : i + NOTICE_BATCH]
        transaction.on_commit(lambda chunk=chunk: enqueue(send_policy_notices, chunk))
    return len(pending)


def send_policy_notice(*, notice_id):
    with transaction.atomic():
        notice = (
            PolicyChangeNotice.objects.select_for_update(of=("self",))
            .select_related("policy", "client")
            .filter(pk=notice_id, sent_at__isnull=True)
            .first()
        )
        if notice is None or notice.client is None or not notice.client.email:
            return False
        context = {
            "policy": notice.policy,
            "client": notice.client,
            "clinic_name": settings.CLINIC_NAME,
            "url": settings.SITE_URL + "/privacy/",
        }
        send_mail(
            subject=f"We have updated our privacy policy (effective {notice.policy.effective_date:%B %-d, %Y})",
            message=render_plain_text("privacy/email/policy_changed.txt", context),
            from_email=None,
            recipient_list=[notice.client.email],
        )
        notice.sent_at = timezone.now()
        notice.save(update_fields=["sent_at"])
        return True


def resend_pending_notices():
    """Sweeper: notices of published versions that were never sent go out now."""
    return sum(
        send_policy_notice(notice_id=pk)
        for pk in PolicyChangeNotice.objects.filter(sent_at__isnull=True, policy__is_published=True).values_list(
            "pk", flat=True
        )
    )
