from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "privacy"
    verbose_name = "Privacy"

    def ready(self):
        from clinic.demo import register_demo_step

        from . import demo

        register_demo_step("policy", demo.demo_policy_step, order=20)
        register_demo_step("privacy-request", demo.demo_request_step, order=50, week=True)
        from django.core import checks

        from clinic.identity import clients_merged, clients_merging

        from . import personal_data, policy, receivers, registry

        registry.register(
            "privacy",
            exporter=personal_data.export_subject,
            eraser=personal_data.erase_privacy_records,
            erase_order=20,
            models=[
                "privacy.ConsentRecord",
                "privacy.PolicyChangeNotice",
                "privacy.DataSubjectRequest",
                "privacy.PrivacyAuditEvent",
            ],
        )
        # A table that points at a client but no app registered would be missed by exports and erasure.
        checks.register(registry.check_client_data_registered, checks.Tags.models)
        checks.register(policy.check_policy_languages)
        clients_merged.connect(receivers.audit_clients_merged, dispatch_uid="privacy-audit-clients-merged")
        # A merge must not widen an open privacy request, nor turn a withdrawal into consent.
        clients_merging.connect(receivers.refuse_merge_with_open_request, dispatch_uid="privacy-merge-open-request")
        clients_merging.connect(receivers.keep_withdrawals_across_a_merge, dispatch_uid="privacy-merge-withdrawals")
