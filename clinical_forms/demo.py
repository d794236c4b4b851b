"""Demo clinical forms: a medical history, neurotoxin and dermal filler consents and a photo consent (v1)."""

from django.db import transaction

from appointments.models import Service

from .models import FieldKind, FormField, FormKind, FormTemplate, FormVersion
from .services import publish_version

TREATMENTS = ["neurotoxin", "dermal-filler", "chemical-peel", "laser-hair-removal", "microneedling", "hydrafacial"]

NEUROTOXIN_CONSENT = """\
I request and consent to treatment with botulinum toxin type A (Botox, Dysport or an equivalent) by the licensed \
practitioner of California Aesthetics, in the areas we discussed.

I understand that the effect appears within 3 to 14 days and usually lasts 3 to 4 months, and that results vary.

I have been told of the possible side effects: pain, swelling, redness or bruising where injected; headache; \
a temporary drooping of the eyelid or brow; asymmetry; and, rarely, an allergic reaction or the spread of the \
toxin's effect beyond the treated area (difficulty swallowing, speaking or breathing), which needs urgent care.

I confirm that I am not pregnant or breastfeeding, that I have no neuromuscular disorder (such as myasthenia \
gravis or ALS), and that I have told the practitioner of every medicine I take, including blood thinners and \
aminoglycoside antibiotics.

I will follow the aftercare instructions: stay upright for 4 hours, no rubbing or massaging of the treated area, \
no strenuous exercise for 24 hours. I know I can ask questions at any time and can withdraw this consent before \
the treatment starts."""

DERMAL_FILLER_CONSENT = """\
I request and consent to treatment with a hyaluronic acid dermal filler (such as Juvederm or Restylane) by the \
licensed practitioner of California Aesthetics, in the areas we discussed, with the amount of product agreed.

I understand that the result is visible at once, settles over about 2 weeks, and usually lasts 6 to 18 months \
depending on the product and area, and that results vary; more than one session may be needed.

I have been told of the possible side effects: swelling, redness, tenderness, bruising or lumps where injected; \
asymmetry; infection; a cold sore outbreak in those who get them; and, rarely, the blockage of a blood vessel \
(vascular occlusion), which can damage the skin and, very rarely, cause loss of sight, and needs urgent care. \
Hyaluronic acid filler can be dissolved with hyaluronidase if needed.

I confirm that I am not pregnant or breastfeeding, that I have told the practitioner of any allergy (including to \
lidocaine or hyaluronidase), of every medicine I take (including blood thinners, aspirin and fish oil), of any \
autoimmune disease, and of any filler or other treatment I have had in these areas.

I will follow the aftercare instructions: no massaging of the treated area unless told to, no strenuous exercise, \
heat or alcohol for 24 hours, and I will call the clinic at once about pain, blanching or dusky skin, or any change \
in vision. I know I can ask questions at any time and can withdraw this consent before the treatment starts."""

PHOTO_CONSENT = """\
Photographs of the treated area before and after treatment help your practitioner plan and check your \
treatment. Photos are taken by clinic staff on clinic devices and kept in your clinical record. Each use below is \
separate and optional: you may agree to none, some or all, and withdraw any of them later by asking us; \
a withdrawal applies from then on."""

HISTORY_DECLARATION = """\
The answers above are true and complete to the best of my knowledge. I will tell the clinic before my next \
treatment if my health, medicines or pregnancy status change."""

