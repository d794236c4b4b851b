from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Client accounts"

    def ready(self):
        from clinic import identity
        from privacy import registry

        from . import checks, personal_data, selectors  # noqa: F401  (checks register on import)

        identity.register_account_resolver(selectors.signed_in_client)

        registry.register(
            "accounts",
            exporter=personal_data.export_account,
            eraser=personal_data.erase_account,
            erase_order=20,  # rows are found by client id: any order works
            models=["accounts.SignInChallenge", "accounts.AccountSession"],
        )
