"""Builders of clinical form templates (a published version with a few fields) and answers."""

from clinical_forms import services
from clinical_forms.models import FieldKind, FormField, FormKind, FormSubmission, FormTemplate, FormVersion

CONSENT_WORDING = "I consent to neurotoxin treatment and understand its risks."


def form_template(*, slug="neurotoxin-consent", kind=FormKind.TREATMENT_CONSENT, services_=(), publish=True, **kwargs):
    """A template with version 1: a date of birth, a yes/no with follow-up, a choice, a consent text."""
    template = FormTemplate.objects.create(
        name=kwargs.pop("name", slug.replace("-", " ").title()), slug=slug, kind=kind, **kwargs
    )
    template.services.set(services_)
    version = FormVersion.objects.create(template=template, number=1, title=template.name)
    fields = [
        ("date_of_birth", FieldKind.DATE, "Date of birth", {"is_date_of_birth": True}),
        ("allergies", FieldKind.YES_NO, "Any allergies?", {"follow_up_label": "Which?"}),
        ("skin", FieldKind.CHOICE, "Skin type", {"choices": "Dry\nOily\nCombination"}),
        ("consent", FieldKind.CONSENT_TEXT, "Consent", {"text": CONSENT_WORDING}),
    ]
    if kind == FormKind.PHOTO_CONSENT:
        fields.append(("scope_marketing", FieldKind.OPTIONAL_CONSENT, "Marketing", {"text": "Use in ads."}))
    for position, (key, field_kind, label, extra) in enumerate(fields, start=1):
        FormField.objects.create(version=version, position=position, key=key, kind=field_kind, label=label, **extra)
    if publish:
        services.publish_version(version_id=version.pk)
        version.refresh_from_db()
    return template


def submission(*, client, template, answers=None, **kwargs):
    version = template.versions.order_by("-number").first()
    return FormSubmission.objects.create(client=client, version=version, answers=answers or {}, **kwargs)
