"""Playwright driving Debian's Chromium (/usr/bin/chromium), headless, against live_server."""

import os
import shutil

import pytest

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def chromium():
    if not (os.path.exists(CHROMIUM) and shutil.which(CHROMIUM)):
        if os.environ.get("CI_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing but CI_REQUIRE_BROWSER is set (.ci/run installs Debian's chromium)")
        pytest.skip(f"needs Debian's Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does it)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the test's own
    # ORM calls are still plain synchronous code. Only while browsers run.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def phone_page(chromium, live_server, settings):
    """A fresh phone-sized browser context for one test."""
    settings.SITE_URL = live_server.url
    context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    # No request may leave this machine (tag scripts would try to reach Google and Meta).
    context.route(
        "**/*", lambda route: route.continue_() if route.request.url.startswith(live_server.url) else route.abort()
    )
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(autouse=True)
def cookie_groups(django_db_setup, django_db_blocker):
    """Transactional tests flush tables; bring back the cookie groups a migration made."""
    import importlib

    from cookie_consent.cache import delete_cache
    from django.apps import apps

    migration = importlib.import_module("privacy.migrations.0004_cookie_groups")
    with django_db_blocker.unblock():
        migration.forwards(apps, None)
    delete_cache()
    yield
    delete_cache()
