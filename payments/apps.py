from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"

    def ready(self):
        from privacy import registry

        from . import checks, personal_data, selectors  # noqa: F401  (checks register on import)

        registry.register(
            "payments",
            exporter=personal_data.export_payments,
            eraser=personal_data.erase_payments,
            erase_order=20,
            models=[
                "payments.Payment",
                "payments.SavedCard",
                "payments.StripeCustomer",
                "payments.CardSetup",
                "payments.BookingCheckout",
            ],
        )
        registry.register_subprocessor_gate("Stripe", selectors.payments_are_on)

        from appointments import booking_steps

        from . import views

        booking_steps.register(views.booking_step_provider)
        booking_steps.register_cancellation_terms(views.cancellation_terms_provider)
        booking_steps.register_manage_section(views.manage_page_payments)
        booking_steps.register_booking_terms(views.booking_terms_provider)
        booking_steps.register_visit(views.visit_step_provider)
        booking_steps.register_visit_terms(views.visit_terms_provider)

        from django.db.models.signals import post_delete, post_save

        from appointments import slot_cache

        from . import models, receipts

        # The booking pages keep each requirement (selectors.booking_requirement): a change forgets the copies.
        post_save.connect(
            slot_cache.availability_changed, sender=models.PaymentRequirement, dispatch_uid="slots-saved-requirement"
        )
        post_delete.connect(
            slot_cache.availability_changed, sender=models.PaymentRequirement, dispatch_uid="slots-deleted-requirement"
        )

        post_save.connect(receipts.payment_saved, sender=models.Payment, dispatch_uid="payments-receipt-payment")
        post_save.connect(receipts.refund_saved, sender=models.Refund, dispatch_uid="payments-receipt-refund")
