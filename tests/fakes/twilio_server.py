"""A local Twilio-compatible Messages API, for tests and benchmarks.

The real `twilio` library talks to it over HTTP (TWILIO_API_BASE_URL), so the
project's Twilio backend is exercised end to end without calling Twilio.
It records every message it accepts and can be told to fail: a status code
and Twilio error code for the next N requests, then recover.
"""

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class FakeTwilio:
    def __init__(self, host="127.0.0.1", port=0):
        self.messages = []  # dicts of the form fields Twilio received
        self.requests = 0
        self._failures = []  # (status, code) for upcoming requests
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                status, payload = fake._handle(self.path, form, self.headers.get("Authorization", ""))
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

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

    def fail_next(self, count, *, status=500, code=None):
        with self._lock:
            self._failures.extend([(status, code)] * count)

    def _handle(self, path, form, authorization):
        with self._lock:
            self.requests += 1
            if not authorization.startswith("Basic "):
                return 401, {"code": 20003, "message": "Authenticate", "status": 401}
            if not path.endswith("/Messages.json"):
                return 404, {"code": 20404, "message": "Not found", "status": 404}
            if self._failures:
                status, code = self._failures.pop(0)
                return status, {"code": code, "message": f"Fake failure {status}", "status": status}
            sid = "SM" + uuid.uuid4().hex
            self.messages.append({**form, "sid": sid})
            return 201, {"sid": sid, "status": "queued", "to": form.get("To"), "body": form.get("Body")}
