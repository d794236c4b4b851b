"""The client's account pages. Thin: parse, call a selector or service, render.

Every page here is private: never cached by anyone but the browser's own
session (`private_page`), no analytics or ad tags and no referrer (privacy.cookies
treats the whole `account` namespace as private), and an id that is not the
signed-in client's own is a 404.
"""

import secrets
from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_cookie

from appointments import services as appointment_services
from appointments import views as appointment_views
from appointments.emails import appointment_ics
from appointments.links import manage_token
from clinic.errors import BusinessRuleError
from clinic.hashing import contact_hash, normalise_email
from clinic.ratelimits import CACHE_UNAVAILABLE, client_ip, limit
from clinical_forms import services as clinical_form_services
from clinical_forms.links import forms_url
from clinical_forms.models import ReportedVia
from clinical_forms.pdf import signed_form_pdf
from clinical_forms.selectors import health_forms_to_sign_again
from messaging import preferences
from messaging.forms import PreferencesForm
from payments.models import format_money
from privacy.models import ConsentPurpose, ConsentSource

from . import selectors, services
from .forms import CodeForm, EmailSignInForm, NameForm, NewEmailForm, NewPhoneCodeForm, NewPhoneForm, PhoneSignInForm

SESSION_KEY = selectors.SESSION_KEY
CHALLENGE_KEY = "account_challenge"  # the key of the ask for a texted code (a worker decides whether to send one)
DUMMY_TRIES_KEY = "account_no_code_tries"  # tries at a code never sent: answered as for a real one
# A code never sent also "expires" after its minutes and when a newer one is asked for the same number, as a
# real code does: {"phone": hash, "nonce": the newest ask's (also in the cache), "expires": timestamp}.
DUMMY_KEY = "account_no_code"
DEVICE_COOKIE = "account_device"
DEVICE_COOKIE_MAX_AGE = 400 * 86400


def private_page(view):
    """Cache-Control: private, no-store (and friends), Vary: Cookie."""
    return vary_on_cookie(never_cache(view))


