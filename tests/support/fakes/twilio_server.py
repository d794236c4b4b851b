"""A local Twilio-compatible Messages API, for tests and benchmarks.

The real `twilio` library talks to it over HTTP (TWILIO_API_BASE_URL), so the
project's Twilio backend is exercised end to end without calling Twilio.
It records every message it accepts (and every request it received) and can
be told to misbehave: fail the next N requests or every request for a while
(a status code, a Twilio error code and, for 429, a Retry-After header), then
recover; or answer slowly (`delay`), as a struggling provider does.
"""

import json
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class FakeTwilio:
    def __init__(self, host="127.0.0.1", port=0):
        self.messages = []  # dicts of the form fields of the messages accepted
        self.received = []  # every request to the Messages API: its form fields and the status answered
        self.requests = 0
        self.connections = 0
        self.delay = 0.0  # seconds to hold each answer; the message counts as received at once
        self._failures = []  # (status, code, retry_after) for upcoming requests
        self._failing_until = 0.0  # monotonic time; fail every request before it with _failing_as
        self._failing_as = None
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes: without this, on a kept-alive
            # connection Nagle's algorithm and delayed ACKs stall each answer ~40 ms.
            disable_nagle_algorithm = True

            def setup(self):
                super().setup()
                with fake._lock:
                    fake.connections += 1  # one handler per TCP connection (keep-alive reuses it)

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                status, payload = fake._handle(self.path, form, self.headers.get("Authorization", ""))
                retry_after = payload.pop("_retry_after", None)
                if fake.delay:
                    time.sleep(fake.delay)  # the provider already has it; the answer is slow
                body = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    if retry_after is not None:
                        self.send_header("Retry-After", str(retry_after))
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the sender died waiting for the answer

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, count, *, status=500, code=None, retry_after=None):
        with self._lock:
            self._failures.extend([(status, code, retry_after)] * count)

    def fail_for(self, seconds, *, status=500, code=None, retry_after=None):
        """Fail every request in the next `seconds` (after any fail_next ones), then recover."""
        with self._lock:
            self._failing_until = time.monotonic() + seconds
            self._failing_as = (status, code, retry_after)

    def accepted_per_recipient(self):
        """How many messages were accepted for each To number."""
        return Counter(m.get("To") for m in self.messages)

    def received_per_recipient(self):
        """How many requests (accepted or not) arrived for each To number."""
        return Counter(r.get("To") for r in self.received)

    def _handle(self, path, form, authorization):
        with self._lock:
            self.requests += 1
            if not authorization.startswith("Basic "):
                return 401, {"code": 20003, "message": "Authenticate", "status": 401}
            if not path.endswith("/Messages.json"):
                return 404, {"code": 20404, "message": "Not found", "status": 404}
            failure = self._failures.pop(0) if self._failures else None
            if failure is None and time.monotonic() < self._failing_until:
                failure = self._failing_as
            if failure:
                status, code, retry_after = failure
                self.received.append({**form, "status": status})
                payload = {"code": code, "message": f"Fake failure {status}", "status": status}
                return status, payload if retry_after is None else {**payload, "_retry_after": retry_after}
            sid = "SM" + uuid.uuid4().hex
            self.messages.append({**form, "sid": sid})
            self.received.append({**form, "status": 201})
            return 201, {"sid": sid, "status": "queued", "to": form.get("To"), "body": form.get("Body")}
