from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messaging"

    def ready(self):
        from privacy import registry

        from . import personal_data, receivers  # noqa: F401  (connects the signal receivers)

        registry.register("messaging", exporter=personal_data.export_messages)