# (key, kind, label, extra attributes)
FORMS = [
    {
        "slug": "medical-history",
        "name": "Medical history",
        "kind": FormKind.MEDICAL_HISTORY,
        "valid_days": 365,
        "services": TREATMENTS,
        "title": "Your medical history",
        "introduction": "Your answers are confidential: only your practitioner and our privacy officer read them.",
        "fields": [
            ("date_of_birth", FieldKind.DATE, "Date of birth", {"is_date_of_birth": True}),
            (
                "allergies",
                FieldKind.YES_NO,
                "Do you have any allergies (medicines, latex, lidocaine, eggs, albumin)?",
                {"follow_up_label": "Which allergies, and what happens?"},
            ),
            (
                "medications",
                FieldKind.TEXT,
                "Which medicines, vitamins or supplements do you take?",
                {"required": False, "help_text": "Include blood thinners, aspirin, fish oil and antibiotics."},
            ),
            (
                "pregnant",
                FieldKind.YES_NO,
                "Are you pregnant, trying to become pregnant, or breastfeeding?",
                {},
            ),
            (
                "neuromuscular",
                FieldKind.YES_NO,
                "Do you have a neuromuscular disorder (e.g. myasthenia gravis, ALS, Lambert-Eaton)?",
                {"follow_up_label": "Please describe."},
            ),
            (
                "cold_sores",
                FieldKind.YES_NO,
                "Do you get cold sores (herpes simplex)?",
                {},
            ),
            (
                "prior_treatments",
                FieldKind.CHOICE,
                "Have you had injectable treatments before?",
                {"choices": "Never\nNeurotoxin\nDermal filler\nBoth"},
            ),
            ("declaration", FieldKind.CONSENT_TEXT, "Declaration", {"text": HISTORY_DECLARATION}),
        ],
    },
    {
        "slug": "neurotoxin-consent",
        "name": "Neurotoxin treatment consent",
        "kind": FormKind.TREATMENT_CONSENT,
        "valid_days": 365,
        "services": ["neurotoxin"],
        "needs_exam": True,  # California: a good-faith exam before an injectable
        "title": "Consent to neurotoxin treatment",
        "introduction": "Please read carefully and ask your practitioner about anything that is unclear.",
        "fields": [
            ("consent", FieldKind.CONSENT_TEXT, "Consent to treatment", {"text": NEUROTOXIN_CONSENT}),
            (
                "questions_answered",
                FieldKind.YES_NO,
                "Have all your questions about this treatment been answered?",
                {},
            ),
        ],
    },
    {
        "slug": "dermal-filler-consent",
        "name": "Dermal filler treatment consent",
        "kind": FormKind.TREATMENT_CONSENT,
        "valid_days": 365,
        "services": ["dermal-filler"],
        "needs_exam": True,  # California: a good-faith exam before an injectable
        "title": "Consent to dermal filler treatment",
        "introduction": "Please read carefully and ask your practitioner about anything that is unclear.",
        "fields": [
            ("consent", FieldKind.CONSENT_TEXT, "Consent to treatment", {"text": DERMAL_FILLER_CONSENT}),
            (
                "previous_filler",
                FieldKind.YES_NO,
                "Have you had a filler or a permanent implant in the areas to be treated?",
                {"follow_up_label": "Which product, where and when?"},
            ),
            (
                "questions_answered",
                FieldKind.YES_NO,
                "Have all your questions about this treatment been answered?",
                {},
            ),
        ],
    },
    {
        "slug": "photo-consent",
        "name": "Photo consent",
        "kind": FormKind.PHOTO_CONSENT,
        "valid_days": 730,
        "services": TREATMENTS,
        "title": "Before-and-after photos",
        "introduction": "",
        "fields": [
            ("photos", FieldKind.CONSENT_TEXT, "About your photos", {"text": PHOTO_CONSENT}),
            (
                "scope_clinical_record",
                FieldKind.OPTIONAL_CONSENT,
                "Clinical record",
                {"text": "Photos may be taken and kept in my clinical record, seen only by clinical staff."},
            ),
            (
                "scope_shown_to_client",
                FieldKind.OPTIONAL_CONSENT,
                "Shown to me",
                {"text": "My photos may be shown to me during consultations and sent to me on request."},
            ),
            (
                "scope_marketing",
                FieldKind.OPTIONAL_CONSENT,
                "Marketing",
                {
                    "text": "My photos, with my face hidden unless I agree otherwise in writing, may be used in the "
                    "clinic's website, social media and advertising."
                },
            ),
        ],
    },
]


