"""A local Stripe-compatible API for the calls the payments backend makes, for tests.

The real `stripe` library talks to it over HTTP (STRIPE_API_BASE), as the Twilio
backend is tested against tests/fakes/twilio_server.py. It answers like Stripe:
customers (create, delete), SetupIntents, PaymentIntents (a deposit waits for
the client's card; an off-session charge of a saved card succeeds, needs
authentication with `pm_card_authenticationRequired`, or is declined with
`pm_card_chargeDeclined`), refunds (never more than was paid; listed, paged;
made in the dashboard with `refund_in_dashboard`), payment methods.
Like Stripe it keeps each Idempotency-Key's first answer and replays it for a
repeated key (a different request under a used key is a 400 idempotency_error).
It records every request with its key, and can be told to fail the next requests
with a status (`fail_next`) or to do the work and then answer too late for the
client's timeout (`hang_next`), as Stripe does when the network drops its answer.

`sign(payload, secret)` builds a Stripe-Signature header the way Stripe signs
webhooks: t=<unix time>,v1=HMAC-SHA256(secret, "<t>.<payload>").
"""

import hashlib
import hmac
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

NEEDS_AUTHENTICATION = "pm_card_authenticationRequired"
DECLINED = "pm_card_chargeDeclined"


def sign(payload: str, secret: str, *, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    signature = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={signature}"


def _nested(params):
    """metadata[payment]=3 -> {"metadata": {"payment": "3"}}."""
    out = {}
    for key, value in params.items():
        if "[" in key:
            outer, inner = key.split("[", 1)
            out.setdefault(outer, {})[inner.rstrip("]")] = value
        else:
            out[key] = value
    return out


class FakeStripe:
    def __init__(self, host="127.0.0.1", port=0):
        self.requests = []  # {"method", "path", "params", "idempotency_key", "status"} for every request
        self.customers = {}
        self.payment_intents = {}
        self.setup_intents = {}
        self.refunds = {}  # id -> refund
        self.checkout_sessions = {}
        self.hang_seconds = 2.0
        self._answers = {}  # idempotency key -> (method, path, params, status, body)
        self._failures = []  # statuses for the next requests, answered without doing anything
        self._hangs = 0
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def _serve(self, method):
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else url.query
                params = _nested(dict(parse_qsl(raw, keep_blank_values=True)))
                status, body, hang = fake._handle(
                    method, url.path, params, self.headers.get("Idempotency-Key"), self.headers.get("Authorization", "")
                )
                if hang:
                    time.sleep(fake.hang_seconds)  # the work is done; the answer comes too late
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

            def do_DELETE(self):
                self._serve("DELETE")

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

    def fail_next(self, count, *, status=500):
        with self._lock:
            self._failures.extend([status] * count)

    def hang_next(self, count=1):
        with self._lock:
            self._hangs += count

    def calls(self, method, path_prefix):
        return [r for r in self.requests if r["method"] == method and r["path"].startswith(path_prefix)]

    # --- the API ---

    def _handle(self, method, path, params, key, authorization):
        with self._lock:
            record = {"method": method, "path": path, "params": params, "idempotency_key": key}
            self.requests.append(record)
            if not authorization.startswith("Bearer sk_"):
                record["status"] = 401
                return 401, _error("invalid_request_error", "Invalid API Key provided.", code="api_key_invalid"), False
            if self._failures:
                record["status"] = self._failures.pop(0)
                return record["status"], _error("api_error", "Fake Stripe failure."), False
            hang = self._hangs > 0
            self._hangs -= 1 if hang else 0
            if key and key in self._answers:
                was_method, was_path, was_params, status, body = self._answers[key]
                if (was_method, was_path, was_params) != (method, path, params):
                    status, body = (
                        400,
                        _error(
                            "idempotency_error",
                            "Keys for idempotent requests can only be used with the same parameters.",
                        ),
                    )
                record["status"] = status
                record["replayed"] = True
                return status, body, hang
            status, body = self._route(method, path, params)
            if key and method == "POST" and status < 500:
                self._answers[key] = (method, path, params, status, body)
            record["status"] = status
            return status, body, hang

    def _route(self, method, path, params):
        parts = path.strip("/").split("/")  # v1/<resource>[/<id>]
        if parts[1] == "checkout":
            return self._checkout(method, parts[3:], params)
        resource, object_id = parts[1], (parts[2] if len(parts) > 2 else None)
        if resource == "customers" and method == "POST" and object_id is None:
            customer = {
                "id": "cus_" + uuid.uuid4().hex[:14],
                "object": "customer",
                "metadata": params.get("metadata", {}),
            }
            self.customers[customer["id"]] = customer
            return 200, customer
        if resource == "customers" and method == "DELETE" and object_id:
            if object_id not in self.customers:
                return 404, _error("invalid_request_error", f"No such customer: '{object_id}'", code="resource_missing")
            del self.customers[object_id]
            return 200, {"id": object_id, "object": "customer", "deleted": True}
        if resource == "setup_intents" and method == "POST":
            intent_id = "seti_" + uuid.uuid4().hex[:14]
            intent = {
                "id": intent_id,
                "object": "setup_intent",
                "status": "requires_payment_method",
                "client_secret": f"{intent_id}_secret_x",
                "customer": params.get("customer"),
                "metadata": params.get("metadata", {}),
            }
            self.setup_intents[intent_id] = intent
            return 200, intent
        if resource == "setup_intents" and method == "GET" and object_id:
            if object_id not in self.setup_intents:
                return 404, _error("invalid_request_error", "No such setup_intent", code="resource_missing")
            return 200, self.setup_intents[object_id]
        if resource == "payment_intents" and method == "POST" and object_id is None:
            return self._create_payment_intent(params)
        if resource == "payment_intents" and method == "GET" and object_id:
            if object_id not in self.payment_intents:
                return 404, _error("invalid_request_error", "No such payment_intent", code="resource_missing")
            return 200, self.payment_intents[object_id]
        if resource == "refunds" and method == "POST":
            return self._create_refund(params)
        if resource == "refunds" and method == "GET" and object_id is None:
            return self._list_refunds(params)
        if resource == "payment_methods" and method == "GET" and object_id:
            return 200, {
                "id": object_id,
                "object": "payment_method",
                "type": "card",
                "card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2034},
            }
        return 404, _error("invalid_request_error", f"Unrecognized request URL ({method}: {path}).")

    def _checkout(self, method, rest, params):
        """Checkout Sessions: create, retrieve, expire (an open one only)."""
        if method == "POST" and not rest:
            if params.get("customer") not in self.customers:
                return 400, _error("invalid_request_error", "No such customer", code="resource_missing")
            if int(params.get("expires_at", 0)) < time.time() + 30 * 60 - 5:
                return 400, _error("invalid_request_error", "expires_at must be at least 30 minutes from now.")
            session_id = "cs_test_" + uuid.uuid4().hex[:14]
            items = params.get("line_items", {})
            mode = params["mode"]
            session = {
                "id": session_id,
                "object": "checkout.session",
                "mode": mode,
                "status": "open",
                "payment_status": "unpaid" if mode == "payment" else "no_payment_required",
                "customer": params["customer"],
                "url": f"{self.url}/pay/{session_id}",
                "success_url": params.get("success_url"),
                "cancel_url": params.get("cancel_url"),
                "expires_at": int(params["expires_at"]),
                "amount_total": int(items["0][price_data][unit_amount"]) if mode == "payment" else None,
                "currency": items.get("0][price_data][currency") if mode == "payment" else params.get("currency"),
                "metadata": params.get("metadata", {}),
                "payment_intent": None,
                "setup_intent": None,
                "_intent_metadata": {
                    k.split("][", 1)[1]: v
                    for k, v in (params.get("payment_intent_data") or params.get("setup_intent_data") or {}).items()
                    if k.startswith("metadata][")
                },
            }
            self.checkout_sessions[session_id] = session
            return 200, _public(session)
        session = self.checkout_sessions.get(rest[0]) if rest else None
        if session is None:
            return 404, _error("invalid_request_error", "No such checkout.session", code="resource_missing")
        if method == "GET" and len(rest) == 1:
            return 200, _public(session)
        if method == "POST" and rest[1:] == ["expire"]:
            if session["status"] != "open":
                return 400, _error(
                    "invalid_request_error", 'Only Checkout Sessions with a status in ["open"] can be expired.'
                )
            session["status"] = "expired"
            return 200, _public(session)
        return 404, _error("invalid_request_error", "Unrecognized request URL.")

    def complete_session(self, session_id, *, payment_method="pm_card_visa"):
        """The client paid (or saved a card) on Stripe's page: the session as the webhook then sends it."""
        with self._lock:
            session = self.checkout_sessions[session_id]
            assert session["status"] == "open", session["status"]
            if session["mode"] == "payment":
                intent_id = "pi_" + uuid.uuid4().hex[:14]
                self.payment_intents[intent_id] = {
                    "id": intent_id,
                    "object": "payment_intent",
                    "amount": session["amount_total"],
                    "currency": session["currency"],
                    "customer": session["customer"],
                    "metadata": session["_intent_metadata"],
                    "status": "succeeded",
                    "client_secret": f"{intent_id}_secret_x",
                    "payment_method": payment_method,
                    "amount_received": session["amount_total"],
                }
                session.update(payment_intent=intent_id, payment_status="paid")
            else:
                intent_id = "seti_" + uuid.uuid4().hex[:14]
                self.setup_intents[intent_id] = {
                    "id": intent_id,
                    "object": "setup_intent",
                    "status": "succeeded",
                    "customer": session["customer"],
                    "payment_method": payment_method,
                    "metadata": session["_intent_metadata"],
                }
                session["setup_intent"] = intent_id
            session["status"] = "complete"
            return _public(session)

    def _create_payment_intent(self, params):
        if params.get("customer") not in self.customers:
            return 400, _error("invalid_request_error", "No such customer", code="resource_missing")
        intent_id = "pi_" + uuid.uuid4().hex[:14]
        intent = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": int(params["amount"]),
            "currency": params["currency"],
            "customer": params["customer"],
            "metadata": params.get("metadata", {}),
            "status": "requires_payment_method",
            "client_secret": f"{intent_id}_secret_x",
            "payment_method": params.get("payment_method"),
            "amount_received": 0,
        }
        self.payment_intents[intent_id] = intent
        if params.get("confirm") == "true" and params.get("payment_method"):
            method = params["payment_method"]
            if method == NEEDS_AUTHENTICATION:
                intent["status"] = "requires_action"
                return 402, _error(
                    "card_error",
                    "Your card was declined. This transaction requires authentication.",
                    code="authentication_required",
                    payment_intent=intent,
                )
            if method == DECLINED:
                intent["status"] = "requires_payment_method"
                return 402, _error(
                    "card_error",
                    "Your card was declined.",
                    code="card_declined",
                    decline_code="generic_decline",
                    payment_intent=intent,
                )
            intent["status"] = "succeeded"
            intent["amount_received"] = intent["amount"]
        return 200, intent

    def succeed(self, intent_id):
        """The client paid on Stripe's page (what the browser would do)."""
        with self._lock:
            intent = self.payment_intents[intent_id]
            intent["status"] = "succeeded"
            intent["amount_received"] = intent["amount"]
            return intent

    def _create_refund(self, params):
        intent = self.payment_intents.get(params.get("payment_intent"))
        if intent is None or intent["status"] != "succeeded":
            return 400, _error("invalid_request_error", "This PaymentIntent has no successful charge to refund.")
        amount = int(params.get("amount") or intent["amount"])
        refunded = sum(r["amount"] for r in self.refunds.values() if r["payment_intent"] == intent["id"])
        if amount + refunded > intent["amount"]:
            return 400, _error(
                "invalid_request_error",
                "Refund amount is greater than unrefunded amount on charge.",
                code="amount_too_large",
            )
        return 200, self._refund(intent, amount, metadata=params.get("metadata", {}))

    def _refund(self, intent, amount, *, metadata=None, reason=None, status="succeeded"):
        refund = {
            "id": "re_" + uuid.uuid4().hex[:14],
            "object": "refund",
            "amount": amount,
            "currency": intent["currency"],
            "payment_intent": intent["id"],
            "charge": "ch_" + intent["id"][3:],
            "created": int(time.time()),
            "reason": reason,
            "status": status,
            "metadata": metadata or {},
        }
        self.refunds[refund["id"]] = refund
        return refund

    def refund_in_dashboard(self, intent_id, amount=None, *, reason="requested_by_customer", status="succeeded"):
        """Staff refunded the payment in Stripe's dashboard, not through the app: no metadata of ours."""
        with self._lock:
            intent = self.payment_intents[intent_id]
            refunded = sum(r["amount"] for r in self.refunds.values() if r["payment_intent"] == intent_id)
            amount = intent["amount"] - refunded if amount is None else amount
            assert 0 < amount <= intent["amount"] - refunded, "more than is left to refund"
            return dict(self._refund(intent, amount, reason=reason, status=status))

    def charge_of(self, intent_id):
        """The charge of a PaymentIntent as a charge.refunded event carries it (current API versions list
        no refunds on it): its refunded total only."""
        with self._lock:
            intent = self.payment_intents[intent_id]
            refunded = sum(
                r["amount"]
                for r in self.refunds.values()
                if r["payment_intent"] == intent_id and r["status"] in ("succeeded", "pending")
            )
            return {
                "id": "ch_" + intent_id[3:],
                "object": "charge",
                "payment_intent": intent_id,
                "amount": intent["amount"],
                "amount_refunded": refunded,
                "currency": intent["currency"],
                "refunded": refunded >= intent["amount"],
            }

    def _list_refunds(self, params):
        """GET /v1/refunds: newest first, by payment_intent and created[gte], paged by limit / starting_after."""
        refunds = sorted(self.refunds.values(), key=lambda r: (r["created"], r["id"]), reverse=True)
        if params.get("payment_intent"):
            refunds = [r for r in refunds if r["payment_intent"] == params["payment_intent"]]
        since = (params.get("created") or {}).get("gte")
        if since is not None:
            refunds = [r for r in refunds if r["created"] >= int(since)]
        if params.get("starting_after"):
            ids = [r["id"] for r in refunds]
            refunds = refunds[ids.index(params["starting_after"]) + 1 :]
        limit = int(params.get("limit") or 10)
        return 200, {"object": "list", "url": "/v1/refunds", "has_more": len(refunds) > limit, "data": refunds[:limit]}


def _public(session):
    return {k: v for k, v in session.items() if not k.startswith("_")}


def _error(kind, message, **fields):
    return {"error": {"type": kind, "message": message, **{k: v for k, v in fields.items() if v is not None}}}
