"""The cookie groups the banner offers, with the cookies each one sets."""

from django.db import migrations

GROUPS = [
    # varname, name, description, required, ordering, [(cookie, description)]
    (
        "necessary",
        "Necessary",
        "Keep the site working and secure: your session, security tokens and your cookie choices.",
        True,
        0,
        [
            ("sessionid", "Your session"),
            ("csrftoken", "Protects forms"),
            ("cookie_consent", "Your cookie choices"),
            ("visitor_id", "Ties your consent records together"),
            ("privacy_opt_out", "Your Do Not Sell or Share choice"),
        ],
    ),
    ("preferences", "Preferences", "Remember your choices on this site.", False, 1, []),
    (
        "analytics",
        "Analytics",
        "Google Analytics and Google Tag Manager tell us how the site is used.",
        False,
        2,
        [("_ga", "Google Analytics visitor id"), ("_gid", "Google Analytics session id")],
    ),
    (
        "marketing",
        "Marketing",
        "The Meta Pixel lets us show you our ads on Facebook and Instagram.",
        False,
        3,
        [("_fbp", "Meta Pixel browser id"), ("_fbc", "Meta click id")],
    ),
]


def forwards(apps, schema_editor):
    CookieGroup = apps.get_model("cookie_consent", "CookieGroup")
    Cookie = apps.get_model("cookie_consent", "Cookie")
    for varname, name, description, required, ordering, cookies in GROUPS:
        group, _ = CookieGroup.objects.update_or_create(
            varname=varname,
            defaults={
                "name": name,
                "description": description,
                "is_required": required,
                "is_deletable": not required,
                "ordering": ordering,
            },
        )
        for cookie, cookie_description in cookies:
            Cookie.objects.get_or_create(
                cookiegroup=group, name=cookie, defaults={"description": cookie_description, "path": "/"}
            )


def backwards(apps, schema_editor):
    apps.get_model("cookie_consent", "CookieGroup").objects.filter(varname__in=[g[0] for g in GROUPS]).delete()


class Migration(migrations.Migration):
    dependencies = [("privacy", "0003_roles_for_policy"), ("cookie_consent", "0004_cookie_natural_key")]

    operations = [migrations.RunPython(forwards, backwards)]
