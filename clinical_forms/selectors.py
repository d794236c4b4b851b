"""Reads for clinical forms."""

from .models import FormTemplate, FormVersion


def current_version(template: FormTemplate) -> FormVersion | None:
    """The version new clients fill in: the latest published one."""
    return template.versions.filter(published_at__isnull=False).order_by("-number").first()
