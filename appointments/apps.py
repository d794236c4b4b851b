from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "appointments"
    verbose_name = "Appointments"

    def ready(self):
        from privacy import registry

        from . import personal_data

        registry.register(
            "appointments", exporter=personal_data.export_appointments, eraser=personal_data.erase_appointments, erase_order=30
        )
