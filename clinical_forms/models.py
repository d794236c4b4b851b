"""Clinical form templates (versioned; a published version never changes) and clients' answers.

A template (e.g. "Neurotoxin treatment consent") has numbered versions; the clinic manager
edits a draft version's fields in the admin and publishes it. From then on the version and
its fields refuse every change, so what a client signed can always be shown as it was; a
change is a new version, which applies to new signatures only.
"""

from django.conf import settings
from django.db import models

from appointments.models import Appointment, Service
from clinic.models import Client

from .encryption import EncryptedJSON, EncryptedText


class PublishedVersionError(Exception):
    """Code tried to change or delete a published form version or one of its fields."""


class FormKind(models.TextChoices):
    MEDICAL_HISTORY = "medical_history", "Medical history"
    TREATMENT_CONSENT = "treatment_consent", "Treatment consent"
    PHOTO_CONSENT = "photo_consent", "Photo consent"


class FieldKind(models.TextChoices):
    TEXT = "text", "Text"
    YES_NO = "yes_no", "Yes / no (with an optional follow-up question for yes)"
    CHOICE = "choice", "Choice"
    DATE = "date", "Date"
    CONSENT_TEXT = "consent_text", "Consent text (shown, nothing to answer)"
    OPTIONAL_CONSENT = "optional_consent", "Optional consent (a separate tick box, e.g. a photo-use scope)"


# The forms a reported change of health makes stale: the history, and the treatment consents given on it.
# A photo consent's scopes do not depend on health, so it is still reused.
HEALTH_DEPENDENT_KINDS = (FormKind.MEDICAL_HISTORY, FormKind.TREATMENT_CONSENT)


