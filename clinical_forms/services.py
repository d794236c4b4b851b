"""Writes for clinical forms: publishing a version, starting the next one, saving answers."""

import hashlib
import logging
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext

from clinic.errors import BusinessRuleError
from clinic.languages import client_language
from clinic.models import Client

from .models import (
    CheckInOverride,
    ExamOutcome,
    FieldKind,
    FormField,
    FormKind,
    FormSubmission,
    FormTemplate,
    FormVersion,
    GoodFaithExam,
    HealthChangeNotice,
    HealthChangeReport,
    ReportedVia,
    SubmissionStatus,
)
from .signature import drawing_sha256

logger = logging.getLogger(__name__)


class FormVersionError(BusinessRuleError):
    """A form version cannot be published or started as asked."""


def publication_problems(version: FormVersion) -> list[str]:
    """What stops a draft from being published, as sentences for the manager (empty: ready)."""
    problems = []
    fields = list(version.fields.all())
    if not fields:
        problems.append("it has no fields")
    for field in fields:
        if field.kind == FieldKind.CHOICE and len(field.choice_list) < 2:
            problems.append(f"the choice '{field.label}' needs at least two options")
        if field.kind in (FieldKind.CONSENT_TEXT, FieldKind.OPTIONAL_CONSENT) and not field.text.strip():
            problems.append(f"'{field.label}' has no wording")
        if field.is_date_of_birth and field.kind != FieldKind.DATE:
            problems.append(f"'{field.label}' is marked as the date of birth but is not a date")
    kind = version.template.kind
    if kind in (FormKind.TREATMENT_CONSENT, FormKind.PHOTO_CONSENT) and not any(
        f.kind == FieldKind.CONSENT_TEXT for f in fields
    ):
        problems.append("a consent form needs a consent text")
    if kind == FormKind.PHOTO_CONSENT and not any(f.kind == FieldKind.OPTIONAL_CONSENT for f in fields):
        problems.append("a photo consent needs its optional scopes (one optional consent each)")
    return problems


def _hold_template_for_signing(template_id: int) -> None:
    """Lock the form template for a client's save or signature: FOR SHARE, so clients filling in the same form do
    not wait for each other, while publishing a new version (FOR UPDATE on the same row) waits for the signatures
    under way, and they for it. (Django has no FOR SHARE; SQLite runs one writer at a time anyway.)"""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {FormTemplate._meta.db_table} WHERE id = %s FOR SHARE", [template_id])


@transaction.atomic
def publish_version(*, version_id: int, user=None) -> FormVersion:
    """Publish a draft: from now on it is what new clients sign, and it never changes.

    Locks the template first (as signing does, then the version): a client signing the form right now finishes
    against the version they were shown before this one is published, and a client signing after it is told the
    form changed (save_visit_form re-reads the current version under the same lock).
    """
    template_id = FormVersion.objects.filter(pk=version_id).values_list("template_id", flat=True).get()
    FormTemplate.objects.select_for_update().filter(pk=template_id).exists()
    version = FormVersion.objects.select_for_update().select_related("template").get(pk=version_id)
    if version.is_published:
        raise FormVersionError(f"{version.template} version {version.number} is already published.")
    problems = publication_problems(version)
    if problems:
        raise FormVersionError(
            f"{version.template} version {version.number} cannot be published: " + "; ".join(problems) + "."
        )
    version.published_at = timezone.now()
    version.published_by = user
    version.save(update_fields=["published_at", "published_by"])
    return version


@transaction.atomic
def start_new_version(*, template_id: int) -> FormVersion:
    """A draft copy of the latest version (or an empty draft), to edit and publish.

    One draft at a time: asking again returns the draft already open.
    """
    template = FormTemplate.objects.select_for_update().get(pk=template_id)
    latest = template.versions.order_by("-number").first()
    if latest is not None and not latest.is_published:
        return latest
    draft = FormVersion.objects.create(
        template=template,
        number=(latest.number + 1) if latest else 1,
        title=latest.title if latest else template.name,
        introduction=latest.introduction if latest else "",
    )
    if latest is not None:
        FormField.objects.bulk_create(
            FormField(
                version=draft,
                position=f.position,
                key=f.key,
                kind=f.kind,
                label=f.label,
                help_text=f.help_text,
                text=f.text,
                required=f.required,
                choices=f.choices,
                follow_up_label=f.follow_up_label,
                is_date_of_birth=f.is_date_of_birth,
            )
            for f in latest.fields.all()
        )
    return draft


