"""The clinical forms' personal data: a client's answers to each form (health data, encrypted at rest).

Export: every form the client filled in, with the answers decrypted (they are the client's own).
Erasure: forms still being filled in are deleted; signed forms are medical records that the
law keeps for CLINICAL_RECORD_RETENTION_YEARS (kept under a legal hold, deleted by retention).
"""

from .models import FormSubmission, SubmissionStatus


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
                "signed_at": s.signed_at.isoformat() if s.signed_at else None,
                "valid_until": s.expires_at.isoformat() if s.expires_at else None,
                "started_at": s.started_at.isoformat(),
            }
            for s in submissions
        ]
    }


def erase_clinical_forms(client_ids):
    deleted, _ = FormSubmission.objects.filter(client_id__in=client_ids, status=SubmissionStatus.IN_PROGRESS).delete()
    return deleted
