from django.apps import AppConfig


class WaitlistConfig(AppConfig):
    name = "waitlist"
    verbose_name = "Waitlist"

    def ready(self):
        from clinic.demo import register_demo_step

        from . import demo

        register_demo_step("waitlist", demo.demo_waitlist_step, order=70, week=True)
        from appointments.signals import time_freed
        from messaging.keywords import register_keyword
        from messaging.signals import sms_opted_out
        from privacy import registry

        from . import keywords, personal_data, receivers

        time_freed.connect(receivers.on_time_freed, dispatch_uid="waitlist-time-freed")
        sms_opted_out.connect(receivers.on_sms_opted_out, dispatch_uid="waitlist-sms-opted-out")
        register_keyword(name="waitlist_yes", words=["YES", "Y", "SI"], handler=keywords.answer_yes)
        register_keyword(name="waitlist_no", words=["NO", "N"], handler=keywords.answer_no)
        registry.register(
            "waitlist",
            exporter=personal_data.export_waitlist,
            eraser=personal_data.erase_waitlist,
            erase_order=20,  # before the client record is wiped (it finds rows by client id, so any order works)
            models=["waitlist.WaitlistEntry", "waitlist.WaitlistOffer"],
        )
