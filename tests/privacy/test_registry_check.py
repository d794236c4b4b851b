"""A model that points at a client and is not in the privacy registry fails `manage.py check`."""

import pytest
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import models
from django.test.utils import isolate_apps

from clinic.models import Client
from privacy import registry


def test_every_model_pointing_at_a_client_is_registered_today():
    assert registry.check_client_data_registered() == []
    call_command("check")


@pytest.mark.policy("security-identity")
def test_an_unregistered_model_pointing_at_a_client_fails_manage_py_check():
    source = registry.unregister("appointments")
    try:
        with pytest.raises(SystemCheckError, match="appointments.Appointment points at a client"):
            call_command("check")
    finally:
        registry.register(
            source.app_label,
            exporter=source.exporter,
            eraser=source.eraser,
            erase_order=source.erase_order,
            models=source.models,
        )
    call_command("check")


@isolate_apps("tests")
def test_a_new_model_with_any_relation_to_a_client_is_caught_until_registered():
    class Photo(models.Model):
        client = models.ForeignKey(Client, on_delete=models.CASCADE)

        class Meta:
            app_label = "tests"

    class Profile(models.Model):
        client = models.OneToOneField(Client, on_delete=models.CASCADE)

        class Meta:
            app_label = "tests"

    class Group(models.Model):
        members = models.ManyToManyField(Client)

        class Meta:
            app_label = "tests"

    class Room(models.Model):
        name = models.CharField(max_length=10)

        class Meta:
            app_label = "tests"

    assert registry.uncovered_client_models([Photo, Profile, Group, Room]) == [Photo, Profile, Group]
    registry.register("tests", exporter=lambda ids: {}, eraser=lambda ids: 0, models=[Photo, Profile, Group])
    try:
        assert registry.uncovered_client_models([Photo, Profile, Group, Room]) == []
    finally:
        registry.unregister("tests")


def test_the_check_is_an_error_with_a_hint():
    source = registry.unregister("messaging")
    try:
        errors = registry.check_client_data_registered()
    finally:
        registry.register(
            source.app_label,
            exporter=source.exporter,
            eraser=source.eraser,
            erase_order=source.erase_order,
            models=source.models,
        )
    assert {e.id for e in errors} == {"privacy.E001"} and all(e.level == checks.ERROR for e in errors)
    assert {e.obj._meta.label for e in errors} == {"messaging.SmsMessage", "messaging.CampaignEmail"}
    assert "models=" in errors[0].hint
