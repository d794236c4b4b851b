"""Form templates are versioned: a published version never changes, a change is a new version."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from clinic.roles import CLINIC_MANAGER, FRONT_DESK
from clinical_forms import services
from clinical_forms.models import FieldKind, FormField, FormKind, FormTemplate, FormVersion, PublishedVersionError
from clinical_forms.selectors import current_version
from tests.support.builders import ClientFactory, StaffFactory
from tests.support.clinical_forms import form_template, submission

pytestmark = pytest.mark.django_db


def manager():
    user = StaffFactory()
    user.groups.add(Group.objects.get(name=CLINIC_MANAGER))
    return user


@pytest.mark.policy("health-data-encrypted")
def test_a_published_version_and_its_fields_refuse_every_change():
    version = current_version(form_template())
    field = version.fields.get(key="consent")
    version.title = "Something else"
    with pytest.raises(PublishedVersionError):
        version.save()
    with pytest.raises(PublishedVersionError):
        version.delete()
    field.text = "New wording"
    with pytest.raises(PublishedVersionError):
        field.save()
    with pytest.raises(PublishedVersionError):
        field.delete()
    with pytest.raises(PublishedVersionError):
        FormField(version=version, key="extra", kind=FieldKind.TEXT, label="Extra").save()
    draft = services.start_new_version(template_id=version.template_id)
    moved = draft.fields.get(key="skin")
    moved.version = version  # moving a draft's field into the published version
    with pytest.raises(PublishedVersionError):
        moved.save()
    assert version.fields.get(key="consent").text != "New wording"


def test_a_new_version_is_a_draft_copy_and_new_signatures_get_it_once_published():
    template = form_template()
    first = current_version(template)
    draft = services.start_new_version(template_id=template.pk)
    assert draft.number == 2 and not draft.is_published
    assert list(draft.fields.values_list("key", flat=True)) == list(first.fields.values_list("key", flat=True))
    assert services.start_new_version(template_id=template.pk) == draft  # one draft at a time
    assert current_version(template) == first  # the draft is not what clients fill in yet
    consent = draft.fields.get(key="consent")
    consent.text = "Updated wording, version 2."
    consent.save()
    services.publish_version(version_id=draft.pk)
    assert current_version(template) == draft
    assert first.fields.get(key="consent").text != "Updated wording, version 2."


@pytest.mark.parametrize(
    "breaks, says",
    [
        (lambda v: v.fields.filter(kind=FieldKind.CONSENT_TEXT).delete(), "needs a consent text"),
        (lambda v: v.fields.filter(key="skin").update(choices="Only one"), "at least two options"),
        (lambda v: v.fields.all().delete(), "no fields"),
    ],
)
def test_an_incomplete_draft_is_not_published_and_the_manager_is_told_why(client, breaks, says):
    template = form_template(publish=False)
    version = template.versions.get()
    breaks(version)
    client.force_login(manager())
    response = client.post(
        "/admin/clinical_forms/formversion/",
        {"action": "publish", "_selected_action": [version.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert says in response.content.decode()
    version.refresh_from_db()
    assert not version.is_published


def test_a_photo_consent_needs_its_separate_optional_scopes():
    template = form_template(slug="photos", kind=FormKind.PHOTO_CONSENT, publish=False)
    version = template.versions.get()
    version.fields.filter(kind=FieldKind.OPTIONAL_CONSENT).delete()
    with pytest.raises(services.FormVersionError, match="optional scopes"):
        services.publish_version(version_id=version.pk)


def test_the_manager_edits_a_draft_in_the_admin_but_a_published_version_is_read_only(client):
    template = form_template()
    published = current_version(template)
    client.force_login(manager())
    page = client.get(f"/admin/clinical_forms/formversion/{published.pk}/change/")
    assert page.status_code == 200
    assert 'name="title"' not in page.content.decode() and 'name="fields-0-label"' not in page.content.decode()
    refused = client.post(
        f"/admin/clinical_forms/formversion/{published.pk}/change/", {"title": "Changed", "introduction": ""}
    )
    assert refused.status_code == 403
    assert client.get(f"/admin/clinical_forms/formversion/{published.pk}/delete/").status_code == 403
    published.refresh_from_db()
    assert published.title != "Changed"

    response = client.post(
        "/admin/clinical_forms/formtemplate/",
        {"action": "start_new_version", "_selected_action": [template.pk]},
        follow=True,
    )
    assert response.status_code == 200
    draft = template.versions.get(number=2)
    page = client.get(f"/admin/clinical_forms/formversion/{draft.pk}/change/")
    assert 'name="title"' in page.content.decode() and 'name="fields-0-label"' in page.content.decode()


def test_a_version_someone_filled_in_cannot_be_deleted_even_as_a_draft(client):
    template = form_template(publish=False)
    draft = template.versions.get()
    submission(client=ClientFactory(), template=template)
    client.force_login(manager())
    assert client.get(f"/admin/clinical_forms/formversion/{draft.pk}/delete/").status_code == 403


def test_only_the_clinic_manager_manages_form_templates(client):
    desk = StaffFactory()
    desk.groups.add(Group.objects.get(name=FRONT_DESK))
    client.force_login(desk)
    assert client.get("/admin/clinical_forms/formtemplate/add/").status_code == 403
    client.force_login(manager())
    assert client.get("/admin/clinical_forms/formtemplate/add/").status_code == 200


def test_the_demo_seeds_published_history_neurotoxin_filler_and_photo_forms_once():
    call_command("seed_demo")
    call_command("seed_demo")
    assert FormVersion.objects.filter(number=1, published_at__isnull=False).count() == 4
    neurotoxin = FormTemplate.objects.get(slug="neurotoxin-consent")
    assert list(neurotoxin.services.values_list("slug", flat=True)) == ["neurotoxin"]
    history = current_version(FormTemplate.objects.get(kind=FormKind.MEDICAL_HISTORY))
    assert history.fields.filter(is_date_of_birth=True, kind=FieldKind.DATE).exists()
    photos = current_version(FormTemplate.objects.get(kind=FormKind.PHOTO_CONSENT))
    assert photos.fields.filter(kind=FieldKind.OPTIONAL_CONSENT).count() == 3
    assert "consultation" not in FormTemplate.objects.get(kind=FormKind.MEDICAL_HISTORY).services.values_list(
        "slug", flat=True
    )