def reencrypt_with_first_key(*, batch_size: int = 500) -> int:
    """Rewrite every encrypted value (answers, signer, drawn signature, signed document) with the first key.

    Reading decrypts with any listed key; `update()` encrypts with the first. Timestamps do
    not move. Returns the number of forms rewritten; then the old key can leave the list.
    """
    from privacy.ledger import rewriting_ledger

    done = 0
    ids = list(FormSubmission.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), batch_size):
        with rewriting_ledger():  # signed forms: the ciphertext changes, never the content
            for row in FormSubmission.objects.filter(pk__in=ids[start : start + batch_size]).only(
                "answers", "signer_name", "signature_drawing", "document"
            ):
                FormSubmission.objects.filter(pk=row.pk).update(
                    answers=row.answers,
                    signer_name=row.signer_name,
                    signature_drawing=row.signature_drawing or None,
                    document=row.document,
                )
                done += 1
    for exam in GoodFaithExam.objects.exclude(notes=None).only("notes"):
        GoodFaithExam.objects.filter(pk=exam.pk).rewrite_ciphertext(notes=exam.notes)
        done += 1
    for report in HealthChangeReport.objects.exclude(note=None).only("note"):
        HealthChangeReport.objects.filter(pk=report.pk).rewrite_ciphertext(note=report.note)
        done += 1
    return done


# --- The client fills in and signs ---------------------------------------------------------


class VersionChanged(BusinessRuleError):
    """The form changed while the client was filling it in: show the new version, save nothing."""

    def __init__(self, version: FormVersion) -> None:
        super().__init__(
            gettext(
                "This form was updated while you were filling it in. Please check your answers on the new version "
                "below; nothing was saved against the old one."
            )
        )
        self.version = version


class UnderageRefused(BusinessRuleError):
    """The date of birth given is under 18: the clinic does not treat minors."""


class AlreadySigned(BusinessRuleError):
    """The client already signed this form and it is still valid."""


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def render_document(
    *, version: FormVersion, answers: dict, signer_name: str, signed_at: datetime, drawing: str = ""
) -> str:
    """The exact text the client signs: every question with its answer, the consent wording, name and time.

    A drawn signature is in it by the SHA-256 of its strokes (clinical_forms.signature), so the
    document's hash covers the drawing too; the PDF draws it.
    """
    lines = [f"{version.title}", f"{version.template.name}, version {version.number}", ""]
    if version.introduction:
        lines += [version.introduction, ""]
    for field in version.fields.all():
        if field.kind == FieldKind.CONSENT_TEXT:
            lines += [field.label, field.text, ""]
            continue
        if field.kind == FieldKind.OPTIONAL_CONSENT:
            agreed = "Agreed" if answers.get(field.key) else "Not agreed"
            lines += [f"{field.label}: {field.text}", f"  {agreed}", ""]
            continue
        lines += [field.label, f"  {answers.get(field.key, '(no answer)')}"]
        detail = answers.get(f"{field.key}__detail")
        if detail:
            lines += [f"  {field.follow_up_label} {detail}"]
        lines.append("")
    lines += [f"Signed by typing their full name: {signer_name}"]
    if drawing:
        lines += [f"Also signed by drawing; SHA-256 of the drawn strokes: {drawing_sha256(drawing)}"]
    lines += [f"Signed at: {signed_at.isoformat()}"]
    return "\n".join(lines)


