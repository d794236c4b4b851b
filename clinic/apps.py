from django.apps import AppConfig


class ClinicConfig(AppConfig):
    name = "clinic"
    verbose_name = "Clinic"

    def ready(self):
        from privacy import registry

        from . import branding, personal_data, twofactor  # noqa: F401 - branding and twofactor register checks

        registry.register(
            "clinic",
            exporter=personal_data.export_client_records,
            eraser=personal_data.erase_client_records,
            erase_order=90,
            models=["clinic.Client"],
        )
