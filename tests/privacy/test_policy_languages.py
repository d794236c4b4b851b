"""The privacy policy in the reader's language: the clinic's own Spanish text when it wrote one; else the
English text, marked as the binding one, with a Spanish notice of how to ask for it in Spanish (CCPA regs
§7011: the policy in the languages the business uses); `manage.py check` warns of a language with no text."""

from datetime import date

import pytest
from django.core import checks
from django.core.management import call_command
from django.urls import reverse

from privacy.models import PolicyTranslation, PolicyVersion
from tests.support.spanish import SPANISH, assert_no_english, visible_text

pytestmark = pytest.mark.django_db

ENGLISH = "## 1. What we collect\nYour name."
SPANISH_TEXT = "## 1. Lo que recopilamos\nSu nombre."


def published(*, spanish: str | None = None, label="2026-06", effective=date(2026, 6, 1)) -> PolicyVersion:
    policy = PolicyVersion.objects.create(version=label, effective_date=effective, body=ENGLISH, is_published=True)
    if spanish is not None:
        PolicyTranslation.objects.create(policy=policy, language="es", body=spanish)
    return policy


def test_the_clinics_spanish_text_is_shown_to_a_spanish_reader_marked_as_spanish(client):
    published(spanish=SPANISH_TEXT)
    page = client.get(reverse("privacy:policy"), **SPANISH)
    html, text = page.content.decode(), visible_text(page)
    assert '<div lang="es">' in html and "1. Lo que recopilamos" in text and "Su nombre." in text
    assert_no_english(page, "What we collect", "Your name.")
    assert "texto vinculante" not in text  # no "it is in English" notice over a Spanish text
    english = client.get(reverse("privacy:policy"))
    assert "1. What we collect" in visible_text(english) and "Lo que recopilamos" not in visible_text(english)


def test_without_a_spanish_text_the_english_one_is_shown_with_a_spanish_notice_of_how_to_ask_for_it(client):
    published()
    page = client.get(reverse("privacy:policy"), **SPANISH)
    html, text = page.content.decode(), visible_text(page)
    assert '<div lang="en">' in html and "1. What we collect" in text
    assert "El texto vinculante de nuestro aviso de privacidad es el texto en inglés" in text
    assert "Para recibirlo en español" in text and 'href="#contact-us"' in html
    assert "binding text" not in visible_text(client.get(reverse("privacy:policy")))


def test_an_earlier_version_is_shown_in_its_own_spanish_text(client):
    published(label="2025-01", effective=date(2025, 1, 1), spanish="## Antes\nPalabras antiguas.")
    published(spanish=SPANISH_TEXT)
    page = client.get(reverse("privacy:policy_version", args=["2025-01"]), **SPANISH)
    assert "Palabras antiguas." in visible_text(page) and "Lo que recopilamos" not in visible_text(page)


def test_check_warns_of_a_language_the_current_policy_has_no_text_in(settings):
    settings.LANGUAGES = [("en", "English"), ("es", "Español"), ("hy", "Հայերեն")]
    assert not [w for w in checks.run_checks() if w.id == "privacy.W001"]  # nothing published: nothing to say
    published(spanish=SPANISH_TEXT)
    warnings = [w for w in checks.run_checks() if w.id == "privacy.W001"]
    assert len(warnings) == 1 and "(hy)" in warnings[0].msg
    PolicyTranslation.objects.create(policy=PolicyVersion.objects.get(), language="hy", body="## 1\nText.")
    assert not [w for w in checks.run_checks() if w.id == "privacy.W001"]


def test_check_warns_when_the_spanish_text_is_missing(settings):
    published()
    warnings = [w for w in checks.run_checks() if w.id == "privacy.W001"]
    assert [w.level for w in warnings] == [checks.WARNING] and "(es)" in warnings[0].msg


def test_the_spanish_text_is_written_with_a_draft_and_never_changed_once_published(admin_client):
    draft = PolicyVersion.objects.create(version="2026-12", effective_date=date(2026, 12, 1), body=ENGLISH)
    url = reverse("admin:privacy_policyversion_change", args=[draft.pk])
    form = {
        "version": "2026-12",
        "effective_date": "2026-12-01",
        "body": ENGLISH,
        "summary_of_changes": "",
        "translations-TOTAL_FORMS": "1",
        "translations-INITIAL_FORMS": "0",
        "translations-MIN_NUM_FORMS": "0",
        "translations-MAX_NUM_FORMS": "1000",
        "translations-0-language": "es",
        "translations-0-body": SPANISH_TEXT,
    }
    assert admin_client.post(url, form).status_code == 302
    assert draft.translations.get().body == SPANISH_TEXT
    draft.is_published = True
    draft.save()
    saved = draft.translations.get()
    changed = {
        **form,
        "translations-INITIAL_FORMS": "1",
        "translations-0-id": str(saved.pk),
        "translations-0-policy": str(draft.pk),
        "translations-0-body": "Otra cosa.",
    }
    assert admin_client.post(url, changed).status_code == 403
    assert draft.translations.get().body == SPANISH_TEXT


def test_the_demo_policy_has_its_spanish_text_so_the_check_has_nothing_to_warn_of_and_seeding_twice_adds_none(
    client, settings
):
    settings.DEBUG = False
    call_command("seed_demo", "--no-week")
    assert not [w for w in checks.run_checks() if w.id == "privacy.W001"]
    texts = list(PolicyTranslation.objects.values_list("pk", "policy__version", "language", "body"))
    assert [(version, language) for _, version, language, _ in texts] == [(PolicyVersion.objects.get().version, "es")]
    call_command("seed_demo", "--no-week")
    assert list(PolicyTranslation.objects.values_list("pk", "policy__version", "language", "body")) == texts
    page = client.get(reverse("privacy:policy"), **SPANISH)
    text = visible_text(page)
    assert '<div lang="es">' in page.content.decode() and "Responda ALTO (o STOP)" in text
    assert "1. Información que recopilamos" in text and "texto vinculante" not in text
    assert_no_english(page, "Information we collect", "Reply STOP")
