"""Reads for clinical forms."""

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from appointments.models import AppointmentStatus

from .models import (
    HEALTH_DEPENDENT_KINDS,
    CheckInOverride,
    ExamOutcome,
    FormSubmission,
    FormTemplate,
    FormVersion,
    GoodFaithExam,
    HealthChangeReport,
    SubmissionStatus,
)


def current_version(template: FormTemplate) -> FormVersion | None:
    """The version new clients fill in: the latest published one."""
    return template.versions.filter(published_at__isnull=False).order_by("-number").first()


def forms_for_visit(appointment) -> list[FormTemplate]:
    """The active templates the visit's services need that have a published version.

    A visit of several services (one link, sent for its first appointment) needs the forms of every part.
    """
    from appointments.models import Appointment

    services = [appointment.service_id]
    if appointment.visit_id is not None:
        services = (
            list(
                Appointment.objects.filter(visit_id=appointment.visit_id)
                .exclude(status=AppointmentStatus.CANCELLED)
                .values_list("service_id", flat=True)
            )
            or services
        )
    return list(
        FormTemplate.objects.filter(services__in=services, is_active=True, versions__published_at__isnull=False)
        .distinct()
        .order_by("kind", "name")
    )


def reusable_signed_forms(now=None):
    """Signed forms still valid: not expired, and (for a history or treatment consent) signed after the client's
    latest report of a change in their health. The one rule every "is this form done?" question goes through."""
    changed_since_signing = HealthChangeReport.objects.filter(
        client_id=OuterRef("client_id"), reported_at__gte=OuterRef("signed_at")
    )
    return FormSubmission.objects.filter(status=SubmissionStatus.SIGNED, expires_at__gt=now or timezone.now()).exclude(
        Q(version__template__kind__in=HEALTH_DEPENDENT_KINDS) & Exists(changed_since_signing)
    )


def signed_form(*, client_id: int, template: FormTemplate, now=None) -> FormSubmission | None:
    """The client's signed form for this template that is still valid (reused until it expires or the client
    reports a change in their health)."""
    return (
        reusable_signed_forms(now)
        .filter(client_id=client_id, version__template=template)
        .order_by("-signed_at")
        .first()
    )


def latest_health_change(client_id: int) -> HealthChangeReport | None:
    return HealthChangeReport.objects.filter(client_id=client_id).order_by("-reported_at", "-id").first()


def health_forms_to_sign_again(client_id: int, *, now=None) -> list[str]:
    """Names of the client's signed forms that a report of a health change would send back to "to do"."""
    return sorted(
        set(
            reusable_signed_forms(now)
            .filter(client_id=client_id, version__template__kind__in=HEALTH_DEPENDENT_KINDS)
            .values_list("version__template__name", flat=True)
        )
    )


def next_visit_to_sign_again(client_id: int, *, now=None):  # type: ignore[no-untyped-def]
    """The client's next upcoming visit that needs a medical history or treatment consent they have no reusable
    signed copy of (after a reported change of health), or None."""
    from appointments.models import Appointment

    now = now or timezone.now()
    upcoming = (
        Appointment.objects.filter(
            client_id=client_id,
            start__gt=now,
            service__form_templates__is_active=True,
            service__form_templates__kind__in=HEALTH_DEPENDENT_KINDS,
        )
        .exclude(status=AppointmentStatus.CANCELLED)
        .select_related("client", "location", "service")
        .order_by("start", "pk")
        .distinct()
    )
    for visit in upcoming[:20]:  # a client has a handful of upcoming visits; the first that needs them wins
        if any(
            row["template"].kind in HEALTH_DEPENDENT_KINDS and row["state"] != "complete"
            for row in visit_forms_status(visit, now=now)
        ):
            return visit
    return None


