from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "appointments"
    verbose_name = "Appointments"

    def ready(self):
        from clinic.demo import register_demo_step

        from . import demo

        register_demo_step("clinic", demo.demo_clinic_step, order=10)
        register_demo_step("week", demo.demo_week_step, order=30, week=True)
        register_demo_step("week-statuses", demo.demo_week_statuses_step, order=36, week=True)
        register_demo_step("logins", demo.demo_logins_step, order=90, debug_only=True)
        from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

        from clinic.models import Location
        from privacy import registry

        from . import models, personal_data, services, signals, slot_cache

        # A moved appointment is emailed to the client (messaging texts it, with consent).
        signals.appointment_rescheduled.connect(services.email_the_move, dispatch_uid="appointments-move-email")

        # Anything that changes which times are free forgets the cached weeks (an appointment: those showing its days).
        pre_save.connect(
            slot_cache.remember_times_before_save, sender=models.Appointment, dispatch_uid="slots-moving-Appointment"
        )
        for model in (
            Location,
            models.Service,
            models.Practitioner,
            models.WorkingHours,
            models.TimeOff,
            models.LocationClosure,
            models.Appointment,
            models.PractitionerService,
            models.ResourceType,
            models.ResourceUnit,
            models.ServiceRequirement,
            models.SlotHold,
            models.HeldUnit,
        ):
            post_save.connect(
                slot_cache.availability_changed, sender=model, dispatch_uid=f"slots-saved-{model.__name__}"
            )
            post_delete.connect(
                slot_cache.availability_changed, sender=model, dispatch_uid=f"slots-deleted-{model.__name__}"
            )
        for through in (
            models.Service.locations.through,
            models.Practitioner.locations.through,
            models.Practitioner.services.through,
        ):
            m2m_changed.connect(
                slot_cache.availability_changed, sender=through, dispatch_uid=f"slots-m2m-{through.__name__}"
            )

        registry.register(
            "appointments",
            exporter=personal_data.export_appointments,
            eraser=personal_data.erase_appointments,
            erase_order=30,
            models=["appointments.Appointment"],
        )
