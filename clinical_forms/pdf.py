"""A signed form as a PDF (fpdf2, pure Python: no system libraries), showing the document's SHA-256.

The PDF prints the exact document text that was hashed at signing, so anyone can check the
hash against it. The built-in PDF fonts cover Latin-1; a character outside it is printed as
"?" in the PDF only (the stored document and its hash keep it).
"""

from fpdf import FPDF

from .models import FormSubmission
from .signature import PAD_HEIGHT, PAD_WIDTH, strokes


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")


def _draw_signature(pdf: FPDF, drawing: str) -> None:
    """The drawn signature, redrawn from its stored strokes (90 x 30 mm), under a caption."""
    width, scale = 90.0, 90.0 / PAD_WIDTH
    height = PAD_HEIGHT * scale
    pdf.ln(2)
    pdf.set_font("Helvetica", size=8)
    pdf.cell(0, 4, "Drawn signature:", new_x="LMARGIN", new_y="NEXT")
    if pdf.get_y() + height > pdf.h - pdf.b_margin:
        pdf.add_page()
    left, top = pdf.l_margin, pdf.get_y()
    pdf.set_draw_color(160)
    pdf.rect(left, top, width, height)
    pdf.set_draw_color(0)
    pdf.set_line_width(0.4)
    for stroke in strokes(drawing):
        points = [(left + x * scale, top + y * scale) for x, y in stroke]
        if len(points) == 1:
            points.append((points[0][0] + 0.2, points[0][1]))
        pdf.polyline(points)
    pdf.set_line_width(0.2)
    pdf.set_y(top + height + 1)


def signed_form_pdf(submission: FormSubmission) -> bytes:
    pdf = FPDF(format="Letter")
    pdf.set_compression(False)  # plain text streams: the hash can be found in the file as printed
    pdf.set_title(_latin1(f"{submission.version.template.name} v{submission.version.number}"))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    pdf.multi_cell(0, 5, _latin1(submission.document or ""), new_x="LMARGIN", new_y="NEXT")
    if submission.signature_drawing:
        _draw_signature(pdf, submission.signature_drawing)
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
