import json
import logging
from urllib.parse import urlencode

import stripe
from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from clinic.ratelimits import limit

from . import selectors, services
from .backends import get_backend, local
from .backends.base import PaymentsError
from .links import payment_from_fee_token
from .models import BookingCheckout, CheckoutStatus, Payment, PaymentKind, PaymentStatus, format_money

LOCAL_BACKEND = "payments.backends.local.PaymentsBackend"

logger = logging.getLogger(__name__)


@csrf_exempt  # Stripe signs the request instead (Stripe-Signature), checked before anything else
@require_POST
def stripe_webhook(request):
    if not settings.STRIPE_WEBHOOK_SECRET:  # an empty secret would accept anyone's signature
        return HttpResponseBadRequest("Stripe webhooks are not set up here.")
    try:
        # Verifies the signature (and its age); we then read the same verified body as plain data.
        stripe.Webhook.construct_event(
            request.body, request.headers.get("Stripe-Signature", ""), settings.STRIPE_WEBHOOK_SECRET
        )
    except (ValueError, stripe.SignatureVerificationError):
        return HttpResponseBadRequest("Bad or missing Stripe signature.")
    try:
        outcome = services.handle_stripe_event(json.loads(request.body))
    except (KeyError, TypeError, AttributeError, services.BadEvent):
        return HttpResponseBadRequest("Not a Stripe event.")
    except PaymentsError:
        logger.warning("Stripe event not applied yet; Stripe will deliver it again", exc_info=True)
        return HttpResponse("Try again later.", status=503)
    return HttpResponse(outcome)


# --- The payment step of an online booking (appointments' booking view redirects here) -------------------


def booking_step_provider(*, location, service):
    """Registered with appointments.booking_steps: the step when this service here asks for a payment."""
    return start_booking_step if services.booking_step_needed(location=location, service_id=service.pk) else None


def booking_terms_provider(*, location, service):
    """Registered with appointments.booking_steps: what the next step asks and the cancellation policy, read
    before "Book" (only where booking this service asks for a payment step; the step shows them again)."""
    requirement = selectors.booking_requirement(location=location, service_id=service.pk)
    if requirement is None or not services.asks_payment(requirement):
        return []
    deposit = requirement.deposit_due()
    if deposit:
        amount = format_money(deposit, requirement.currency)
        lines = [gettext("Next you pay a deposit of %(amount)s to secure this time.") % {"amount": amount}]
    else:
        lines = [gettext("Next you save a card (nothing is charged now) to secure this time.")]
    policy = selectors.current_cancellation_policy(location=location)
    if policy is not None:
        lines.append(policy.wording)
    return lines


def visit_step_provider(*, location, services):
    """Registered with appointments.booking_steps: the visit's step when any of its services asks for a payment."""
    ask = _visit_ask(location, services)
    return start_visit_step if ask is not None else None


def _visit_ask(location, services_):
    try:
        return services.visit_payment_ask(location=location, service_ids=[s.pk for s in services_])
    except services.PaymentRefused:
        return ("refused", 0, "")  # mixed currencies: the step refuses it with its message


def visit_terms_provider(*, location, services):
    """Before "Book" on the visit's details step: the summed deposit (or the card) and the cancellation policy."""
    ask = _visit_ask(location, services)
    if ask is None or ask[0] == "refused":
        return []
    kind, deposit, currency = ask
    if deposit:
        amount = format_money(deposit, currency)
        lines = [
            gettext("Next you pay a deposit of %(amount)s for this visit to secure its times.") % {"amount": amount}
        ]
    else:
        lines = [gettext("Next you save a card (nothing is charged now) to secure this visit's times.")]
    policy = selectors.current_cancellation_policy(location=location)
    if policy is not None:
        lines.append(policy.wording)
    return lines


def start_visit_step(*, request, booking):
    checkout = services.start_visit_checkout(booking=booking)
    return reverse("payments:booking_checkout", args=[checkout.key])


def start_booking_step(*, request, booking):
    checkout = services.start_booking_checkout(booking=booking)
    return reverse("payments:booking_checkout", args=[checkout.key])


def _checkout_context(checkout, **extra):
    requirement = selectors.payment_requirement(location=checkout.location, service_id=checkout.service_id)
    payment = checkout.payment
    return {
        "parts": _visit_rows(checkout),
        "checkout": checkout,
        "location": checkout.location,
        "service": checkout.service,
        "start": checkout.start,
        "practitioner": checkout.practitioner,
        "policy": checkout.policy,
        "amount": format_money(payment.amount, payment.currency) if payment else None,
        "requirement": requirement,
        "hold_minutes": settings.PAYMENT_SLOT_HOLD_MINUTES,
        **extra,
    }