def _notify_staff_underage(appointment) -> None:
    """Tell the location that a booking's forms were refused for age (no answer, no date of birth in it)."""
    to = [appointment.location.email] if appointment.location.email else []
    if not to:
        logger.warning("Under-18 form refusal for appointment %s: the location has no email", appointment.pk)
        return
    local = timezone.localtime(appointment.start, appointment.location.tzinfo)
    send_mail(
        subject=f"Forms refused (under 18): appointment #{appointment.pk}",
        message=(
            f"The client of appointment #{appointment.pk} ({appointment.service.name}, {local:%a %b %-d, %-I:%M %p}, "
            f"{appointment.location.name}) gave a date of birth under 18 on their medical history. The clinic does "
            "not treat minors: please contact them and cancel or rebook the appointment.\n"
        ),
        from_email=None,
        recipient_list=to,
    )


def save_visit_form(
    *,
    appointment,
    template: FormTemplate,
    data,
    sign: bool,
    ip: str | None = None,
    user_agent: str = "",
    now: datetime | None = None,
):
    """Save what the client typed (sign=False keeps a half-filled form) or validate and sign it.

    Returns (submission or None, form). A form with errors comes back unsaved-as-signed but with
    what was typed kept as the draft. Raises VersionChanged, UnderageRefused, AlreadySigned.
    """
    from .forms import ClinicalForm
    from .selectors import current_version, draft_form, signed_form

    now = now or timezone.now()
    version = current_version(template)
    if version is None:
        raise FormVersionError(gettext("This form is not available."))
    if signed_form(client_id=appointment.client_id, template=template, now=now):
        raise AlreadySigned(gettext("You have already signed this form; nothing more is needed."))
    form = ClinicalForm(data, version=version, signing=sign)
    posted_version = str(data.get("version_id", ""))
    if posted_version != str(version.pk):
        raise VersionChanged(version)
    with transaction.atomic():
        # The template first (the order publish_version takes it in), then the version current under that lock: a
        # version published while the client was filling the form in is shown to them, nothing is saved against
        # the old one.
        _hold_template_for_signing(template.pk)
        current = current_version(template)
        if current is None or current.pk != version.pk:
            raise VersionChanged(current or version)
        # One client's forms are saved one at a time: two signs at once (two tabs, a double tap) would each
        # see no signed form and sign twice. FOR NO KEY UPDATE does not block bookings pointing at the client.
        list(Client.objects.select_for_update(no_key=True).filter(pk=appointment.client_id).values_list("pk"))
        if signed_form(client_id=appointment.client_id, template=template, now=now):
            raise AlreadySigned(gettext("You have already signed this form; nothing more is needed."))
        draft = draft_form(client_id=appointment.client_id, template=template, appointment=appointment)
        if draft is not None and draft.version_id != version.pk:
            draft.delete()  # typed against an older version: replaced by this one
            draft = None
        if draft is None:
            draft = FormSubmission(client=appointment.client, version=version, appointment=appointment)
        draft.answers = form.typed_answers()
        if not sign or not form.is_valid():
            draft.save()
            return None, form
        answers = form.answers()
        today = timezone.localdate(now, appointment.location.tzinfo)
        births = [form.cleaned_data.get(f.key) for f in version.fields.filter(is_date_of_birth=True)]
        underage = any(birth and age_on(birth, today) < 18 for birth in births)
        if underage:
            draft.refused_underage_at = now  # the front desk sees it on the appointment and the day's list
            draft.save()  # what was typed stays; the form is not signed
            transaction.on_commit(lambda: _notify_staff_underage(appointment))
        else:
            signer = form.cleaned_data["signer_name"].strip()
            drawing = form.cleaned_data.get("signature_drawing") or ""
            document = render_document(
                version=version, answers=answers, signer_name=signer, signed_at=now, drawing=drawing
            )
            draft.answers = answers
            draft.signer_name = signer
            draft.signature_drawing = drawing or None
            draft.refused_underage_at = None
            draft.status = SubmissionStatus.SIGNED
            draft.signed_at = now
            draft.expires_at = now + timedelta(days=template.valid_days)
            draft.signed_ip = ip
            draft.signed_user_agent = user_agent[:500]
            draft.document = document
            draft.document_sha256 = hashlib.sha256(document.encode()).hexdigest()
            draft.appointment = appointment
            draft.save()
    if underage:
        raise UnderageRefused(
            gettext(
                "We're sorry: our clinic treats only clients aged 18 or over, so we cannot accept this form. "
                "We have let the clinic know; they will contact you about your appointment."
            )
        )
    return draft, form


