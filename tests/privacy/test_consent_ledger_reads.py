"""The ledger's answer to "did this client consent?" is a plain yes or no, and no record means no.

(Found by mutation testing: nothing checked the answer for a client the
ledger has never seen, such as one deleted while a send was being prepared.)
"""

import pytest

from privacy.models import ConsentPurpose
from privacy.selectors import current_consents, has_consent
from tests.support.builders import ClientFactory

pytestmark = pytest.mark.django_db


def test_a_client_with_no_record_in_the_database_has_not_consented():
    gone = ClientFactory()
    gone_pk = gone.pk
    gone.delete()
    gone.pk = gone_pk
    assert current_consents(client_ids=[gone_pk], purpose=ConsentPurpose.SMS_REMINDERS) == {}
    assert has_consent(client=gone, purpose=ConsentPurpose.SMS_REMINDERS) is False


def test_a_client_who_never_chose_gets_false_not_none():
    client = ClientFactory()
    assert has_consent(client=client, purpose=ConsentPurpose.SMS_MARKETING) is False