def _visit_rows(checkout):
    """A visit's parts for the summary (service, practitioner, start), in order; empty for a single booking."""
    if not checkout.is_visit:
        return []
    from datetime import datetime

    from appointments.models import Practitioner, Service

    services_ = Service.objects.in_bulk([part["service"] for part in checkout.visit_parts])
    people = Practitioner.objects.in_bulk([part["practitioner"] for part in checkout.visit_parts])
    return [
        {
            "service": services_.get(part["service"]),
            "practitioner": people.get(part["practitioner"]),
            "start": datetime.fromisoformat(part["start"]),
        }
        for part in checkout.visit_parts
    ]


@never_cache  # the client's time, amount or card: never kept by a shared or the back-forward cache
@require_http_methods(["GET", "POST"])
@limit("booking")
def booking_checkout(request, key):
    """The cancellation policy in plain words, accepted before the client goes to Stripe's page."""
    checkout = get_object_or_404(
        BookingCheckout.objects.select_related("location", "service", "practitioner", "policy", "payment"), key=key
    )
    if checkout.is_final:
        return redirect("payments:booking_checkout_return", checkout.key)
    if request.method == "POST":
        try:
            checkout = services.go_to_checkout(
                checkout_id=checkout.pk,
                accepted_policy=request.POST.get("accept_cancellation_policy") == "on",
                meta=_request_meta(request),
                success_url=request.build_absolute_uri(reverse("payments:booking_checkout_return", args=[key])),
                cancel_url=request.build_absolute_uri(reverse("payments:booking_checkout", args=[key])) + "?returned=1",
            )
        except services.PaymentRefused as exc:
            expired = checkout.hold_expires_at <= timezone.now()
            return render(
                request,
                "payments/booking_checkout.html",
                _checkout_context(checkout, error=str(exc), expired=expired),
                status=409 if expired else 400,
            )
        if checkout.is_final:
            return redirect("payments:booking_checkout_return", checkout.key)
        return redirect(checkout.checkout_url)
    expired = checkout.status == CheckoutStatus.EXPIRED or checkout.hold_expires_at <= timezone.now()
    return render(
        request,
        "payments/booking_checkout.html",
        _checkout_context(checkout, expired=expired, returned=request.GET.get("returned") == "1"),
    )


def _request_meta(request):
    from appointments.services import RequestMeta
    from clinic.ratelimits import client_ip
    from privacy.cookies import visitor_id

    return RequestMeta(
        ip_address=client_ip(request) or None,
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        visitor_id=visitor_id(request),
    )


@never_cache  # the client's time, amount or card: never kept by a shared or the back-forward cache
@require_http_methods(["GET", "HEAD"])
def booking_checkout_return(request, key):
    """Stripe sends the client back here: the outcome, asking Stripe if its webhook has not come yet."""
    checkout = get_object_or_404(BookingCheckout, key=key)
    if not checkout.is_final:
        checkout = services.sync_booking_checkout(checkout_id=checkout.pk)
    if checkout.status == CheckoutStatus.BOOKED and checkout.appointment_id:
        from appointments.links import manage_token

        appointment = checkout.appointment
        return redirect(reverse("appointments:manage", args=[manage_token(appointment)]) + "?booked=1")
    return render(request, "payments/booking_outcome.html", _checkout_context(checkout))


# --- The local backend's stand-in for Stripe's hosted page (`make run` with no Stripe account) -------------

LOCAL_CARDS = [
    ("pm_card_visa", gettext_lazy("Visa ending 4242: pays")),
    (local.NEEDS_AUTHENTICATION, gettext_lazy("Visa ending 3184: asks for authentication (3-D Secure)")),
    (local.DECLINED, gettext_lazy("Visa ending 0002: declined")),
]


