from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "privacy"
    verbose_name = "Privacy"

    def ready(self):
        from . import personal_data, registry

        registry.register(
            "privacy", exporter=personal_data.export_subject, eraser=personal_data.erase_privacy_records, erase_order=20
        )
