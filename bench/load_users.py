"""Locust users for bench/load.py, run as its child process (locust patches the
process with gevent, so it lives apart from the Django side of the benchmark).

    python bench/load_users.py SCENARIO --host URL --users 1,5,10,20 --seconds 15 --plan plan.json

Scenarios: floor (the trivial view), availability (the public "choose a time"
page), booking (availability, the details page, the booking POST with its CSRF
token, the confirmation page). Users have no think time: each sends its next
request as soon as the previous one is answered, so req/s is the stack's
throughput at that many concurrent users. --think MIN-MAX (seconds, booking
only) makes booking users pause a random while before each page, as a person
reading it and filling the form does: the realistic mix, reported beside the
one without think time.

For each step it ramps to that many users, resets the statistics, measures for
--seconds and prints one JSON line with the figures; users keep running into the
next, larger step.
"""

import argparse
import html
import json
import random
import re
import sys
import time
import uuid

import gevent
import locust  # noqa: F401  (first: gevent's monkey-patching)
import psutil
from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser
from locust.env import Environment

PLAN = {}  # from the orchestrator: location/service pairs, dates to browse
THINK = [0.0, 0.0]  # --think: seconds a booking user pauses before each page (none by default)
COUNTERS = {"booked": 0, "conflict_on_details": 0, "conflict_on_post": 0, "no_slot_shown": 0}
BOOKED_IN_RUN = [0]  # every booking of the run, warm-up included, to compare with the database

SLOT_LINK = re.compile(r'<a class="slot" href="([^"]+)"')
HIDDEN_INPUT = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


def _fail(response, expected):
    response.failure(f"unexpected status {response.status_code} (expected {expected})")


class FloorUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def floor(self):
        with self.client.get("/bench/floor/", name="floor", catch_response=True) as response:
            if response.status_code != 200 or response.text != "ok":
                _fail(response, "200 ok")


class _SiteUser(FastHttpUser):
    abstract = True
    wait_time = constant(0)

    def secure_cookie_header(self):
        """The CSRF cookie as a browser sends it back over HTTPS.

        With DEBUG=false the cookie is Secure: the cookie jar keeps it but, rightly,
        never sends it over this bench's plain HTTP. Production is HTTPS up to the
        proxy, where the browser returns it (and Django reuses its secret rather
        than making and setting a new one per page).
        """
        token = next((c.value for c in self.client.cookiejar if c.name == "csrftoken"), None)
        return {"Cookie": f"csrftoken={token}"} if token else {}

    def availability(self, pair, day, name="availability", *, links=True):
        url = f"/book/{pair['location']}/{pair['service']}/?date={day}&practitioner=any"
        with self.client.get(url, name=name, headers=self.secure_cookie_header(), catch_response=True) as response:
            if response.status_code != 200:
                _fail(response, 200)
                return []
            # Only a user about to book needs the links; browsing users just look (as the floor's do).
            return [html.unescape(link) for link in SLOT_LINK.findall(response.text)] if links else []


class AvailabilityUser(_SiteUser):
    """Browses the public availability page: any location and service, any week in the horizon."""

    @task
    def browse(self):
        self.availability(random.choice(PLAN["pairs"]), random.choice(PLAN["browse_dates"]), links=False)