class FormTemplate(models.Model):
    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(unique=True)
    kind = models.CharField(max_length=30, choices=FormKind.choices)
    services = models.ManyToManyField(
        Service,
        blank=True,
        related_name="form_templates",
        help_text="The services whose visits need this form (the medical history: every treatment).",
    )
    valid_days = models.PositiveIntegerField(
        "valid for (days)",
        default=365,
        help_text="A signed form is reused for later visits for this long (e.g. 365 for the medical history).",
    )
    is_active = models.BooleanField("active", default=True)
    needs_good_faith_exam = models.BooleanField(
        "needs a good-faith exam",
        default=False,
        help_text="The visits of these services also need a practitioner's good-faith exam before check-in "
        "(California: neurotoxin, dermal filler).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "name"]

    def __str__(self):
        return self.name


class FormVersion(models.Model):
    template = models.ForeignKey(FormTemplate, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(editable=False)
    title = models.CharField(max_length=200, help_text="The heading the client sees.")
    introduction = models.TextField(blank=True, help_text="Shown above the questions.")
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, editable=False, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["template", "-number"]
        constraints = [models.UniqueConstraint(fields=["template", "number"], name="one_number_per_form_version")]

    def __str__(self):
        state = "published" if self.is_published else "draft"
        return f"{self.template} v{self.number} ({state})"

    def save(self, *args, **kwargs):
        if self._stored_is_published():
            raise PublishedVersionError(f"{self} is published and cannot change; start a new version.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self._stored_is_published():
            raise PublishedVersionError(f"{self} is published and cannot be deleted.")
        return super().delete(*args, **kwargs)

    @property
    def is_published(self):
        return self.published_at is not None

    def _stored_is_published(self):
        return self.pk is not None and FormVersion.objects.filter(pk=self.pk, published_at__isnull=False).exists()


class FormField(models.Model):
    version = models.ForeignKey(FormVersion, on_delete=models.CASCADE, related_name="fields")
    position = models.PositiveIntegerField(default=0)
    key = models.SlugField(max_length=60, help_text="A short name for the answer, unique in the form, e.g. 'pregnant'.")
    kind = models.CharField(max_length=30, choices=FieldKind.choices)
    label = models.CharField(max_length=300, help_text="The question, or the heading of a consent text.")
    help_text = models.CharField(max_length=300, blank=True)
    text = models.TextField(blank=True, help_text="For a consent text: the wording the client agrees to.")
    required = models.BooleanField(default=True, help_text="Ignored for consent texts and optional consents.")
    choices = models.TextField(blank=True, help_text="For a choice: one option a line.")
    follow_up_label = models.CharField(
        max_length=300, blank=True, help_text="For yes / no: asked (and required) when the answer is yes."
    )
    is_date_of_birth = models.BooleanField(
        "is the date of birth",
        default=False,
        help_text="For a date: the client's date of birth (under-18s are refused, per clinic policy).",
    )

    class Meta:
        ordering = ["version", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["version", "key"], name="one_key_per_form_version")]

    def __str__(self):
        return self.label

    def save(self, *args, **kwargs):
        stored = FormField.objects.filter(pk=self.pk).values_list("version_id", flat=True).first() if self.pk else None
        if self._version_is_published(self.version_id) or (stored and self._version_is_published(stored)):
            raise PublishedVersionError("The fields of a published form version cannot change; start a new version.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self._version_is_published(self.version_id):
            raise PublishedVersionError("The fields of a published form version cannot be deleted.")
        return super().delete(*args, **kwargs)

    @property
    def choice_list(self):
        return [line.strip() for line in self.choices.splitlines() if line.strip()]

    @property
    def takes_answer(self):
        return self.kind != FieldKind.CONSENT_TEXT

    def _version_is_published(self, version_id):
        return FormVersion.objects.filter(pk=version_id, published_at__isnull=False).exists()


class SubmissionStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", "In progress"
    SIGNED = "signed", "Signed"


class SignedFormError(Exception):
    """Code tried to change or delete a signed form."""


class FormSubmissionQuerySet(models.QuerySet):
    def delete(self):
        if self.filter(status=SubmissionStatus.SIGNED).exists():
            raise SignedFormError("A signed form cannot be deleted (it is a medical record).")
        return super().delete()

    def delete_past_retention(self):
        """The retention task's one way to delete signed forms (their legal period is over)."""
        from privacy.ledger import rewriting_ledger

        with rewriting_ledger():
            return super().delete()

    def reassign_client(self, client):
        """Merging two records of one person (clinic.identity.merge_clients): the forms move unchanged."""
        from privacy.ledger import rewriting_ledger

        with rewriting_ledger():
            return super().update(client=client)


class FormSubmission(models.Model):
    """One client's answers to one form version. The answers are encrypted at rest (CLINICAL_FORMS_KEYS).

    Once signed it never changes: the signer, time, IP, user agent and the SHA-256 of the exact
    document rendered for signing are kept with it.
    """

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="form_submissions")
    version = models.ForeignKey(FormVersion, on_delete=models.PROTECT, related_name="submissions")
    appointment = models.ForeignKey(
        Appointment, null=True, blank=True, on_delete=models.SET_NULL, related_name="form_submissions"
    )
    status = models.CharField(max_length=20, choices=SubmissionStatus.choices, default=SubmissionStatus.IN_PROGRESS)
    # {field key: answer}; yes/no follow-ups under "<key>__detail"; optional consents (photo scopes) true/false.
    answers = EncryptedJSON(null=True, blank=True, default=dict)
    signer_name = EncryptedText(null=True, blank=True)
    # The signature the client drew besides typing their name (optional; JavaScript only): its strokes as
    # canonical JSON [[[x, y], ...], ...] on a 600 x 200 pad, validated by clinical_forms.signature.
    signature_drawing = EncryptedText(null=True, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    signed_ip = models.GenericIPAddressField(null=True, blank=True)
    signed_user_agent = models.TextField(blank=True)
    # The exact document the client signed (questions, answers, consent wording, name, time), and its hash.
    document = EncryptedText(null=True, blank=True)
    document_sha256 = models.CharField(max_length=64, blank=True)
    # A date of birth under 18 refused this form (clinic policy): the front desk is told on the appointment
    # and the day's list (the fact only, never the date). Cleared when the form is signed.
    refused_underage_at = models.DateTimeField(null=True, blank=True)

    objects = FormSubmissionQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["client", "status", "expires_at"])]

    def __str__(self):
        return f"{self.version.template} for client #{self.client_id} ({self.get_status_display()})"

    def save(self, *args, **kwargs):
        if self.pk is not None and FormSubmission.objects.filter(pk=self.pk, status=SubmissionStatus.SIGNED).exists():
            raise SignedFormError("A signed form cannot change.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.status == SubmissionStatus.SIGNED:
            raise SignedFormError("A signed form cannot be deleted (it is a medical record).")
        return super().delete(*args, **kwargs)


class FormRequest(models.Model):
    """The forms link sent for one appointment (so the task sends it once)."""

    appointment = models.OneToOneField(Appointment, on_delete=models.CASCADE, related_name="form_request")
    emailed_at = models.DateTimeField(null=True, blank=True)
    texted_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True, help_text="The one reminder before the visit.")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"Forms link for appointment #{self.appointment_id}"


class ClinicalRecordError(Exception):
    """Code tried to change or delete a good-faith exam or a check-in override (they are appended only)."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        if set(kwargs) - {"appointment"}:  # Django's SET_NULL, when a superuser deletes an appointment
            raise ClinicalRecordError("A clinical record cannot change; record a new one.")
        return super().update(**kwargs)

    def delete(self):
        raise ClinicalRecordError("A clinical record cannot be deleted (it is kept for the legal period).")

    def delete_past_retention(self):
        """The retention task's one way to delete them (their legal period is over)."""
        from privacy.ledger import rewriting_ledger

        with rewriting_ledger():
            return super().delete()

    def reassign_client(self, client):
        """Merging two records of one person (clinic.identity.merge_clients): the records move unchanged."""
        from privacy.ledger import rewriting_ledger

        with rewriting_ledger():
            return super().update(client=client)

    def rewrite_ciphertext(self, **values):
        """A key rotation: the same values, encrypted again with the first key."""
        from privacy.ledger import rewriting_ledger

        with rewriting_ledger():
            return super().update(**values)


class AppendOnly(models.Model):
    """Written once, never changed or deleted (like signed forms); a correction is a new record."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None and type(self).objects.filter(pk=self.pk).exists():
            raise ClinicalRecordError(f"{self._meta.verbose_name} cannot change; record a new one.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ClinicalRecordError(f"{self._meta.verbose_name} cannot be deleted (kept for the legal period).")


class ExamOutcome(models.TextChoices):
    CLEARED = "cleared", "Cleared for treatment"
    NOT_CLEARED = "not_cleared", "Not cleared"


class GoodFaithExam(AppendOnly):
    """A practitioner's good-faith exam for one appointment (who, when, outcome); notes encrypted like answers.

    The latest exam of an appointment counts, so a second exam corrects the first without rewriting it.
    """

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="good_faith_exams")
    appointment = models.ForeignKey(
        Appointment, null=True, blank=True, on_delete=models.SET_NULL, related_name="good_faith_exams"
    )
    outcome = models.CharField(max_length=20, choices=ExamOutcome.choices)
    notes = EncryptedText(null=True, blank=True)
    examined_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    examiner_name = models.CharField(max_length=200, help_text="Kept if the practitioner's user is removed.")
    examined_at = models.DateTimeField()

    class Meta:
        ordering = ["-examined_at", "-id"]
        verbose_name = "good-faith exam"

    def __str__(self):
        return f"Good-faith exam for client #{self.client_id} ({self.get_outcome_display()})"


class CheckInOverride(AppendOnly):
    """A practitioner or manager lets a treatment appointment be checked in or completed without its forms or
    exam, with a reason; shown on the appointment to the front desk (so the reason holds no health detail)."""

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="check_in_overrides")
    appointment = models.ForeignKey(
        Appointment, null=True, blank=True, on_delete=models.SET_NULL, related_name="check_in_overrides"
    )
    reason = models.TextField(help_text="Why, in a few words; the front desk sees it, so no health details.")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_by_name = models.CharField(max_length=200)
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["-recorded_at", "-id"]
        verbose_name = "check-in override"

    def __str__(self):
        return f"Check-in override for appointment #{self.appointment_id}"


class ReportedVia(models.TextChoices):
    FORMS_LINK = "forms_link", "The client, on their forms link"
    ACCOUNT = "account", "The client, signed in to their account"
    FRONT_DESK = "front_desk", "Staff, on the client's behalf"


class HealthChangeReport(AppendOnly):
    """The client's word that their health changed since they signed: from then on their signed medical history
    and treatment consents are not reused (the next visit needs fresh ones). Signed forms never change, so the
    report is a record of its own; the note is health data, encrypted like answers."""

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="health_change_reports")
    appointment = models.ForeignKey(
        Appointment, null=True, blank=True, on_delete=models.SET_NULL, related_name="health_change_reports"
    )
    via = models.CharField("reported", max_length=20, choices=ReportedVia.choices)
    note = EncryptedText(
        "note",
        null=True,
        blank=True,
        help_text="Optional: what changed, in the client's words (only practitioners and the privacy officer read it).",
    )
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reported_by_name = models.CharField(
        max_length=200, help_text="The staff member who recorded it; empty: the client."
    )
    reported_at = models.DateTimeField()

    class Meta:
        ordering = ["-reported_at", "-id"]
        verbose_name = "health change report"
        indexes = [models.Index(fields=["client", "reported_at"])]

    def __str__(self):
        return f"Health change reported for client #{self.client_id}"


class HealthChangeNotice(models.Model):
    """The one message asking the client to sign their forms again after a reported change of health (so the task
    sends it once per report, whatever retries). No health data: it names the visit and carries the forms link."""

    report = models.OneToOneField(HealthChangeReport, on_delete=models.CASCADE, related_name="notice")
    appointment = models.ForeignKey(
        Appointment,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The next upcoming visit needing the forms again, when the report was made; empty: none.",
    )
    emailed_at = models.DateTimeField(null=True, blank=True)
    texted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"Notice to sign forms again, report #{self.report_id}"