# --- The link sent after booking -------------------------------------------------------------


def send_forms_link(*, appointment_id: int, now: datetime | None = None, reminder: bool = False) -> dict:
    """Email (and text, with the client's consent to appointment texts) the link to the visit's forms, once.

    With reminder=True: the one reminder before the visit (FormRequest.reminded_at), if forms are still missing.
    Nothing is sent when the visit needs no form or every form is already signed and valid.
    The messages carry only the link: no question, answer or form name.
    """
    from appointments.models import Appointment
    from messaging.models import MessageKind
    from messaging.outbox import queue_message
    from messaging.permissions import Purpose, may_contact, number_on_file

    from .links import forms_url
    from .models import FormRequest
    from .selectors import visit_forms_complete, visit_forms_status

    now = now or timezone.now()
    visit = Appointment.objects.select_related("client", "location", "service").get(pk=appointment_id)
    sent = {"emailed": False, "texted": False}
    if visit.is_cancelled or visit.end <= now:
        return sent
    if not visit_forms_status(visit, now=now) or visit_forms_complete(visit, now=now):
        return sent
    with transaction.atomic():
        request, _ = FormRequest.objects.get_or_create(appointment=visit)
        request = FormRequest.objects.select_for_update().get(pk=request.pk)
        url = forms_url(visit)
        client = visit.client
        if reminder:
            if request.reminded_at is not None:
                return sent
            request.reminded_at = now
            request.save(update_fields=["reminded_at"])
            email_due, text_due = bool(client.email), True
        else:
            email_due, text_due = request.emailed_at is None and bool(client.email), request.texted_at is None
        if email_due:
            if not reminder:
                request.emailed_at = now
                request.save(update_fields=["emailed_at"])
            with client_language(client):  # in the client's language (the form templates stay the clinic's words)
                body = gettext(
                    "Hello %(name)s,\n\nBefore your %(service)s visit at %(clinic)s %(location)s, please complete "
                    "your forms on this private link (it works on your phone, no account needed):\n\n%(url)s\n\n"
                    "Do not forward this email: the link opens your forms.\n"
                ) % {
                    "name": client.first_name,
                    "service": visit.service.name,
                    "clinic": settings.CLINIC_NAME,
                    "location": visit.location.name,
                    "url": url,
                }
                subject = gettext("Please complete your forms before your visit to %(clinic)s") % {
                    "clinic": settings.CLINIC_NAME
                }
                if reminder:
                    subject = gettext("Reminder: %(subject)s") % {"subject": subject}
            transaction.on_commit(
                lambda: send_mail(subject=subject, message=body, from_email=None, recipient_list=[client.email])
            )
            sent["emailed"] = True
        if text_due and may_contact(client=client, purpose=Purpose.TRANSACTIONAL):
            if not reminder:
                request.texted_at = now
                request.save(update_fields=["texted_at"])
            queue_message(
                to_number=number_on_file(client),
                body=_in_language_of(
                    client,
                    lambda: (
                        gettext("%(clinic)s: please complete your forms before your visit: %(url)s")
                        % {"clinic": settings.CLINIC_NAME, "url": url}
                    ),
                ),
                location=visit.location,
                client=client,
                appointment=visit,
                kind=MessageKind.FORMS,
                dedupe_key=f"forms-{'reminder' if reminder else 'link'}:{visit.pk}",
                now=now,
            )
            sent["texted"] = True
    return sent


def _in_language_of(client, render):  # type: ignore[no-untyped-def]
    with client_language(client):
        return render()


def send_due_form_reminders(*, now: datetime | None = None) -> int:
    """Remind, once, the clients whose visit is within FORMS_REMINDER_HOURS (48) and whose forms are missing."""
    from appointments.models import Appointment, AppointmentStatus

    now = now or timezone.now()
    due = (
        Appointment.objects.filter(
            start__gt=now,
            start__lte=now + timedelta(hours=settings.FORMS_REMINDER_HOURS),
            service__form_templates__is_active=True,
        )
        .exclude(status=AppointmentStatus.CANCELLED)
        .exclude(form_request__reminded_at__isnull=False)
        .values_list("pk", flat=True)
        .distinct()
    )
    reminded = 0
    for visit_id in list(due):
        if send_forms_link(appointment_id=visit_id, now=now, reminder=True)["emailed"]:
            reminded += 1
    return reminded