def draft_form(*, client_id: int, template: FormTemplate, appointment=None) -> FormSubmission | None:
    """The client's half-filled form; with `appointment`, only one started from that visit's link.

    A link shows and continues only what was typed through it: after a merge (or a shared number) the
    record may hold another person's drafts, whose answers its holder must never see prefilled.
    """
    drafts = FormSubmission.objects.filter(
        client_id=client_id, version__template=template, status=SubmissionStatus.IN_PROGRESS
    )
    if appointment is not None:
        same_visit = Q(appointment_id=appointment.pk)
        if appointment.visit_id is not None:
            same_visit |= Q(appointment__visit_id=appointment.visit_id)
        drafts = drafts.filter(same_visit)
    return drafts.select_related("version").order_by("-updated_at").first()


# What a client reads for each state (the state itself stays the English key code compares).
STATE_LABELS = {"complete": _("complete"), "in progress": _("in progress"), "to do": _("to do")}


def visit_forms_status(appointment, *, now=None) -> list[dict]:
    """For each form the visit needs: the template, "complete", "in progress" or "to do", and its label."""
    rows = []
    for template in forms_for_visit(appointment):
        if signed_form(client_id=appointment.client_id, template=template, now=now):
            state = "complete"
        elif draft_form(client_id=appointment.client_id, template=template, appointment=appointment):
            state = "in progress"
        else:
            state = "to do"
        rows.append({"template": template, "state": state, "state_label": STATE_LABELS[state]})
    return rows


def visit_forms_complete(appointment, *, now=None) -> bool:
    return all(row["state"] == "complete" for row in visit_forms_status(appointment, now=now))


# --- Before check-in: the treatment's forms and good-faith exam, for the gate and the front desk -------------


@dataclass(frozen=True)
class VisitReadiness:
    """What a visit still needs before check-in; names of forms only, never an answer or an exam note."""

    forms_needed: tuple[str, ...] = ()
    forms_missing: tuple[str, ...] = ()
    exam_needed: bool = False
    exam_outcome: str = ""  # the latest exam's outcome, "" when none is recorded
    override: str = ""  # "reason (by whom, when)" of the latest override, "" when none
    underage_refused: bool = False  # the client's form was refused for a date of birth under 18 (not the date)

    @property
    def exam_missing(self) -> bool:
        return self.exam_needed and self.exam_outcome != ExamOutcome.CLEARED

    @property
    def ready(self) -> bool:
        return not self.forms_missing and not self.exam_missing

    @property
    def summary(self) -> str:
        """The front desk's words: "forms complete", "forms incomplete; exam needed", "" when nothing is needed."""
        parts = []
        if self.underage_refused:
            parts.append("UNDER 18: forms refused")
        if self.forms_needed:
            parts.append("forms incomplete" if self.forms_missing else "forms complete")
        if self.exam_needed:
            if self.exam_outcome == ExamOutcome.NOT_CLEARED:
                parts.append("exam: not cleared")
            else:
                parts.append("exam done" if self.exam_outcome else "exam needed")
        if self.override and not self.ready:
            parts.append("override recorded")
        return "; ".join(parts)


