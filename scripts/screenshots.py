"""Regenerate the README's screenshots in docs/screenshots/.

    .venv/bin/python scripts/screenshots.py

What it does, on a throwaway SQLite database (never your db.sqlite3 or PostgreSQL):
migrates it, runs `seed_demo` (which prints the demo logins with a fresh password
when DEBUG is on), books a few demo appointments so the day calendar has blocks,
starts `manage.py runserver` (DEBUG=true) on a free local port, and drives Debian's
Chromium (/usr/bin/chromium, headless, as tests/browser/conftest.py launches it)
through Playwright's sync API. Client pages use a phone viewport (390x844), admin
pages 1280x900; only the first screen is captured, so each PNG stays small. The front desk's pages
(book by phone, move an appointment, check out, a visit, the waitlist) use the demo's Milpitas diary.
No request leaves this machine: anything not to the local server is aborted.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
# The same launch arguments as the browser tests (tests/browser/conftest.py).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
LOCATION, SERVICE = "milpitas", "hydrafacial"

# Demo bookings for the day calendar: (local time, service slug, first name, last name).
DEMO_BOOKINGS = [
    ("10:00", "hydrafacial", "Dana", "Whitfield"),
    ("10:00", "neurotoxin", "Luis", "Ortega"),
    ("11:30", "chemical-peel", "Mei", "Chen"),
    ("14:00", "dermal-filler", "Priya", "Shah"),
    ("15:30", "consultation", "Tom", "Becker"),
]
BOOK_SNIPPET = """
from datetime import datetime
from appointments.models import Location, Service
from appointments.services import BookingConsents, ClientDetails, book_appointment
location = Location.objects.get(slug={location!r})
for hhmm, slug, first, last in {bookings!r}:
    start = datetime.fromisoformat({day!r} + "T" + hhmm).replace(tzinfo=location.tzinfo)
    book_appointment(
        location=location,
        service=Service.objects.get(slug=slug),
        start=start,
        details=ClientDetails(
            first_name=first, last_name=last, email=first.lower() + "@example.com", mobile_phone=None
        ),
        consents=BookingConsents(privacy_policy=True),
    )
"""


# The front desk's pages about one booking: the first demo booking above, and the ids their URLs need.
# The demo sets no prices; checking out shows the balance of one (no deposit, so the bookings stay as made).
IDS_SNIPPET = """
from appointments.models import Appointment, Location, Service
from payments.models import PaymentRequirement
location = Location.objects.get(slug={location!r})
service = Service.objects.get(slug={service!r})
PaymentRequirement.objects.update_or_create(location=location, service=service, defaults={{"price_amount": 19900}})
booking = Appointment.objects.filter(location=location, client__first_name={first!r}).latest("pk")
print("ids", location.pk, service.pk, booking.pk)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def next_working_day() -> date:
    """A day past the demo week (seed_demo books up to four days ahead) when every Milpitas demo
    practitioner works (Tue, Thu or Sat)."""
    day = date.today() + timedelta(days=5)
    while day.weekday() not in (1, 3, 5):
        day += timedelta(days=1)
    return day


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    return result.stdout


def wait_until_up(url: str, server: subprocess.Popen) -> None:
    for _ in range(120):
        if server.poll() is not None:
            raise SystemExit(f"runserver exited with {server.returncode}")
        try:
            urllib.request.urlopen(url + "/healthz", timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("runserver did not answer within a minute")


def new_page(browser: Browser, base: str, **context_args) -> Page:
    context = browser.new_context(**context_args)
    # Tag scripts would try to reach Google and Meta; nothing leaves this machine.
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base) else route.abort())
    return context.new_page()


def accept_cookies(page: Page) -> None:
    """Dismiss the cookie banner with the choice that sets no optional cookies."""
    button = page.get_by_role("button", name="Reject all")
    if button.count():
        button.first.click()
        page.wait_for_load_state()


def shot(page: Page, name: str) -> None:
    path = OUT / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    print(f"{path.relative_to(ROOT)}  {path.stat().st_size // 1024} KB")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="clinic-shots-")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{workdir}/shots.sqlite3",
        "REDIS_URL": "",  # in-process cache and tasks, like `make run`
        "SITE_URL": base,
        "STAFF_TWO_FACTOR": "false",
        # The cookie banner shows only when a tag is configured; new_page() stops every outside request.
        "GA_MEASUREMENT_ID": "G-SCREENSHOT",
    }
    try:
        run(env, base, port)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run(env: dict[str, str], base: str, port: int) -> None:
    manage(env, "migrate", "--noinput")
    seeded = manage(env, "seed_demo")  # the demo week, then its own bookings below on a later day
    password = re.search(r"user admin\s+password (\S+)", seeded)
    if not password:
        raise SystemExit("seed_demo printed no admin login (is DEBUG on?)")
    day = next_working_day()
    manage(env, "shell", "-c", BOOK_SNIPPET.format(location=LOCATION, bookings=DEMO_BOOKINGS, day=day.isoformat()))
    ids = manage(env, "shell", "-c", IDS_SNIPPET.format(location=LOCATION, service=SERVICE, first=DEMO_BOOKINGS[0][2]))
    location_id, service_id, booking_id = re.search(r"ids (\d+) (\d+) (\d+)", ids).groups()  # type: ignore[union-attr]

    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(base, server)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            take_client_pages(browser, base, day)
            take_admin_pages(browser, base, day, password.group(1))
            take_front_desk_pages(browser, base, day, password.group(1), location_id, service_id, booking_id)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)


