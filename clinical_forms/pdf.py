"""A signed form as a PDF (fpdf2, pure Python: no system libraries), showing the document's SHA-256.

The PDF prints the exact document text that was hashed at signing, so anyone can check the
hash against it. The built-in PDF fonts cover Latin-1; a character outside it is printed as
"?" in the PDF only (the stored document and its hash keep it).
"""

from fpdf import FPDF

from .models import FormSubmission


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")


def signed_form_pdf(submission: FormSubmission) -> bytes:
    pdf = FPDF(format="Letter")
    pdf.set_compression(False)  # plain text streams: the hash can be found in the file as printed
    pdf.set_title(_latin1(f"{submission.version.template.name} v{submission.version.number}"))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    pdf.multi_cell(0, 5, _latin1(submission.document or ""), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Courier", size=8)
    pdf.multi_cell(
        0, 4, f"SHA-256 of the document above, as signed:\n{submission.document_sha256}", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.set_font("Helvetica", size=8)
    pdf.multi_cell(
        0,
        4,
        _latin1(
            f"Signed at {submission.signed_at.isoformat() if submission.signed_at else '-'} "
            f"from IP {submission.signed_ip or '-'}; browser: {submission.signed_user_agent[:200] or '-'}"
        ),
    )
    return bytes(pdf.output())