def audit_answers_read(*, submission_id: int, user, how: str) -> None:
    """Who read which client's answers, when (the privacy audit trail); the answers themselves are not copied."""
    from privacy.models import AuditAction
    from privacy.subject_requests import audit

    submission = FormSubmission.objects.select_related("version__template").get(pk=submission_id)
    audit(
        AuditAction.DATA_VIEWED,
        client_id=submission.client_id,
        actor=user,
        detail=(
            f"Clinical form answers {how}: {submission.version.template.name} v{submission.version.number} "
            f"(form #{submission.pk})"
        ),
    )


# --- Medical records: the legal hold and the end of the legal period ----------------------------


def legal_hold_sentence(client_ids) -> str:
    """What an erasure keeps of these clients by law (named in the answer to the person), or ""."""
    client_ids = list(client_ids)
    if (
        not FormSubmission.objects.filter(client_id__in=client_ids, status=SubmissionStatus.SIGNED).exists()
        and not GoodFaithExam.objects.filter(client_id__in=client_ids).exists()
        and not HealthChangeReport.objects.filter(client_id__in=client_ids).exists()
    ):
        return ""
    years = settings.CLINICAL_RECORD_RETENTION_YEARS
    return (
        "Your signed treatment forms, medical history, good-faith exams and reported changes of health are medical "
        "records that the law "
        "requires us to keep "
        f"(California: at least {years} years after your last visit), encrypted and readable only by clinical staff; "
        "they are deleted at the end of that period."
    )


def delete_records_past_retention(*, now: datetime | None = None, dry_run: bool = False) -> int:
    """Delete signed forms, good-faith exams, check-in overrides and health change reports
    CLINICAL_RECORD_RETENTION_YEARS after the later of their date and the client's last visit."""
    from dateutil.relativedelta import relativedelta
    from django.db.models import Exists, OuterRef

    from appointments.models import Appointment

    now = now or timezone.now()
    cutoff = now - relativedelta(years=settings.CLINICAL_RECORD_RETENTION_YEARS)
    recent_visit = Appointment.objects.filter(client_id=OuterRef("client_id"), start__gte=cutoff)
    expired = FormSubmission.objects.filter(status=SubmissionStatus.SIGNED, signed_at__lt=cutoff).exclude(
        Exists(recent_visit)
    )
    exams = GoodFaithExam.objects.filter(examined_at__lt=cutoff).exclude(Exists(recent_visit))
    overrides = CheckInOverride.objects.filter(recorded_at__lt=cutoff).exclude(Exists(recent_visit))
    reports = HealthChangeReport.objects.filter(reported_at__lt=cutoff).exclude(Exists(recent_visit))
    if dry_run:
        return expired.count() + exams.count() + overrides.count() + reports.count()
    with transaction.atomic():
        deleted, _ = expired.delete_past_retention()
        deleted += exams.delete_past_retention()[0] + overrides.delete_past_retention()[0]
        deleted += reports.delete_past_retention()[0]
    return deleted


# --- Before treatment: the good-faith exam, and the override of the check-in gate ------------------------


class ClinicalRecordRefused(BusinessRuleError):
    """An exam or override that cannot be recorded as asked."""


def _staff_name(user) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else ""


@transaction.atomic
def record_good_faith_exam(
    *, appointment_id: int, examiner, outcome: str, notes: str = "", now: datetime | None = None
) -> GoodFaithExam:
    """A practitioner's good-faith exam for this appointment; a later exam of the same appointment supersedes it."""
    from appointments.models import Appointment

    if outcome not in ExamOutcome.values:
        raise ClinicalRecordRefused("Choose the exam's outcome: cleared or not cleared.")
    visit = Appointment.objects.get(pk=appointment_id)
    return GoodFaithExam.objects.create(
        client_id=visit.client_id,
        appointment=visit,
        outcome=outcome,
        notes=notes.strip() or None,
        examined_by=examiner,
        examiner_name=_staff_name(examiner),
        examined_at=now or timezone.now(),
    )