@never_cache  # the client's time, amount or card: never kept by a shared or the back-forward cache
@require_http_methods(["GET", "POST"])
def local_checkout(request, session_id):
    """Simulates Stripe Checkout for the local backend only: choose a test card; nothing is charged."""
    if settings.PAYMENTS_BACKEND != LOCAL_BACKEND:
        raise Http404("Only with the local payments backend.")
    checkout = (
        BookingCheckout.objects.select_related("location", "service", "payment", "practitioner")
        .filter(stripe_checkout_session_id=session_id)
        .first()
    )
    try:
        session = get_backend().retrieve_checkout_session(session_id=session_id)
    except PaymentsError:
        session = None
    fee = None
    if checkout is None and session is not None and (session.metadata or {}).get("fee_payment"):
        fee = Payment.objects.select_related("location").filter(pk=session.metadata["fee_payment"]).first()
    if checkout is None and fee is None:
        raise Http404("No such payment page.")
    if checkout is not None:
        context = _checkout_context(checkout, cards=LOCAL_CARDS, session_id=session_id)
        back = reverse("payments:booking_checkout", args=[checkout.key]) + "?returned=1"
        done = reverse("payments:booking_checkout_return", args=[checkout.key])
    else:
        back = done = request.GET.get("back", "")
        if not url_has_allowed_host_and_scheme(back, allowed_hosts=set()):  # this site's paths only
            back = done = reverse("appointments:home")
        context = {"fee": fee, "amount": format_money(fee.amount, fee.currency), "cards": LOCAL_CARDS}
    context["back_url"] = back
    if session is None or session.status != "open":
        context["closed"] = True
        return render(request, "payments/local_checkout.html", context, status=410)
    if request.method == "POST":
        card = request.POST.get("card", "")
        step = request.POST.get("step", "")
        if card not in dict(LOCAL_CARDS):
            context["error"] = gettext("Choose a test card.")
            return render(request, "payments/local_checkout.html", context, status=400)
        if card == local.DECLINED:
            context["error"] = gettext("Your card was declined. Try another card.")
            return render(request, "payments/local_checkout.html", context, status=402)
        if card == local.NEEDS_AUTHENTICATION and step != "authenticated":
            if step == "failed":
                context["error"] = gettext("The authentication failed. Try again or use another card.")
                return render(request, "payments/local_checkout.html", context, status=402)
            context["authenticate"] = card
            return render(request, "payments/local_checkout.html", context)
        services.apply_checkout_session(session=local.complete_session(session_id, payment_method=card))
        return redirect(done)
    return render(request, "payments/local_checkout.html", context)


# --- A fee whose card asked for authentication: the emailed link --------------------------------------------


@never_cache  # the client's time, amount or card: never kept by a shared or the back-forward cache
@require_http_methods(["GET", "POST"])
@limit("appointment_change")
def fee(request, token):
    payment = payment_from_fee_token(token)
    if payment is None:
        raise Http404("This link is not valid.")
    context = {
        "payment": payment,
        "amount": format_money(payment.amount, payment.currency),
        "location": payment.location,
    }
    if request.method == "POST" and payment.status == PaymentStatus.REQUIRES_ACTION:
        here = request.build_absolute_uri(reverse("payments:fee", args=[token]))
        try:
            url = services.fee_checkout_url(payment_id=payment.pk, success_url=here, cancel_url=here)
        except services.PaymentRefused as exc:
            context["error"] = str(exc)
            return render(request, "payments/fee.html", context, status=409)
        if settings.PAYMENTS_BACKEND == LOCAL_BACKEND:
            url += "?" + urlencode({"back": reverse("payments:fee", args=[token])})
        return redirect(url)
    return render(request, "payments/fee.html", context)


def cancellation_terms_provider(*, appointment):
    """Registered with appointments.booking_steps: the late-cancel fee, in plain words, when one applies now."""
    due = services.late_cancel_fee_now(appointment=appointment)
    if due is None:
        return None
    amount, policy, card = due
    from appointments.booking_steps import CancellationTerms

    notice = gettext(
        "Cancelling now is inside %(location)s's %(hours)s-hour cancellation window: "
        "a late-cancel fee of %(amount)s will be charged to your %(brand)s card "
        "ending %(last4)s, as the cancellation policy you accepted when booking says."
    ) % {
        "location": appointment.location.name,
        "hours": policy.window_hours,
        "amount": format_money(amount, policy.currency),
        "brand": card.brand,
        "last4": card.last4,
    }
    return CancellationTerms(notice=notice, confirmed=_charge_late_cancel_after_commit)


def _charge_late_cancel_after_commit(appointment_id):
    from django.db import transaction

    from clinic.queueing import enqueue

    from .tasks import charge_appointment_fee

    transaction.on_commit(lambda: enqueue(charge_appointment_fee, appointment_id, PaymentKind.LATE_CANCEL_FEE))


def manage_page_payments(*, appointment):
    """Registered with appointments.booking_steps: the client's payments and refunds, on their manage page."""
    from django.template.loader import render_to_string

    if appointment.client_id is None:
        return ""
    # Most manage pages (every confirmation page of a booking without a deposit) have no payment to show: a
    # plain existence check costs a third of reading them with their location, service and refunds.
    if not selectors.client_has_payments(client_id=appointment.client_id):
        return ""
    # This booking's payments only (its visit's parts): a merge may have put the link's booking on a record
    # holding someone else's payments, and the link's holder is only known to be the booker.
    parts = [appointment.pk]
    if appointment.visit_id is not None:
        parts = list(type(appointment).objects.filter(visit_id=appointment.visit_id).values_list("pk", flat=True))
    payments = list(selectors.client_payments(client_id=appointment.client_id, appointment_ids=parts))
    if not payments:
        return ""
    return render_to_string("payments/_manage_payments.html", {"payments": payments})
