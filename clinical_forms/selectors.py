"""Reads for clinical forms."""

from django.utils import timezone

from .models import FormSubmission, FormTemplate, FormVersion, SubmissionStatus


def current_version(template: FormTemplate) -> FormVersion | None:
    """The version new clients fill in: the latest published one."""
    return template.versions.filter(published_at__isnull=False).order_by("-number").first()


def forms_for_visit(appointment) -> list[FormTemplate]:
    """The active templates the visit's service needs that have a published version."""
    return list(
        FormTemplate.objects.filter(
            services=appointment.service_id, is_active=True, versions__published_at__isnull=False
        )
        .distinct()
        .order_by("kind", "name")
    )


def signed_form(*, client_id: int, template: FormTemplate, now=None) -> FormSubmission | None:
    """The client's signed form for this template that is still valid (reused until it expires)."""
    return (
        FormSubmission.objects.filter(
            client_id=client_id,
            version__template=template,
            status=SubmissionStatus.SIGNED,
            expires_at__gt=now or timezone.now(),
        )
        .order_by("-signed_at")
        .first()
    )


def draft_form(*, client_id: int, template: FormTemplate) -> FormSubmission | None:
    return (
        FormSubmission.objects.filter(
            client_id=client_id, version__template=template, status=SubmissionStatus.IN_PROGRESS
        )
        .select_related("version")
        .order_by("-updated_at")
        .first()
    )


def visit_forms_status(appointment, *, now=None) -> list[dict]:
    """For each form the visit needs: the template and "complete", "in progress" or "to do"."""
    rows = []
    for template in forms_for_visit(appointment):
        if signed_form(client_id=appointment.client_id, template=template, now=now):
            state = "complete"
        elif draft_form(client_id=appointment.client_id, template=template):
            state = "in progress"
        else:
            state = "to do"
        rows.append({"template": template, "state": state})
    return rows


def visit_forms_complete(appointment, *, now=None) -> bool:
    return all(row["state"] == "complete" for row in visit_forms_status(appointment, now=now))
