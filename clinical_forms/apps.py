from django.apps import AppConfig


class ClinicalFormsConfig(AppConfig):
    name = "clinical_forms"
    verbose_name = "Clinical forms"

    def ready(self):
        from appointments import status_gates
        from appointments.signals import appointment_booked
        from clinic.demo import register_demo_step
        from privacy import registry

        from . import checks, demo, personal_data, receivers, selectors, services  # noqa: F401  (checks register on import)

        register_demo_step("clinical-forms", demo.demo_forms_step, order=25)
        register_demo_step("week-forms", demo.demo_week_forms_step, order=33, week=True)

        appointment_booked.connect(receivers.on_appointment_booked, dispatch_uid="clinical-forms-link")

        registry.register(
            "clinical_forms",
            exporter=personal_data.export_clinical_forms,
            eraser=personal_data.erase_clinical_forms,
            erase_order=20,  # finds rows by client id, so any order works
            models=[
                "clinical_forms.FormSubmission",
                "clinical_forms.GoodFaithExam",
                "clinical_forms.CheckInOverride",
                "clinical_forms.HealthChangeReport",
            ],
        )
        registry.register_legal_hold("clinical_forms", services.legal_hold_sentence)
        registry.register_export_files("clinical_forms", personal_data.signed_form_pdfs)

        # A treatment is not checked in or completed without its signed forms and exam (or an override).
        status_gates.register_gate(selectors.check_in_problems)
        status_gates.register_day_note(selectors.front_desk_notes)
