"""The language a consent notice was shown in. Existing records were all shown in English.

The language chooser's cookie is declared with the necessary ones. PostgreSQL: the append-only trigger function now also refuses a change to the language
(a record's choice, words and language never change)."""

import importlib

from django.db import migrations, models

_LEDGER = importlib.import_module("privacy.migrations.0009_append_only_ledger_triggers")
# The consent ledger's function only (0009's text up to its trigger), as 0009 made it.
OLD_FUNCTION = _LEDGER.CREATE.split("CREATE TRIGGER privacy_consentrecord_append_only")[0]
NEW_FUNCTION = OLD_FUNCTION.replace(
    "NEW.recorded_at, NEW.policy_version_id)", "NEW.recorded_at, NEW.policy_version_id, NEW.language)"
).replace("OLD.recorded_at, OLD.policy_version_id)", "OLD.recorded_at, OLD.policy_version_id, OLD.language)")
assert NEW_FUNCTION.count("language") == 2


def guard_language(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(NEW_FUNCTION, params=None)


def unguard_language(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(OLD_FUNCTION, params=None)


def declare_language_cookie(apps, schema_editor):
    """The language chooser's cookie (settings.LANGUAGE_COOKIE_NAME) is a necessary one: set on request."""
    group = apps.get_model("cookie_consent", "CookieGroup").objects.filter(varname="necessary").first()
    if group is not None:
        apps.get_model("cookie_consent", "Cookie").objects.get_or_create(
            cookiegroup=group, name="language", defaults={"description": "Your language choice", "path": "/"}
        )


def forget_language_cookie(apps, schema_editor):
    apps.get_model("cookie_consent", "Cookie").objects.filter(
        name="language", cookiegroup__varname="necessary"
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("privacy", "0012_consent_said_on_a_phone_call"), ("privacy", "0004_cookie_groups")]

    operations = [
        migrations.AddField(
            model_name="consentrecord",
            name="language",
            field=models.CharField(default="en", editable=False, max_length=10),
        ),
        migrations.RunPython(guard_language, unguard_language),
        migrations.RunPython(declare_language_cookie, forget_language_cookie),
    ]
