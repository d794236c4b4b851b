"""The clinical forms' personal data: a client's answers to each form (health data, encrypted at rest).

Export: every form the client filled in, with the answers decrypted (they are the client's own).
Erasure: forms still being filled in are deleted; signed forms, good-faith exams, check-in
overrides and reported changes of health are medical records that the law keeps for
CLINICAL_RECORD_RETENTION_YEARS (kept under a legal hold, deleted by retention).
Export files: each signed form as the PDF the clinic keeps (privacy.registry.register_export_files).
"""

from .models import CheckInOverride, FormSubmission, GoodFaithExam, HealthChangeReport, SubmissionStatus
from .signature import strokes


def export_clinical_forms(client_ids):
    submissions = (
        FormSubmission.objects.filter(client_id__in=client_ids)
        .select_related("version__template")
        .order_by("started_at", "id")
    )
    return {
        "clinical_forms": [
            {
                "form": s.version.template.name,
                "version": s.version.number,
                "status": s.status,
                "answers": s.answers or {},
                "signed_by": s.signer_name,
                "drawn_signature_strokes": strokes(s.signature_drawing) if s.signature_drawing else None,
                "signed_at": s.signed_at.isoformat() if s.signed_at else None,
                "valid_until": s.expires_at.isoformat() if s.expires_at else None,
                "started_at": s.started_at.isoformat(),
            }
            for s in submissions
        ],
        "good_faith_exams": [
            {
                "appointment_id": exam.appointment_id,
                "outcome": exam.get_outcome_display(),
                "notes": exam.notes or "",
                "examined_by": exam.examiner_name,
                "examined_at": exam.examined_at.isoformat(),
            }
            for exam in GoodFaithExam.objects.filter(client_id__in=client_ids).order_by("examined_at", "id")
        ],
        "check_in_overrides": [
            {
                "appointment_id": o.appointment_id,
                "reason": o.reason,
                "recorded_by": o.recorded_by_name,
                "recorded_at": o.recorded_at.isoformat(),
            }
            for o in CheckInOverride.objects.filter(client_id__in=client_ids).order_by("recorded_at", "id")
        ],
        "health_change_reports": [
            {
                "appointment_id": r.appointment_id,
                "reported": r.get_via_display(),
                "recorded_by": r.reported_by_name,
                "note": r.note or "",
                "reported_at": r.reported_at.isoformat(),
            }
            for r in HealthChangeReport.objects.filter(client_id__in=client_ids).order_by("reported_at", "id")
        ],
    }


def erase_clinical_forms(client_ids):
    deleted, _ = FormSubmission.objects.filter(client_id__in=client_ids, status=SubmissionStatus.IN_PROGRESS).delete()
    return deleted


def signed_form_pdfs(client_ids) -> list[tuple[str, bytes]]:
    from .pdf import signed_form_pdf

    signed = (
        FormSubmission.objects.filter(client_id__in=client_ids, status=SubmissionStatus.SIGNED)
        .select_related("version__template")
        .order_by("signed_at", "id")
    )
    return [
        (f"signed-forms/{s.version.template.slug}-v{s.version.number}-{s.pk}.pdf", signed_form_pdf(s)) for s in signed
    ]
