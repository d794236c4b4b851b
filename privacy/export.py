"""The export bundle for access and portability requests.

A ZIP with:
- data.json: {"schema": "clinic-subject-export/1", "generated_at", "subject": {...}, "categories": {name: [rows]}}
  (every category each app registered; docs/export-schema.md describes the fields);
- one CSV per category (the same rows, a header of every field seen);
- the files apps register (signed clinical forms as PDFs, under signed-forms/);
- summary.html: the same, readable by a person.
"""

import csv
import io
import json
import zipfile

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from clinic.spreadsheet import spreadsheet_safe

from . import registry

SCHEMA = "clinic-subject-export/1"


def build_bundle(*, client_ids, reference=""):
    """The ZIP bytes for these clients. Queries: a fixed number per registered app."""
    categories = registry.export_subject(client_ids)
    generated_at = timezone.now().isoformat()
    data = {
        "schema": SCHEMA,
        "generated_at": generated_at,
        "controller": settings.CLINIC_NAME,
        "request_reference": reference,
        "categories": categories,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("data.json", json.dumps(data, indent=2, ensure_ascii=False, default=str))
        for name, rows in categories.items():
            bundle.writestr(f"{name}.csv", _csv(rows))
        for path, content in registry.export_files(client_ids):
            bundle.writestr(path, content)
        bundle.writestr(
            "summary.html",
            render_to_string(
                "privacy/export_summary.html",
                {
                    "categories": categories,
                    "generated_at": generated_at,
                    "clinic_name": settings.CLINIC_NAME,
                    "reference": reference,
                },
            ),
        )
    return buffer.getvalue()


def _csv(rows):
    fields = []
    for row in rows:
        fields.extend(k for k in row if k not in fields)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields or ["(no rows)"])
    writer.writeheader()
    for row in rows:
        writer.writerow(spreadsheet_safe({k: "" if v is None else v for k, v in row.items()}))
    return out.getvalue()