@transaction.atomic
def seed_clinical_forms_demo_data():
    """Create the demo templates with a published version 1; running it again changes nothing."""
    templates = []
    for spec in FORMS:
        template, _ = FormTemplate.objects.get_or_create(
            slug=spec["slug"],
            defaults={
                "name": spec["name"],
                "kind": spec["kind"],
                "valid_days": spec["valid_days"],
                "needs_good_faith_exam": spec.get("needs_exam", False),
            },
        )
        template.services.set(Service.objects.filter(slug__in=spec["services"]))
        if not template.versions.exists():
            version = FormVersion.objects.create(
                template=template, number=1, title=spec["title"], introduction=spec["introduction"]
            )
            for position, (key, kind, label, extra) in enumerate(spec["fields"], start=1):
                FormField.objects.create(version=version, position=position, key=key, kind=kind, label=label, **extra)
            publish_version(version_id=version.pk)
        templates.append(template)
    return templates


def demo_forms_step() -> str:
    # Before the demo week: its bookings send links to the forms their services need.
    return f"Clinical forms ready: {len(seed_clinical_forms_demo_data())} templates."


def _demo_answer(field):
    return {
        FieldKind.DATE: "1988-05-20",
        FieldKind.YES_NO: "no",
        FieldKind.CHOICE: (field.choice_list or [""])[0],
        FieldKind.TEXT: "None",
        FieldKind.OPTIONAL_CONSENT: field.key == "scope_clinical_record",
    }.get(field.kind)


def sign_demo_forms_for_the_week() -> int:
    """The demo week's visits already checked in or completed had their forms signed and exam recorded (the
    check-in gate asks for them): fictional answers, signed by the fictional client, a cleared exam."""
    import hashlib
    from datetime import timedelta

    from django.utils import timezone

    from appointments.demo import DEMO_CLIENTS, DEMO_WEEK, demo_email
    from appointments.models import Appointment

    from .models import ExamOutcome, FormSubmission, GoodFaithExam, SubmissionStatus
    from .selectors import current_version, forms_for_visit, readiness_for, signed_form
    from .services import record_good_faith_exam, render_document

    now = timezone.now()
    signed = 0
    for _days, _at, index, slug, service_slug, _, status in DEMO_WEEK:
        if status not in ("checked_in", "completed"):
            continue
        first, last, _ = DEMO_CLIENTS[index]
        visit = (
            Appointment.objects.filter(
                client__email=demo_email(first, last), service__slug=service_slug, location__slug=slug
            )
            .select_related("client")
            .order_by("-start")
            .first()
        )
        if visit is None:
            continue
        for template in forms_for_visit(visit):
            if signed_form(client_id=visit.client_id, template=template, now=now):
                continue
            version = current_version(template)
            answers = {f.key: _demo_answer(f) for f in version.fields.all() if f.takes_answer}
            signer = f"{visit.client.first_name} {visit.client.last_name}"
            document = render_document(version=version, answers=answers, signer_name=signer, signed_at=now)
            FormSubmission.objects.create(
                client=visit.client,
                version=version,
                appointment=visit,
                status=SubmissionStatus.SIGNED,
                answers=answers,
                signer_name=signer,
                signed_at=now,
                expires_at=now + timedelta(days=template.valid_days),
                document=document,
                document_sha256=hashlib.sha256(document.encode()).hexdigest(),
            )
            signed += 1
        readiness = readiness_for([visit])[visit.pk]
        if readiness.exam_needed and not GoodFaithExam.objects.filter(appointment=visit).exists():
            record_good_faith_exam(appointment_id=visit.pk, examiner=None, outcome=ExamOutcome.CLEARED)
    return signed


def demo_week_forms_step() -> str:
    # After the week is booked, before its visits are checked in (appointments' "week-statuses" step).
    return f"Demo week's forms signed for the visits checked in or done: {sign_demo_forms_for_the_week()}."