def take_client_pages(browser: Browser, base: str, day: date) -> None:
    # A first visit: the cookie banner as a new visitor sees it.
    page = new_page(browser, base, **PHONE)
    page.goto(f"{base}/book/{LOCATION}/")
    shot(page, "cookie-banner")
    accept_cookies(page)

    page.goto(f"{base}/book/{LOCATION}/")
    shot(page, "choose-service")

    page.goto(f"{base}/book/{LOCATION}/{SERVICE}/?date={day.isoformat()}")
    shot(page, "choose-time")

    # The first free time on that day opens the details form.
    page.locator(f"a[href*='/book/{LOCATION}/{SERVICE}/details/']").first.click()
    page.wait_for_load_state()
    shot(page, "booking-details")

    # Filled in, scrolled to what the client reads before "Book", then booked: the confirmation.
    page.get_by_label("First name").fill("Dana")
    page.get_by_label("Last name").fill("Example")
    page.get_by_label("Email (required)", exact=True).fill("dana@example.com")
    page.get_by_label("Mobile phone").fill("(408) 555-0143")
    page.get_by_label("I am 18 or older").check()
    page.get_by_label("I have read and accept").check()
    page.get_by_role("region", name="Before you book").scroll_into_view_if_needed()
    shot(page, "booking-before-book")
    page.get_by_role("button", name="Book appointment").click()
    page.get_by_role("heading", name="You're booked").wait_for()
    shot(page, "booking-confirmation")

    page.goto(f"{base}/waitlist/{LOCATION}/{SERVICE}/")
    shot(page, "waitlist-join")

    page.goto(f"{base}/privacy/requests/")
    shot(page, "privacy-request")
    page.context.close()


def take_admin_pages(browser: Browser, base: str, day: date, password: str) -> None:
    page = new_page(browser, base, **DESKTOP)
    page.goto(f"{base}/admin/login/")
    accept_cookies(page)
    page.fill("#id_username", "admin")
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_load_state()
    calendar = f"{base}/admin/appointments/appointment/calendar/"
    page.goto(calendar)
    location_id = page.locator("select[name=location] option", has_text="Milpitas").first.get_attribute("value")
    page.goto(f"{calendar}?location={location_id}&date={day.isoformat()}")
    shot(page, "admin-day-calendar")
    page.goto(f"{base}/admin/")
    shot(page, "admin-index")
    page.goto(f"{base}/admin/messaging/inboundmessage/?unread=yes")
    shot(page, "admin-inbox")
    page.context.close()


def admin_page(browser: Browser, base: str, password: str) -> Page:
    page = new_page(browser, base, **DESKTOP)
    page.goto(f"{base}/admin/login/")
    accept_cookies(page)
    page.fill("#id_username", "admin")
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_load_state()
    return page


def take_front_desk_pages(
    browser: Browser, base: str, day: date, password: str, location_id: str, service_id: str, booking_id: str
) -> None:
    page = admin_page(browser, base, password)
    admin = f"{base}/admin/appointments/appointment"
    # A caller on the phone: the next free times, then the words to read, here in the caller's Spanish.
    page.goto(f"{admin}/phone/?location={location_id}&service={service_id}&day={day.isoformat()}&language=es")
    shot(page, "admin-phone-booking")
    page.get_by_role("heading", name="Who is calling").scroll_into_view_if_needed()
    page.mouse.wheel(0, 250)
    shot(page, "admin-phone-booking-consent")
    # One appointment's page: the free times to move it to, one click each; a screen from just above the list
    # (the section's own box starts beside the floated form, and the admin focuses the form's first field).
    page.goto(f"{admin}/{booking_id}/change/")
    top = page.evaluate("document.querySelector('ul.free-times').getBoundingClientRect().top + window.scrollY")
    path = OUT / "admin-move-appointment.png"
    page.screenshot(path=str(path), full_page=True, clip={"x": 0, "y": max(0, top - 300), **DESKTOP["viewport"]})
    print(f"{path.relative_to(ROOT)}  {path.stat().st_size // 1024} KB")
    page.goto(f"{base}/admin/payments/payment/checkout/{booking_id}/")
    shot(page, "admin-checkout")
    page.goto(f"{admin}/visit/add/?location={location_id}&date={day.isoformat()}&time=13:00&service_1={service_id}")
    shot(page, "admin-visit")
    page.goto(f"{base}/admin/waitlist/waitlistentry/")
    shot(page, "admin-waitlist")
    page.context.close()


if __name__ == "__main__":
    main()
