from django.apps import AppConfig


class ClinicConfig(AppConfig):
    name = "clinic"
    verbose_name = "Clinic"

    def ready(self):
        from django.contrib import admin

        from privacy import registry

        from . import branding, personal_data, twofactor  # noqa: F401 - branding and twofactor register checks
        from .admin_scoping import make_every_add_form_prefill_safe

        registry.register(
            "clinic",
            exporter=personal_data.export_client_records,
            eraser=personal_data.erase_client_records,
            erase_order=90,
            models=["clinic.Client"],
        )
        # The admin has discovered every app's admin.py by now (django.contrib.admin comes first in
        # INSTALLED_APPS): no add form on our admin site, ours or a library's, 500s on an odd prefill.
        make_every_add_form_prefill_safe(admin.site)