@transaction.atomic
def record_check_in_override(*, appointment_id: int, user, reason: str, now: datetime | None = None) -> CheckInOverride:
    """Let this appointment be checked in or completed without its forms or exam; the reason is required."""
    from appointments.models import Appointment

    reason = reason.strip()
    if not reason:
        raise ClinicalRecordRefused("Say why the appointment may go ahead without its forms or exam.")
    visit = Appointment.objects.get(pk=appointment_id)
    return CheckInOverride.objects.create(
        client_id=visit.client_id,
        appointment=visit,
        reason=reason,
        recorded_by=user,
        recorded_by_name=_staff_name(user),
        recorded_at=now or timezone.now(),
    )


# --- "My health has changed since I signed" ----------------------------------------------------------------

HEALTH_NOTE_MAX_LENGTH = 2000


def report_health_change(
    *,
    client_id: int,
    via: str,
    user=None,
    note: str = "",
    appointment_id: int | None = None,
    now: datetime | None = None,
) -> HealthChangeReport:
    """Record the client's word that their health changed since they signed (appended, never changed).

    From this moment their signed medical history and treatment consents are no longer reused
    (selectors.reusable_signed_forms): the next visit needs fresh ones. The signed forms stay as they were.
    """
    from privacy.models import AuditAction
    from privacy.subject_requests import audit

    from .selectors import health_forms_to_sign_again

    if via not in ReportedVia.values:
        raise ClinicalRecordRefused("Say how the change was reported.")
    note = (note or "").strip()
    if len(note) > HEALTH_NOTE_MAX_LENGTH:
        raise ClinicalRecordRefused(
            gettext("Please keep the note under %(count)d characters.") % {"count": HEALTH_NOTE_MAX_LENGTH}
        )
    now = now or timezone.now()
    with transaction.atomic():
        # Taken in the order signing takes it (save_visit_form): a form being signed right now lands either
        # before this report (and is not reused) or after it (and is).
        list(Client.objects.select_for_update(no_key=True).filter(pk=client_id).values_list("pk"))
        stale = health_forms_to_sign_again(client_id, now=now)
        report = HealthChangeReport.objects.create(
            client_id=client_id,
            appointment_id=appointment_id,
            via=via,
            note=note or None,
            reported_by=user,
            reported_by_name=_staff_name(user),
            reported_at=now,
        )
        audit(
            AuditAction.DATA_CORRECTED,
            client_id=client_id,
            actor=user,
            actor_label="" if user is not None else "the client",
            detail=(
                f"Health change reported ({report.get_via_display()}), report #{report.pk}; to sign again: "
                + (", ".join(stale) or "no signed form")
            ),
        )
        transaction.on_commit(lambda: _enqueue_health_change_notice(report.pk))
    return report


def _enqueue_health_change_notice(report_id: int) -> None:
    from clinic.queueing import enqueue

    from .tasks import send_health_change_notice as task

    enqueue(task, report_id)


def send_missing_health_change_notices(*, now: datetime | None = None) -> int:
    """The sweeper of the notices whose task never ran (the broker was down when the report was made), or whose
    email never went (the mail server was down past the task's retries, which released the claim): reports of
    the last two days, older than a few minutes (their own task has had its chance). One that fails waits for the
    next sweep; the others, and the reminders swept after them, still go."""
    from django.db.models import Q

    from appointments.models import AppointmentStatus

    now = now or timezone.now()
    missing = (
        HealthChangeReport.objects.filter(
            reported_at__gte=now - timedelta(days=2), reported_at__lte=now - timedelta(minutes=5)
        )
        .filter(
            Q(notice__isnull=True)
            | Q(notice__emailed_at__isnull=True, notice__appointment__start__gt=now, client__email__gt="")
            & ~Q(notice__appointment__status=AppointmentStatus.CANCELLED)
        )
        .values_list("pk", flat=True)
    )
    done = 0
    for report_id in list(missing):
        try:
            sent = send_health_change_notice(report_id=report_id, now=now)
        except Exception:
            logger.warning(
                "Sign-again notice of report #%s not sent yet; the next sweep tries again", report_id, exc_info=True
            )
            continue
        done += 1 if (sent["emailed"] or sent["texted"]) else 0
    return done