class BookingUser(_SiteUser):
    """Looks at availability, picks one of the first times shown and books it.

    Users crowd the first few times of each page, so they race for the same
    slots: a 409 "that time is taken" is the expected answer for the losers
    (counted as conflicts, not errors), and the database must end with no
    overlap.
    """

    def think(self):
        if THINK[1] > 0:
            gevent.sleep(random.uniform(*THINK))

    @task
    def book(self):
        pair = random.choice(PLAN["booking_pairs"])
        self.think()
        links = self.availability(pair, random.choice(PLAN["booking_dates"]), name="book: availability")
        if not links:
            COUNTERS["no_slot_shown"] += 1
            return
        details_url = random.choice(links[: PLAN["crowd"]])
        self.think()
        with self.client.get(
            details_url, name="book: details page", headers=self.secure_cookie_header(), catch_response=True
        ) as response:
            if response.status_code == 409:
                response.success()
                COUNTERS["conflict_on_details"] += 1
                return
            if response.status_code != 200:
                _fail(response, "200 or 409")
                return
            # What a browser sends back: the hidden fields (slot, practitioner, CSRF token).
            form = {name: html.unescape(value) for name, value in HIDDEN_INPUT.findall(response.text)}
            if not form.get("csrfmiddlewaretoken") or not form.get("start"):
                response.failure("booking form without its hidden fields")
                return
        ref = uuid.uuid4().hex[:12]
        form.update(
            {
                "first_name": "Load",
                "last_name": f"Test {ref}",
                "email": f"load-{ref}@example.com",
                "mobile_phone": f"+1408555{random.randrange(10000):04d}",
                "is_adult": "on",
                "accept_privacy_policy": "on",
            }
        )
        if random.random() < 0.5:
            form["sms_reminders"] = "on"
        self.think()  # filling in the form
        # The form has no action: a browser posts it to the page's own URL, from the same origin.
        headers = {"Origin": self.host, "Referer": self.host + details_url, **self.secure_cookie_header()}
        with self.client.post(
            details_url,
            data=form,
            headers=headers,
            name="book: POST booking",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code == 409:
                response.success()
                COUNTERS["conflict_on_post"] += 1
                return
            location = response.headers.get("Location", "") if response.headers else ""
            if response.status_code != 302 or "booked=1" not in location:
                _fail(response, "302 to the manage page, or 409")
                return
            COUNTERS["booked"] += 1
            BOOKED_IN_RUN[0] += 1
        with self.client.get(
            location, name="book: confirmation page", headers=self.secure_cookie_header(), catch_response=True
        ) as response:
            if response.status_code != 200:
                _fail(response, 200)


USERS = {"floor": FloorUser, "availability": AvailabilityUser, "booking": BookingUser}


def _figures(stats):
    def summary(entry):
        return {
            "requests": entry.num_requests,
            "failures": entry.num_failures,
            "p50": entry.get_response_time_percentile(0.50),
            "p95": entry.get_response_time_percentile(0.95),
            "p99": entry.get_response_time_percentile(0.99),
            "avg": entry.avg_response_time,
        }

    return {
        "total": summary(stats.total),
        "entries": {name: summary(entry) for (name, _method), entry in stats.entries.items()},
        "errors": [
            {"name": e.name, "error": str(e.error), "occurrences": e.occurrences} for e in stats.errors.values()
        ],
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=sorted(USERS))
    parser.add_argument("--host", required=True)
    parser.add_argument("--users", default="1,5,10,20")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--plan", required=True)
    parser.add_argument("--think", default="", help="MIN-MAX seconds a booking user pauses before each page")
    args = parser.parse_args()
    if args.think:
        THINK[:] = sorted(float(n) for n in args.think.split("-"))
    with open(args.plan) as f:
        PLAN.update(json.load(f))

    user_class = USERS[args.scenario]
    user_class.host = args.host
    # At the end, users finish the task in hand (30 s at most), so every booking the site accepted is counted.
    env = Environment(user_classes=[user_class], host=args.host, stop_timeout=30)
    runner = env.create_local_runner()
    me = psutil.Process()

    # Warm-up, not measured: every worker imports, compiles templates and connects.
    runner.start(max(2, min(5, int(args.users.split(",")[0]))), spawn_rate=10)
    gevent.sleep(args.warmup)

    for users in (int(n) for n in args.users.split(",")):
        runner.start(users, spawn_rate=max(users, 1))
        if runner.spawning_greenlet is not None:
            runner.spawning_greenlet.join()
        gevent.sleep(0.5)
        env.stats.reset_all()
        for key in COUNTERS:
            COUNTERS[key] = 0
        me.cpu_percent()
        started = time.perf_counter()
        gevent.sleep(args.seconds)
        elapsed = time.perf_counter() - started
        figures = _figures(env.stats)
        figures.update(
            scenario=args.scenario,
            users=users,
            seconds=elapsed,
            rps=figures["total"]["requests"] / elapsed,
            loadgen_cpu_percent=me.cpu_percent(),
            counters=dict(COUNTERS),
        )
        print(json.dumps(figures), flush=True)

    runner.quit()
    print(json.dumps({"final": True, "booked_in_run": BOOKED_IN_RUN[0]}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
