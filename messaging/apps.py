from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messaging"

    def ready(self):
        from clinic.demo import register_demo_step

        from . import demo

        register_demo_step("texts", demo.demo_texts_step, order=40, week=True)
        register_demo_step("campaign", demo.demo_campaign_step, order=60, week=True)
        register_demo_step("simulate-sms-hint", demo.demo_simulate_sms_hint_step, order=95, debug_only=True)
        from privacy import registry

        from . import checks, personal_data, receivers, verification_codes  # noqa: F401  (checks and receivers register on import)

        registry.register(
            "messaging",
            exporter=personal_data.export_messages,
            eraser=personal_data.erase_messages,
            erase_order=10,
            models=["messaging.SmsMessage", "messaging.CampaignEmail"],
        )
        registry.register_sms_sender(verification_codes.send_verification_code)
        from .inbound import answer_confirm, answer_join
        from .keywords import CONFIRM_WORDS, JOIN_WORDS, register_keyword

        register_keyword(name="confirm", words=CONFIRM_WORDS, handler=answer_confirm)
        register_keyword(name="join", words=JOIN_WORDS, handler=answer_join)
        from privacy.rectification import client_corrected

        client_corrected.connect(personal_data.propagate_correction, dispatch_uid="messaging-correction")
        from clinic.identity import clients_merging

        from .opt_outs import keep_opt_outs_across_a_merge

        # A STOP or unsubscribe of the merged-in record's own number or address is not lifted by the merge.
        clients_merging.connect(keep_opt_outs_across_a_merge, dispatch_uid="messaging-merge-opt-outs")
