"""Clinical answers are encrypted at rest with CLINICAL_FORMS_KEYS, apart from the database and SECRET_KEY."""

import json

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from clinical_forms.checks import clinical_forms_keys_are_usable
from clinical_forms.encryption import UndecryptableValueError
from clinical_forms.models import FormSubmission
from tests.support.builders import ClientFactory
from tests.support.clinical_forms import form_template, submission

pytestmark = pytest.mark.django_db

SECRET_ANSWERS = {"allergies": "yes", "allergies__detail": "Penicillin anaphylaxis", "scope_marketing": False}


def raw_row(pk):
    with connection.cursor() as cursor:
        cursor.execute("SELECT answers, signer_name FROM clinical_forms_formsubmission WHERE id = %s", [pk])
        return cursor.fetchone()


@pytest.mark.policy("health-data-encrypted")
def test_the_database_column_holds_no_plaintext_answer_key_or_signature():
    form = submission(client=ClientFactory(), template=form_template(), answers=SECRET_ANSWERS)
    FormSubmission.objects.filter(pk=form.pk).update(signer_name="Glennabeth Hiddenmoor")
    answers, signer = raw_row(form.pk)
    for plain in ("Penicillin", "anaphylaxis", "allergies", "scope_marketing", "Glennabeth", "Hiddenmoor"):
        assert plain not in answers and plain not in signer
    assert FormSubmission.objects.get(pk=form.pk).answers == SECRET_ANSWERS
    assert FormSubmission.objects.get(pk=form.pk).signer_name == "Glennabeth Hiddenmoor"


def test_the_key_is_not_derived_from_secret_key(settings):
    form = submission(client=ClientFactory(), template=form_template(), answers=SECRET_ANSWERS)
    settings.SECRET_KEY = "a-completely-different-secret-key-after-rotation"
    assert FormSubmission.objects.get(pk=form.pk).answers == SECRET_ANSWERS
    token = raw_row(form.pk)[0]
    assert json.loads(Fernet(settings.CLINICAL_FORMS_KEYS[0].encode()).decrypt(token.encode())) == SECRET_ANSWERS


def test_a_new_key_first_still_reads_old_values_and_the_rotation_command_moves_them_to_it(settings):
    old_key = settings.CLINICAL_FORMS_KEYS[0]
    form = submission(client=ClientFactory(), template=form_template(), answers=SECRET_ANSWERS)
    new_key = Fernet.generate_key().decode()
    settings.CLINICAL_FORMS_KEYS = [new_key, old_key]
    assert FormSubmission.objects.get(pk=form.pk).answers == SECRET_ANSWERS
    call_command("rotate_clinical_forms_keys")
    settings.CLINICAL_FORMS_KEYS = [new_key]
    assert FormSubmission.objects.get(pk=form.pk).answers == SECRET_ANSWERS


def test_a_value_no_key_opens_is_an_error_never_shown_as_text(settings):
    form = submission(client=ClientFactory(), template=form_template(), answers=SECRET_ANSWERS)
    settings.CLINICAL_FORMS_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(UndecryptableValueError, match="CLINICAL_FORMS_KEYS"):
        FormSubmission.objects.get(pk=form.pk)


@pytest.mark.parametrize(
    "debug, keys, error_id",
    [
        (False, [], "clinical_forms.E001"),
        (False, ["not-a-fernet-key"], "clinical_forms.E002"),
        (False, "DEV", "clinical_forms.E003"),
        (True, [], "clinical_forms.E001"),
    ],
)
@pytest.mark.policy("health-data-encrypted")
def test_start_up_refuses_missing_malformed_or_development_keys_in_production(settings, debug, keys, error_id):
    settings.CLINICAL_FORMS_DEV_KEY_ALLOWED = debug
    settings.CLINICAL_FORMS_KEYS = [settings.CLINICAL_FORMS_DEV_KEY] if keys == "DEV" else keys
    assert error_id in {e.id for e in clinical_forms_keys_are_usable()}


def test_start_up_accepts_a_real_key_and_the_dev_key_under_debug(settings):
    settings.CLINICAL_FORMS_DEV_KEY_ALLOWED = False
    settings.CLINICAL_FORMS_KEYS = [Fernet.generate_key().decode(), Fernet.generate_key().decode()]
    assert clinical_forms_keys_are_usable() == []
    settings.CLINICAL_FORMS_DEV_KEY_ALLOWED = True
    settings.CLINICAL_FORMS_KEYS = [settings.CLINICAL_FORMS_DEV_KEY]
    assert clinical_forms_keys_are_usable() == []