def signed_in(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        session = selectors.live_session(request.session.get(SESSION_KEY, ""))
        if session is None:
            request.session.pop(SESSION_KEY, None)
            return redirect("account:sign_in")
        request.account_session = session
        request.account_client = session.client
        return view(request, *args, **kwargs)

    return private_page(wrapped)


def _address_key(group, request):
    """Per address tried (hashed): one address cannot be sent codes from many IPs either."""
    value = request.POST.get("email") or request.POST.get("mobile_phone") or ""
    digits = "".join(ch for ch in value if ch.isdigit())
    return contact_hash(normalise_email(value) if "@" in value else digits[-10:])


def _device_id(request):
    value = request.COOKIES.get(DEVICE_COOKIE, "")
    return value if value.isascii() and value.replace("-", "").replace("_", "").isalnum() and len(value) == 43 else ""


def _browser(request, device_id):
    return services.Browser(
        device_id=device_id,
        ip_address=client_ip(request) or None,
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )


def _signed_in_response(request, raw_key, device_id):
    request.session.cycle_key()  # no session fixation: a new session id for the signed-in browser
    request.session[SESSION_KEY] = raw_key
    request.session.pop(CHALLENGE_KEY, None)
    request.session.pop(DUMMY_TRIES_KEY, None)
    request.session.pop(DUMMY_KEY, None)
    request.session.set_expiry(settings.ACCOUNT_SESSION_HOURS * 3600)
    response = redirect("account:home")
    response.set_cookie(
        DEVICE_COOKIE,
        device_id,
        max_age=DEVICE_COOKIE_MAX_AGE,
        httponly=True,
        secure=not settings.DEBUG,
        samesite="Lax",
    )
    return response


# --- Signing in ---------------------------------------------------------------------------------


@private_page
@require_http_methods(["GET", "POST"])
@limit("account_sign_in")
@limit("account_sign_in_address", key=_address_key)
def sign_in(request):
    email_form = EmailSignInForm(request.POST if "email" in request.POST else None)
    phone_form = PhoneSignInForm(request.POST if "mobile_phone" in request.POST else None)
    if request.method == "POST":
        if email_form.is_bound and email_form.is_valid():
            services.start_email_sign_in(email=email_form.cleaned_data["email"])
            return redirect("account:sign_in_sent")
        if phone_form.is_bound and phone_form.is_valid():
            phone = str(phone_form.cleaned_data["mobile_phone"])
            # The same work whether or not the number is on file: a worker decides whether to text a code.
            request.session[CHALLENGE_KEY] = services.start_sms_sign_in(phone=phone)
            request.session[DUMMY_TRIES_KEY] = 0
            request.session[DUMMY_KEY] = _start_dummy_code(phone)
            return redirect("account:sign_in_code")
    return render(
        request,
        "accounts/sign_in.html",
        {"email_form": email_form, "phone_form": phone_form},
        status=400 if request.method == "POST" else 200,
    )


def _start_dummy_code(phone):
    minutes = settings.ACCOUNT_SIGN_IN_CODE_MINUTES
    dummy = {
        "phone": contact_hash(phone),
        "nonce": secrets.token_urlsafe(12),
        "expires": (timezone.now() + timedelta(minutes=minutes)).timestamp(),
    }
    try:
        cache.set(f"account-no-code:{dummy['phone']}", dummy["nonce"], minutes * 60)
    except CACHE_UNAVAILABLE:
        pass  # then only its minutes end it
    return dummy


def _dummy_code_dead(request):
    """As a real code's: past its minutes, or a newer code was asked for the same number."""
    dummy = request.session.get(DUMMY_KEY) or {}
    if timezone.now().timestamp() >= dummy.get("expires", 0):
        return True
    try:
        newest = cache.get(f"account-no-code:{dummy.get('phone')}")
    except CACHE_UNAVAILABLE:
        return False
    return newest is not None and newest != dummy.get("nonce")


@private_page
def sign_in_sent(request):
    return render(request, "accounts/sign_in_sent.html", {"minutes": settings.ACCOUNT_SIGN_IN_LINK_MINUTES})


@private_page
@require_http_methods(["GET", "POST"])
@limit("verification")
def sign_in_code(request):
    if CHALLENGE_KEY not in request.session:
        return redirect("account:sign_in")
    form = CodeForm(request.POST or None)
    problem = None
    if request.method == "POST" and form.is_valid():
        device_id = _device_id(request) or secrets.token_urlsafe(32)
        try:
            try:
                raw_key = services.sign_in_with_code(
                    ask=str(request.session[CHALLENGE_KEY]),
                    code=form.cleaned_data["code"],
                    browser=_browser(request, device_id),
                )
            except services.NoCodeSent:
                # No code was sent (number not on file): the same answers as for a real code.
                dead = _dummy_code_dead(request)
                tries = request.session.get(DUMMY_TRIES_KEY, 0) + (0 if dead else 1)
                request.session[DUMMY_TRIES_KEY] = tries
                raise services.SignInRefused(
                    gettext("This code has expired or was entered wrongly too often. Ask for a new one.")
                    if dead or tries > services.MAX_CODE_TRIES
                    else gettext("That code is not right, and it was entered wrongly too often. Ask for a new one.")
                    if tries == services.MAX_CODE_TRIES
                    else gettext("That code is not right. Please check the text and try again.")
                ) from None
        except services.SignInRefused as exc:
            problem = str(exc)
        else:
            return _signed_in_response(request, raw_key, device_id)
    return render(
        request,
        "accounts/sign_in_code.html",
        {"form": form, "problem": problem, "minutes": settings.ACCOUNT_SIGN_IN_CODE_MINUTES},
        status=400 if request.method == "POST" else 200,
    )


@private_page
@require_http_methods(["GET", "POST"])
@limit("verification")
def sign_in_link(request, token):
    """The emailed link. GET only shows a button (mail scanners follow links); the POST signs in."""
    try:
        if request.method == "POST":
            device_id = _device_id(request) or secrets.token_urlsafe(32)
            raw_key = services.sign_in_with_link(token=token, browser=_browser(request, device_id))
            return _signed_in_response(request, raw_key, device_id)
        services.check_sign_in_link(token)
    except services.SignInRefused as exc:
        return render(request, "accounts/sign_in_link_problem.html", {"reason": str(exc)}, status=404)
    return render(request, "accounts/sign_in_link.html", {"token": token})


@private_page
@require_POST
def sign_out(request):
    raw_key = request.session.get(SESSION_KEY, "")
    if raw_key:
        services.end_session(raw_key=raw_key)
    request.session.flush()
    return redirect(reverse("account:sign_in") + "?signed_out=1")


@signed_in
@require_POST
def sign_out_everywhere(request):
    services.end_all_sessions(client_id=request.account_client.pk)
    request.session.flush()
    return redirect(reverse("account:sign_in") + "?signed_out=all")


# --- My visits ----------------------------------------------------------------------------------


@signed_in
def home(request):
    client = request.account_client
    upcoming, past = selectors.upcoming_and_past(client)
    now = timezone.now()
    for visit in upcoming:
        visit.can_change = appointment_services.can_change_online(visit, now=now)
    return render(
        request,
        "accounts/home.html",
        {
            "client": client,
            "upcoming": upcoming,
            "past": past,
            "session": request.account_session,
            "cutoff_hours": settings.BOOKING_CHANGE_CUTOFF_HOURS,
            "to_join": selectors.visits_to_join(client),
        },
    )


@signed_in
@require_POST
def join_record(request, record_id):
    """Keep my visits together: a record holding the email or phone this account proved joins the account."""
    try:
        services.join_record(client=request.account_client, other_id=record_id)
    except BusinessRuleError as exc:
        if not selectors.records_to_join(request.account_client).filter(pk=record_id).exists():
            raise Http404("No such record.") from None
        return render(request, "accounts/join_refused.html", {"reason": str(exc)}, status=409)
    return redirect(reverse("account:home") + "?joined=1")


def _my_visit(request, appointment_id):
    visit = selectors.visit_of(request.account_client, appointment_id)
    if visit is None:
        raise Http404("No such visit.")
    return visit


@signed_in
@require_POST
def visit_cancel(request, appointment_id):
    """The visit's own cancellation, as from its manage link (limited there): a late-cancel fee is shown and
    confirmed first, then charged; a visit of several services is cancelled whole."""
    visit = _my_visit(request, appointment_id)
    response = appointment_views.cancel(request, manage_token(visit))
    if response.status_code == 302:
        return redirect(reverse("account:home") + "?cancelled=1")
    return response


@signed_in
def visit_reschedule(request, appointment_id):
    """To the visit's own reschedule page (the same rules and slots as its manage link)."""
    visit = _my_visit(request, appointment_id)
    return redirect("appointments:reschedule", manage_token(visit))


@signed_in
@require_http_methods(["GET", "HEAD"])
def visit_calendar_file(request, appointment_id):
    visit = _my_visit(request, appointment_id)
    response = HttpResponse(appointment_ics(visit), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="appointment.ics"'
    return response


# --- My consents --------------------------------------------------------------------------------


@signed_in
@require_http_methods(["GET", "POST"])
def consents(request):
    """The preference center's controls, recorded in the ledger as the client's own, from their account."""
    client = request.account_client
    saved, update = False, None
    if request.method == "POST":
        form = PreferencesForm(request.POST)
        if form.is_valid():
            update = preferences.update_preferences(
                client=client,
                choices=form.choices(),
                ip_address=client_ip(request) or None,
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
                source=ConsentSource.ACCOUNT,
                email_proven=False,  # a session by texted code proves the phone; the record says if the email is
            )
            saved = True
    form = PreferencesForm(initial={p.value: v for p, v in preferences.current_preferences(client).items()})
    return render(
        request,
        "accounts/consents.html",
        {
            "client": client,
            "form": form,
            "saved": saved,
            "update": update,
            "history": _labelled(selectors.consent_history(client)),
            "current": "consents",
        },
    )


def _labelled(records):
    labels = dict(ConsentPurpose.choices)
    rows = list(records)
    for record in rows:
        record.purpose_label = labels.get(record.purpose, record.purpose)
    return rows


# --- My payments --------------------------------------------------------------------------------


@signed_in
def payments(request):
    """What the payments app holds of this client (receipts grow here as they land)."""
    rows = list(selectors.payments(request.account_client))
    for payment in rows:
        payment.amount_display = format_money(payment.amount, payment.currency)
        payment.refunded_display = format_money(payment.amount_refunded, payment.currency)
    return render(request, "accounts/payments.html", {"client": request.account_client, "payments": rows})


# --- My data ------------------------------------------------------------------------------------


def _data_page(request, *, status=200, **extra):
    client = request.account_client
    context = {
        "client": client,
        "current": "data",
        "fresh": services.has_fresh_code(request.account_session),
        "code_form": CodeForm(prefix="fresh"),
        "name_form": NameForm(initial={"first_name": client.first_name, "last_name": client.last_name}),
        "email_form": NewEmailForm(),
        "email_code_form": CodeForm(prefix="new_email"),
        "phone_form": NewPhoneForm(),
        "phone_code_form": NewPhoneCodeForm(prefix="new_phone"),
        "minutes": settings.ACCOUNT_SIGN_IN_CODE_MINUTES,
        **extra,
    }
    return render(request, "accounts/data.html", context, status=status)


@signed_in
def data(request):
    return _data_page(request)


@signed_in
@require_POST
@limit("account_sign_in")
def data_code_send(request):
    sent = services.send_fresh_code(session=request.account_session)
    return _data_page(request, code_sent=sent or "none")


@signed_in
@require_POST
@limit("verification")
def data_code_confirm(request):
    form = CodeForm(request.POST, prefix="fresh")
    if form.is_valid():
        try:
            services.confirm_fresh_code(session=request.account_session, code=form.cleaned_data["code"])
        except services.SignInRefused as exc:
            return _data_page(request, status=400, code_problem=str(exc), code_sent="again")
        return redirect("account:data")
    return _data_page(request, status=400, code_form=form, code_sent="again")


@signed_in
@require_POST
def data_download(request):
    try:
        dsr, bundle = services.download_my_data(
            session=request.account_session, browser=_browser(request, _device_id(request))
        )
    except services.FreshCodeNeeded as exc:
        return _data_page(request, status=403, code_problem=str(exc))
    response = HttpResponse(bundle, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="my-data-{dsr.reference}.zip"'
    return response


@signed_in
@require_POST
def data_name(request):
    form = NameForm(request.POST)
    if form.is_valid():
        services.correct_my_name(
            client=request.account_client,
            first_name=form.cleaned_data["first_name"],
            last_name=form.cleaned_data["last_name"],
        )
        return redirect(reverse("account:data") + "?saved=name")
    return _data_page(request, status=400, name_form=form)


@signed_in
@require_POST
@limit("account_sign_in")
@limit("account_sign_in_address", key=_address_key)
def data_email(request):
    form = NewEmailForm(request.POST)
    if form.is_valid():
        services.start_email_change(client=request.account_client, new_email=form.cleaned_data["email"])
        return _data_page(request, email_code_sent=True)
    return _data_page(request, status=400, email_form=form)


@signed_in
@require_POST
@limit("verification")
def data_email_confirm(request):
    form = CodeForm(request.POST, prefix="new_email")
    if form.is_valid():
        try:
            services.confirm_email_change(client=request.account_client, code=form.cleaned_data["code"])
        except services.SignInRefused as exc:
            return _data_page(request, status=400, email_code_sent=True, email_code_problem=str(exc))
        return redirect(reverse("account:data") + "?saved=email")
    return _data_page(request, status=400, email_code_sent=True, email_code_form=form)


@signed_in
@require_POST
@limit("account_sign_in")
@limit("account_sign_in_address", key=_address_key)
def data_phone(request):
    form = NewPhoneForm(request.POST)
    if form.is_valid():
        try:
            services.start_phone_change(client=request.account_client, new_phone=str(form.cleaned_data["mobile_phone"]))
        except services.PhoneChangeRefused as exc:
            return _data_page(request, status=400, phone_form=form, phone_problem=str(exc))
        return _data_page(request, phone_code_sent=True)
    return _data_page(request, status=400, phone_form=form)


@signed_in
@require_POST
@limit("verification")
def data_phone_confirm(request):
    form = NewPhoneCodeForm(request.POST, prefix="new_phone")
    if form.is_valid():
        try:
            services.confirm_phone_change(
                client=request.account_client,
                code=form.cleaned_data["code"],
                sms_reminders=form.cleaned_data["sms_reminders"],
                sms_marketing=form.cleaned_data["sms_marketing"],
                browser=_browser(request, _device_id(request)),
            )
        except services.SignInRefused as exc:
            return _data_page(
                request, status=400, phone_code_sent=True, phone_code_problem=str(exc), phone_code_form=form
            )
        return redirect(reverse("account:data") + "?saved=phone")
    return _data_page(request, status=400, phone_code_sent=True, phone_code_form=form)


@signed_in
@require_http_methods(["GET", "POST"])
def delete_account(request):
    """What deleting the account does and keeps, then (with a fresh code) the verified erasure request."""
    session = request.account_session
    if request.method == "POST":
        try:
            dsr = services.delete_my_account(session=session)
        except services.FreshCodeNeeded as exc:
            return _data_page(request, status=403, code_problem=str(exc))
        request.session.flush()
        return render(
            request,
            "accounts/deleted.html",
            {"reference": dsr.reference, "due_at": dsr.due_at, "days": settings.PRIVACY_ERASURE_DAYS},
        )
    return render(
        request,
        "accounts/delete.html",
        {
            "client": request.account_client,
            "fresh": services.has_fresh_code(session),
            "days": settings.PRIVACY_ERASURE_DAYS,
            "payment_years": settings.PAYMENT_RECORD_RETENTION_YEARS,
            "backup_days": settings.BACKUP_RETENTION_DAYS,
        },
    )


# --- My forms ------------------------------------------------------------------------------------


def _forms_page(request, *, status=200, **extra):
    client = request.account_client
    upcoming, _ = selectors.upcoming_and_past(client)
    to_complete = [(visit, states, forms_url(visit)) for visit, states in selectors.forms_to_complete(upcoming)]
    context = {
        "client": client,
        "signed": list(selectors.signed_forms(client)),
        "to_complete": to_complete,
        "to_sign_again": health_forms_to_sign_again(client.pk),
        "health_note": "",
        **extra,
    }
    return render(request, "accounts/forms.html", context, status=status)


@signed_in
def forms(request):
    """Signed forms (each a PDF), and the upcoming visits whose forms are still to do (the visit's form link)."""
    return _forms_page(request)


@signed_in
@require_POST
@limit("appointment_change")
def forms_health_changed(request):
    """ "My health has changed since I signed": the signed history and consents are signed again before a visit."""
    note = request.POST.get("note", "")
    try:
        clinical_form_services.report_health_change(
            client_id=request.account_client.pk, via=ReportedVia.ACCOUNT, note=note
        )
    except BusinessRuleError as refusal:
        return _forms_page(request, status=400, health_error=str(refusal), health_note=note)
    return redirect(reverse("account:forms") + "?health_changed=1")


@signed_in
@require_http_methods(["GET", "HEAD"])
def form_pdf(request, submission_id):
    submission = selectors.signed_form_of(request.account_client, submission_id)
    if submission is None:
        raise Http404
    response = HttpResponse(signed_form_pdf(submission), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="signed-form-{submission.pk}.pdf"'
    return response