def send_health_change_notice(*, report_id: int, now: datetime | None = None) -> dict:
    """Ask the client, once per report and once per visit, to sign their forms again before their next visit
    that needs them.

    An email, and a text if they consent to appointment texts (re-checked when the text goes, and held for
    quiet hours), both with the private forms link of that visit. No health data: only the visit's date.
    With no upcoming visit needing those forms nothing is sent: a later booking sends its own forms link,
    which already asks for them. Safe to run again: the notice row (one per report) records what went.
    """
    from messaging.models import MessageKind
    from messaging.outbox import queue_message
    from messaging.permissions import Purpose, may_contact, number_on_file
    from messaging.texts import visit_time

    from .links import forms_url
    from .selectors import next_visit_to_sign_again

    now = now or timezone.now()
    sent = {"emailed": False, "texted": False}
    with transaction.atomic():
        report = HealthChangeReport.objects.select_related("client").get(pk=report_id)
        notice, created = HealthChangeNotice.objects.get_or_create(report=report)
        notice = HealthChangeNotice.objects.select_for_update().get(pk=notice.pk)
        if created:  # the visit is chosen once: a retry does not move the notice to another visit
            chosen = next_visit_to_sign_again(report.client_id, now=now)
            if chosen is not None:
                # One notice per visit: a second report (or a forwarded link posted again and again) does not
                # text and email the client again; the first notice's link is the same, and the 48-hour
                # reminder asks for forms still unsigned. The client's row lock orders two reports at once.
                Client.objects.select_for_update().filter(pk=report.client_id).first()
                if HealthChangeNotice.objects.filter(appointment=chosen).exclude(pk=notice.pk).exists():
                    chosen = None
            notice.appointment = chosen
            notice.save(update_fields=["appointment"])
        visit = notice.appointment
        client = report.client
        if visit is None or visit.is_cancelled or visit.start <= now or client.erased_at is not None:
            return sent
        url = forms_url(visit)
        with client_language(client):  # the client's language; the visit's time on its location's clock
            when = visit_time(visit)
            subject = gettext("Please review and sign your forms again before your visit to %(clinic)s") % {
                "clinic": settings.CLINIC_NAME
            }
            body = gettext(
                "Hello %(name)s,\n\nPlease review and sign your forms again before your visit on %(when)s at "
                "%(clinic)s %(location)s, on this private link (it works on your phone, no account needed):\n\n"
                "%(url)s\n\nDo not forward this email: the link opens your forms.\n"
            ) % {
                "name": client.first_name,
                "when": when,
                "clinic": settings.CLINIC_NAME,
                "location": visit.location.name,
                "url": url,
            }
            text = gettext(
                "%(clinic)s: please review and sign your forms again before your visit on %(when)s: %(url)s"
            ) % {
                "clinic": settings.CLINIC_NAME,
                "when": when,
                "url": url,
            }
        email_due = notice.emailed_at is None and bool(client.email)
        if email_due:
            # Claimed before the provider is called (no lock held across it): a second run finds it taken.
            notice.emailed_at = now
            notice.save(update_fields=["emailed_at"])
        if notice.texted_at is None and may_contact(client=client, purpose=Purpose.TRANSACTIONAL):
            notice.texted_at = now
            notice.save(update_fields=["texted_at"])
            queue_message(
                to_number=number_on_file(client),
                body=text,
                location=visit.location,
                client=client,
                appointment=visit,
                kind=MessageKind.FORMS,
                dedupe_key=f"forms-sign-again:{report.pk}",
                now=now,
            )
            sent["texted"] = True
    if email_due:
        try:
            send_mail(subject=subject, message=body, from_email=None, recipient_list=[client.email])
        except Exception:
            # Not sent: release the claim so the task's retry sends it.
            HealthChangeNotice.objects.filter(pk=notice.pk).update(emailed_at=None)
            raise
        sent["emailed"] = True
    return sent
