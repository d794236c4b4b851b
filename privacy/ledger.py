"""The consent ledger and the privacy audit trail are append-only in the database itself.

On PostgreSQL, triggers (migration privacy 0012) refuse every DELETE of a
ConsentRecord or PrivacyAuditEvent row, and every UPDATE that changes what
happened (the choice, its wording, source and time; the audit action and time).
Clearing a staff user, request or client link that Django sets to NULL when that
row is deleted is allowed. Anything else is allowed only inside `rewriting_ledger()`:

- erasure (`ConsentRecordQuerySet.anonymise`: the person's browser evidence is
  blanked, never changed to something else; the audit detail scrub), and
- a merge of two records of one person (`reassign_client` on both tables).

The model layer refuses the same changes (ImmutableRecordError); the triggers
also stop a raw SQL statement, a shell session or a future bug.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction

# Read by the triggers with current_setting(..., true); set for the current transaction only.
REWRITE_SETTING = "clinic.allow_ledger_rewrite"


@contextmanager
def rewriting_ledger() -> Iterator[None]:
    """Let the statements inside re-point or blank ledger and audit rows (the sanctioned paths only).

    The setting is transaction-local and switched off again on the way out, so
    it never outlives the block, even inside a longer outer transaction.
    """
    with transaction.atomic():
        if connection.vendor != "postgresql":
            yield
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, 'on', true)", [REWRITE_SETTING])
        yield
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, 'off', true)", [REWRITE_SETTING])