def readiness_for(appointments, *, now=None) -> dict[int | None, VisitReadiness]:
    """Each appointment's forms and exam state, by appointment id, in at most four queries for any number.

    An appointment not saved yet (a front-desk booking) is under the key None.
    """
    appointments = list(appointments)
    now = now or timezone.now()
    published = FormVersion.objects.filter(template_id=OuterRef("formtemplate_id"), published_at__isnull=False)
    needs = (
        FormTemplate.services.through.objects.filter(
            service_id__in={a.service_id for a in appointments}, formtemplate__is_active=True
        )
        .annotate(published=Exists(published))
        .filter(Q(published=True) | Q(formtemplate__needs_good_faith_exam=True))
        .values_list(
            "service_id", "formtemplate_id", "formtemplate__name", "formtemplate__needs_good_faith_exam", "published"
        )
    )
    # service -> [(template id, name, needs the exam, has a form to fill in)]
    per_service: dict[int, list[tuple[int, str, bool, bool]]] = defaultdict(list)
    for service_id, template_id, name, exam, is_published in needs:
        per_service[service_id].append((template_id, name, exam, is_published))
    concerned = [a for a in appointments if per_service.get(a.service_id)]
    if not concerned:
        return {a.pk: VisitReadiness() for a in appointments}
    template_ids = {t for a in concerned for t, *_ in per_service[a.service_id]}
    # One query: the signed forms still reusable (not expired, no later health change), and the drafts refused
    # for a date of birth under 18.
    signed, underage = set(), set()
    client_ids = {a.client_id for a in concerned}
    reusable = reusable_signed_forms(now).filter(client_id__in=client_ids, version__template_id__in=template_ids)
    for client_id, template_id, status in FormSubmission.objects.filter(
        Q(pk__in=reusable.values("pk")) | Q(status=SubmissionStatus.IN_PROGRESS, refused_underage_at__isnull=False),
        client_id__in=client_ids,
    ).values_list("client_id", "version__template_id", "status"):
        if status == SubmissionStatus.SIGNED:
            signed.add((client_id, template_id))
        else:
            underage.add(client_id)
    saved_ids = [a.pk for a in concerned if a.pk is not None]
    # An exam or override is of one client: keyed by (appointment, client), so when staff change the
    # appointment's client, what was recorded for the old one does not carry over to the new one.
    outcomes = {  # ordered oldest first: the latest exam of an appointment wins
        (appointment_id, client_id): outcome
        for appointment_id, client_id, outcome in GoodFaithExam.objects.filter(appointment_id__in=saved_ids)
        .order_by("examined_at", "id")
        .values_list("appointment_id", "client_id", "outcome")
    }
    overrides = {
        (appointment_id, client_id): f"{reason} ({who}, {timezone.localtime(at):%Y-%m-%d %H:%M})"
        for appointment_id, client_id, reason, who, at in CheckInOverride.objects.filter(appointment_id__in=saved_ids)
        .order_by("recorded_at", "id")
        .values_list("appointment_id", "client_id", "reason", "recorded_by_name", "recorded_at")
    }
    result = {}
    for a in appointments:
        templates = sorted(per_service.get(a.service_id, []), key=lambda row: row[1])
        forms = [(t, name) for t, name, _, is_published in templates if is_published]
        result[a.pk] = VisitReadiness(
            forms_needed=tuple(name for _, name in forms),
            forms_missing=tuple(name for t, name in forms if (a.client_id, t) not in signed),
            exam_needed=any(exam for _, _, exam, _ in templates),
            exam_outcome=outcomes.get((a.pk, a.client_id), "") if a.pk is not None else "",
            override=overrides.get((a.pk, a.client_id), "") if a.pk is not None else "",
            underage_refused=a.client_id in underage,
        )
    return result


def front_desk_notes(appointments) -> dict[int, str]:
    """For the day's list and calendar: each appointment's forms and exam state in a few words (no answer)."""
    return {pk: r.summary for pk, r in readiness_for(appointments).items() if pk is not None and r.summary}


GATED_STATUSES = (AppointmentStatus.CHECKED_IN, AppointmentStatus.COMPLETED)


def check_in_problems(*, appointment, status: str) -> list[str]:
    """Why a treatment appointment may not become checked in or completed yet (empty: it may).

    The appointments app asks this through its status gates (appointments.status_gates) on every status change.
    """
    if status not in GATED_STATUSES:
        return []
    readiness = readiness_for([appointment])[appointment.pk]
    if readiness.ready or readiness.override:
        return []
    problems = []
    if readiness.forms_missing:
        problems.append("The client has not signed " + ", ".join(readiness.forms_missing) + ".")
    if readiness.exam_outcome == ExamOutcome.NOT_CLEARED:
        problems.append("The good-faith exam did not clear the treatment.")
    elif readiness.exam_missing:
        problems.append("No good-faith exam is recorded for this appointment.")
    problems.append("A practitioner or manager may record a check-in override with a reason.")
    return problems
