"""On PostgreSQL, the database itself refuses overlapping appointments.

An exclusion constraint (btree_gist) over each practitioner's occupied time
range, ignoring cancelled appointments. SQLite has no equivalent; there the
booking service's serialised transactions keep the rule.
"""

from django.db import migrations

CREATE = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE appointments_appointment
  ADD CONSTRAINT appointment_practitioner_no_overlap
  EXCLUDE USING gist (practitioner_id WITH =, tstzrange(start, occupied_until, '[)') WITH &&)
  WHERE (status <> 'cancelled');
"""
DROP = "ALTER TABLE appointments_appointment DROP CONSTRAINT IF EXISTS appointment_practitioner_no_overlap;"


def _on_postgres(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("appointments", "0001_initial")]

    operations = [migrations.RunPython(_on_postgres(CREATE), _on_postgres(DROP))]
