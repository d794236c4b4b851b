"""Writes for clinical forms: publishing a version, starting the next one, saving answers."""

from django.db import transaction
from django.utils import timezone

from clinic.errors import BusinessRuleError

from .models import FieldKind, FormField, FormKind, FormSubmission, FormTemplate, FormVersion


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


@transaction.atomic
def publish_version(*, version_id: int, user=None) -> FormVersion:
    """Publish a draft: from now on it is what new clients sign, and it never changes."""
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
    """Rewrite every encrypted value with the first key of CLINICAL_FORMS_KEYS (after a rotation).

    Reading decrypts with any listed key; `update()` encrypts with the first. Timestamps do
    not move. Returns the number of forms rewritten; then the old key can leave the list.
    """
    done = 0
    ids = list(FormSubmission.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), batch_size):
        with transaction.atomic():
            for row in FormSubmission.objects.filter(pk__in=ids[start : start + batch_size]).only(
                "answers", "signer_name"
            ):
                FormSubmission.objects.filter(pk=row.pk).update(answers=row.answers, signer_name=row.signer_name)
                done += 1
    return done
