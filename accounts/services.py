"""Client accounts without passwords: sign in by a one-time proof, sessions, and the account's own writes.

Sign-in: a link emailed to the address on file, or a 6-digit code texted to
the phone on file (via messaging.verification_codes, the one code sender).
Short life (ACCOUNT_SIGN_IN_LINK_MINUTES / ACCOUNT_SIGN_IN_CODE_MINUTES),
MAX_CODE_TRIES wrong tries, single use, and the same answer whether or not the
address is on file: `start_*` return nothing the visitor sees.

A session lasts ACCOUNT_SESSION_HOURS at most; `end_all_sessions` signs the
client out of every browser. A sign-in from a browser this client never used
is emailed to their proven email address.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from clinic import identity
from clinic.errors import BusinessRuleError
from clinic.models import Client
from clinic.plain_text import render_plain_text
from clinic.queueing import enqueue
from messaging.preferences import CHOICES as CONSENT_WORDING
from messaging.verification_codes import send_new_number_code, send_verification_code
from privacy import rectification, subject_requests
from privacy.models import ConsentActor, ConsentPurpose, ConsentSource
from privacy.requests_models import RequestType
from privacy.services import record_consent

from . import selectors, tasks
from .models import AccountSession, ChallengePurpose, Channel, SignInChallenge
from .tokens import secret_hash

logger = logging.getLogger(__name__)

LINK_SALT = "accounts.sign-in-link"
MAX_CODE_TRIES = 5  # wrong entries before a code (or link) is dead and a new one is needed


class SignInRefused(BusinessRuleError):
    """A code or link that is wrong, used, expired or tried too often (the message says which)."""


class NoCodeSent(SignInRefused):
    """No code was texted for this ask (the number is not on file, or the worker has not sent it yet)."""


@dataclass(frozen=True)
class Browser:
    """Where a request came from: the device cookie's value, address and browser."""

    device_id: str
    ip_address: str | None = None
    user_agent: str = ""


# --- Starting a sign-in: the same answer whether or not the address is on file ------------------


def _new_challenge(
    *, client: Client, channel: str, purpose: str, secret: str, minutes: int, now: datetime, new_contact: str = ""
):
    # Only the newest link or code of a kind works: an older one still in a mailbox is dead.
    SignInChallenge.objects.filter(
        client=client, channel=channel, purpose=purpose, used_at__isnull=True, expires_at__gt=now
    ).update(expires_at=now)
    challenge = SignInChallenge.objects.create(
        client=client,
        channel=channel,
        purpose=purpose,
        secret_hash="",
        new_contact=new_contact,
        expires_at=now + timedelta(minutes=minutes),
    )
    challenge.secret_hash = secret_hash("challenge", f"{challenge.pk}:{secret}")
    challenge.save(update_fields=["secret_hash"])
    return challenge


def start_email_sign_in(*, email: str) -> None:
    """Ask for a sign-in link to this address: the request only queues the ask, whether or not it is on file.

    Looking the address up, writing the challenge and mailing happen in a worker
    (`send_sign_in_link_to_address`), so neither the answer nor its timing tells whether it is known.
    """
    address = str(email)
    transaction.on_commit(lambda: enqueue(tasks.send_sign_in_link_to_address, address))


def start_email_sign_in_now(*, email: str, now: datetime | None = None) -> bool:
    """Email a one-time sign-in link to this address if a record holds it (a worker runs this). True if sent."""
    now = now or timezone.now()
    client = selectors.account_for_email(email)
    if client is None:
        logger.info("Account sign-in link asked for an address not on file")
        return False
    nonce = secrets.token_urlsafe(24)
    with transaction.atomic():
        challenge = _new_challenge(
            client=client,
            channel=Channel.EMAIL,
            purpose=ChallengePurpose.SIGN_IN,
            secret=nonce,
            minutes=settings.ACCOUNT_SIGN_IN_LINK_MINUTES,
            now=now,
        )
    return email_sign_in_link(challenge_id=challenge.pk, nonce=nonce, now=now)


def email_sign_in_link(*, challenge_id: int, nonce: str, now: datetime | None = None) -> bool:
    """Email the link of a sign-in request that is still live (a worker runs this). True if sent."""
    now = now or timezone.now()
    challenge = (
        SignInChallenge.objects.select_related("client")
        .filter(pk=challenge_id, channel=Channel.EMAIL, purpose=ChallengePurpose.SIGN_IN, used_at__isnull=True)
        .filter(expires_at__gt=now, client__erased_at__isnull=True)
        .first()
    )
    if challenge is None or not challenge.client.email:
        return False
    token = signing.dumps({"c": challenge.pk, "n": nonce}, salt=LINK_SALT)
    url = settings.SITE_URL + reverse("account:sign_in_link", args=[token])
    send_mail(
        subject=gettext("Your sign-in link for %(clinic)s") % {"clinic": settings.CLINIC_NAME},
        message=render_plain_text(
            "accounts/email/sign_in_link.txt",
            {"url": url, "clinic_name": settings.CLINIC_NAME, "minutes": settings.ACCOUNT_SIGN_IN_LINK_MINUTES},
        ),
        from_email=None,
        recipient_list=[challenge.client.email],
    )
    return True


def _code_text(code: str, minutes: int) -> str:
    return (
        f"{settings.CLINIC_NAME}: your sign-in code is {code}. It expires in {minutes} minutes. "
        "If you did not ask for it, ignore this text."
    )


def _text_code(*, client: Client, purpose: str, now: datetime, ask_hash: str = "") -> SignInChallenge | None:
    code = f"{secrets.randbelow(10**6):06d}"
    minutes = settings.ACCOUNT_SIGN_IN_CODE_MINUTES
    with transaction.atomic():
        challenge = _new_challenge(
            client=client, channel=Channel.SMS, purpose=purpose, secret=code, minutes=minutes, now=now
        )
        if ask_hash:
            challenge.ask_hash = ask_hash
            challenge.save(update_fields=["ask_hash"])
        sent = send_verification_code(phone=str(client.mobile_phone), body=_code_text(code, minutes), client=client)
        if sent is None:  # refused (hourly cap per number, a country we do not text): no live code
            challenge.expires_at = now
            challenge.save(update_fields=["expires_at"])
            return None
    return challenge


def start_sms_sign_in(*, phone: str) -> str:
    """Ask for a sign-in code to this number; the ask's key, for the browser's session.

    The request only queues the ask, whether or not the number is on file: looking
    it up and texting happen in a worker (`text_sign_in_code`), so neither the answer
    nor its timing tells whether the number is known.
    """
    ask = secrets.token_urlsafe(24)
    transaction.on_commit(lambda: enqueue(tasks.send_sign_in_code, str(phone), ask))
    return ask


def _ask_hash(ask: str) -> str:
    return secret_hash("sign-in-ask", ask)


def text_sign_in_code(*, phone: str, ask: str, now: datetime | None = None) -> bool:
    """Text a sign-in code for this ask if a record holds the number (a worker runs this). True if sent.

    Once per ask: a retried task finds its challenge and sends nothing more.
    """
    now = now or timezone.now()
    if SignInChallenge.objects.filter(ask_hash=_ask_hash(ask)).exists():
        return False
    try:
        client = selectors.account_for_phone(phone)
    except selectors.SharedNumber as shared:
        # No code: it would not tell which of the people sharing the phone is signing in. The page reads
        # as for any code (no hint to a visitor without the phone); the phone itself is told what to do.
        _text_shared_number_notice(phone=phone, ask=ask, client=shared.oldest)
        return False
    if client is None:
        logger.info("Account sign-in code asked for a number not on file")
        return False
    return _text_code(client=client, purpose=ChallengePurpose.SIGN_IN, now=now, ask_hash=_ask_hash(ask)) is not None


def _text_shared_number_notice(*, phone: str, ask: str, client: Client) -> None:
    """Tell the phone that a code cannot sign in here (once per ask): the emailed link can."""
    from django.core.cache import cache

    from clinic.ratelimits import CACHE_UNAVAILABLE

    try:
        if not cache.add(f"account-shared-number:{_ask_hash(ask)}", 1, settings.ACCOUNT_SIGN_IN_CODE_MINUTES * 60):
            return  # a retried task: told already
    except CACHE_UNAVAILABLE:
        pass
    send_verification_code(
        phone=phone,
        body=(
            f"{settings.CLINIC_NAME}: this number is on file for more than one person, so a code cannot sign you "
            "in. Please ask for a sign-in link to your email address instead."
        ),
        client=client,
    )


# --- Proving it ------------------------------------------------------------------------------


def _spend(challenge: SignInChallenge, secret: str, now: datetime) -> str | None:
    """Count the try; the problem, or None when the secret is right (the challenge is then used up).

    The caller saves the challenge and raises only after its transaction
    commits, so a wrong try stays counted.
    """
    if challenge.used_at or now >= challenge.expires_at or challenge.attempts >= MAX_CODE_TRIES:
        return gettext("This code has expired or was entered wrongly too often. Ask for a new one.")
    challenge.attempts += 1
    if not secrets.compare_digest(challenge.secret_hash, secret_hash("challenge", f"{challenge.pk}:{secret}")):
        if challenge.attempts >= MAX_CODE_TRIES:
            return gettext("That code is not right, and it was entered wrongly too often. Ask for a new one.")
        return gettext("That code is not right. Please check the text and try again.")
    challenge.used_at = now
    return None


def _open_session(*, client: Client, channel: str, browser: Browser, now: datetime) -> str:
    raw_key = secrets.token_urlsafe(32)
    device_hash = secret_hash("device", browser.device_id)
    known_device = AccountSession.objects.filter(client=client, device_hash=device_hash).exists()
    AccountSession.objects.create(
        client=client,
        key_hash=secret_hash("session", raw_key),
        device_hash=device_hash,
        signed_in_by=channel,
        ip_address=browser.ip_address or None,
        user_agent=(browser.user_agent or "")[:300],
        expires_at=now + timedelta(hours=settings.ACCOUNT_SESSION_HOURS),
    )
    # The proof just given is of this contact point: the record's email or phone is now proven.
    if channel == Channel.EMAIL:
        identity.mark_email_verified(client_ids=[client.pk], email=client.email, now=now)
    else:
        identity.mark_phone_verified(client_ids=[client.pk], phone=client.mobile_phone, now=now)
    if not known_device:
        client_id, user_agent = client.pk, browser.user_agent
        transaction.on_commit(lambda: enqueue(tasks.send_new_device_email, client_id, user_agent, now.isoformat()))
    return raw_key


def email_new_device(*, client_id: int, user_agent: str, when: datetime) -> bool:
    """Tell the client a browser never seen before signed in: only to an email they proved."""
    client = Client.objects.filter(pk=client_id, erased_at__isnull=True).first()
    if client is None or not client.email or client.email_verified_at is None:
        return False
    send_mail(
        subject=gettext("New sign-in to your %(clinic)s account") % {"clinic": settings.CLINIC_NAME},
        message=render_plain_text(
            "accounts/email/new_device.txt",
            {
                "client": client,
                "clinic_name": settings.CLINIC_NAME,
                "when": when,
                "browser": (user_agent or "an unknown browser")[:120],
                "sign_in_url": settings.SITE_URL + reverse("account:sign_in"),
            },
        ),
        from_email=None,
        recipient_list=[client.email],
    )
    return True


def sign_in_with_code(*, ask: str, code: str, browser: Browser, now: datetime | None = None) -> str:
    """Check a texted sign-in code; the new session's key (for the browser's session) or SignInRefused.

    NoCodeSent when no code went out for this ask: the caller answers as it would for a wrong code.
    """
    now = now or timezone.now()
    with transaction.atomic():
        challenge = (
            SignInChallenge.objects.select_for_update()
            .select_related("client")
            .filter(ask_hash=_ask_hash(ask or ""), channel=Channel.SMS, purpose=ChallengePurpose.SIGN_IN)
            .exclude(ask_hash="")
            .first()
        )
        if challenge is None:
            raise NoCodeSent("No code was sent for this ask.")
        if challenge.client.erased_at:
            problem: str | None = gettext("This code has expired or was entered wrongly too often. Ask for a new one.")
        else:
            problem = _spend(challenge, (code or "").strip(), now)
            challenge.save(update_fields=["attempts", "used_at"])
            if problem is None:
                return _open_session(client=challenge.client, channel=Channel.SMS, browser=browser, now=now)
    raise SignInRefused(problem)  # outside the transaction: the counted try stays counted


def _link_data(token: str) -> tuple[int, str]:
    try:
        data = signing.loads(token, salt=LINK_SALT, max_age=settings.ACCOUNT_SIGN_IN_LINK_MINUTES * 60)
        return int(data["c"]), str(data["n"])
    except signing.SignatureExpired as exc:
        raise SignInRefused(gettext("This sign-in link has expired. Ask for a new one.")) from exc
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise SignInRefused(gettext("This sign-in link is not valid.")) from exc


def check_sign_in_link(token: str, *, now: datetime | None = None) -> None:
    """SignInRefused unless the link can still be used (the landing page, which changes nothing)."""
    now = now or timezone.now()
    challenge_id, _ = _link_data(token)
    challenge = SignInChallenge.objects.filter(
        pk=challenge_id, channel=Channel.EMAIL, purpose=ChallengePurpose.SIGN_IN
    ).first()
    if challenge is None or challenge.used_at or now >= challenge.expires_at or challenge.attempts >= MAX_CODE_TRIES:
        raise SignInRefused(gettext("This sign-in link has already been used or has expired. Ask for a new one."))


def sign_in_with_link(*, token: str, browser: Browser, now: datetime | None = None) -> str:
    """Spend an emailed sign-in link (once); the new session's key or SignInRefused."""
    now = now or timezone.now()
    challenge_id, nonce = _link_data(token)
    with transaction.atomic():
        challenge = (
            SignInChallenge.objects.select_for_update()
            .select_related("client")
            .filter(pk=challenge_id, channel=Channel.EMAIL, purpose=ChallengePurpose.SIGN_IN)
            .first()
        )
        if challenge is None or challenge.client.erased_at:
            problem: str | None = gettext("This sign-in link is not valid.")
        else:
            problem = _spend(challenge, nonce, now)
            challenge.save(update_fields=["attempts", "used_at"])
            if problem is None:
                return _open_session(client=challenge.client, channel=Channel.EMAIL, browser=browser, now=now)
    if problem and challenge is not None:
        problem = gettext("This sign-in link has already been used or has expired. Ask for a new one.")
    raise SignInRefused(problem)


# --- Ending sessions ----------------------------------------------------------------------------


def end_session(*, raw_key: str, now: datetime | None = None) -> int:
    return AccountSession.objects.filter(key_hash=secret_hash("session", raw_key), ended_at__isnull=True).update(
        ended_at=now or timezone.now()
    )


def end_all_sessions(*, client_id: int, now: datetime | None = None) -> int:
    """Sign the client out of every browser at once."""
    return AccountSession.objects.filter(client_id=client_id, ended_at__isnull=True).update(
        ended_at=now or timezone.now()
    )


def end_sessions_of_merged_record(*, duplicate_id: int, **kwargs) -> None:
    """clients_merging receiver: the duplicate's sessions end before its rows move to the kept record."""
    end_all_sessions(client_id=duplicate_id)


# --- A fresh code for a sensitive step (my data, deleting my account) ----------------------------


class FreshCodeNeeded(BusinessRuleError):
    """The step needs a code proven in the last few minutes in this session."""


def _email_code(*, client: Client, address: str, purpose: str, now: datetime, subject: str, why: str) -> None:
    code = f"{secrets.randbelow(10**6):06d}"
    minutes = settings.ACCOUNT_SIGN_IN_CODE_MINUTES
    _new_challenge(
        client=client,
        channel=Channel.EMAIL,
        purpose=purpose,
        secret=code,
        minutes=minutes,
        now=now,
        new_contact=address if purpose == ChallengePurpose.NEW_EMAIL else "",
    )
    body = render_plain_text(
        "accounts/email/code.txt",
        {"code": code, "minutes": minutes, "why": why, "clinic_name": settings.CLINIC_NAME},
    )
    transaction.on_commit(lambda: send_mail(subject=subject, message=body, from_email=None, recipient_list=[address]))


def send_fresh_code(*, session: AccountSession, now: datetime | None = None) -> str | None:
    """A fresh code to the phone on file (else the email on file). Returns "sms", "email" or None (not sent)."""
    now = now or timezone.now()
    client = session.client
    if client.mobile_phone and _text_code(client=client, purpose=ChallengePurpose.FRESH_CODE, now=now):
        return "sms"
    if client.email:
        with transaction.atomic():
            _email_code(
                client=client,
                address=client.email,
                purpose=ChallengePurpose.FRESH_CODE,
                now=now,
                subject=gettext("Your code for %(clinic)s") % {"clinic": settings.CLINIC_NAME},
                why=gettext("to confirm a step in your account (downloading your data or deleting your account)"),
            )
        return "email"
    return None


def _spend_latest(*, client: Client, purpose: str, code: str, now: datetime) -> SignInChallenge:
    """Check a code against the client's newest challenge of this purpose; SignInRefused (try counted) if wrong."""
    with transaction.atomic():
        challenge = (
            SignInChallenge.objects.select_for_update()
            .filter(client=client, purpose=purpose)
            .order_by("-created_at", "-pk")
            .first()
        )
        if challenge is None:
            problem: str | None = gettext("Ask for a code first.")
        else:
            problem = _spend(challenge, (code or "").strip(), now)
            challenge.save(update_fields=["attempts", "used_at"])
    if problem is not None or challenge is None:
        raise SignInRefused(problem)
    return challenge


def confirm_fresh_code(*, session: AccountSession, code: str, now: datetime | None = None) -> None:
    now = now or timezone.now()
    _spend_latest(client=session.client, purpose=ChallengePurpose.FRESH_CODE, code=code, now=now)
    AccountSession.objects.filter(pk=session.pk).update(fresh_code_at=now)
    session.fresh_code_at = now


def has_fresh_code(session: AccountSession, *, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    window = timedelta(minutes=settings.ACCOUNT_SIGN_IN_CODE_MINUTES)
    return session.fresh_code_at is not None and now - session.fresh_code_at <= window


def _use_fresh_code(session: AccountSession, now: datetime) -> None:
    """One sensitive step per code: spent here, under a lock (two clicks at once get one step)."""
    spent = AccountSession.objects.filter(
        pk=session.pk,
        fresh_code_at__isnull=False,
        fresh_code_at__gte=now - timedelta(minutes=settings.ACCOUNT_SIGN_IN_CODE_MINUTES),
    ).update(fresh_code_at=None)
    if not spent:
        raise FreshCodeNeeded(gettext("Enter a fresh code first: we send one to your phone or email."))
    session.fresh_code_at = None


# --- My data ------------------------------------------------------------------------------------


def download_my_data(*, session: AccountSession, browser: Browser, now: datetime | None = None):
    """The access request's bundle, at once: signed in + a fresh code counts as verified; audited."""
    now = now or timezone.now()
    with transaction.atomic():
        _use_fresh_code(session, now)
        return subject_requests.export_downloaded_from_account(
            client=session.client, ip_address=browser.ip_address or "", user_agent=browser.user_agent, now=now
        )


def delete_my_account(*, session: AccountSession, now: datetime | None = None):
    """An erasure request, verified (signed in + a fresh code): erased within PRIVACY_ERASURE_DAYS by the
    daily job, legal holds applying as to any request. The client is signed out everywhere."""
    now = now or timezone.now()
    with transaction.atomic():
        _use_fresh_code(session, now)
        dsr = subject_requests.submit_verified_request(
            request_type=RequestType.ERASURE,
            client=session.client,
            proof="signed in to the account + fresh code",
            now=now,
        )
        end_all_sessions(client_id=session.client_id, now=now)
    return dsr


ACCOUNT_ACTOR = "client (own account)"


def correct_my_name(*, client: Client, first_name: str, last_name: str) -> list[str]:
    first_name, last_name = first_name.strip(), last_name.strip()
    if not first_name or not last_name:
        raise BusinessRuleError(gettext("Enter your first and last name."))
    return rectification.correct_client(
        client_id=client.pk, changes={"first_name": first_name, "last_name": last_name}, actor_label=ACCOUNT_ACTOR
    )


def start_email_change(*, client: Client, new_email: str, now: datetime | None = None) -> None:
    """Email a code to the new address: it replaces the old one only once the code comes back."""
    now = now or timezone.now()
    with transaction.atomic():
        _email_code(
            client=client,
            address=new_email.strip().lower(),
            purpose=ChallengePurpose.NEW_EMAIL,
            now=now,
            subject=gettext("Confirm your new email address for %(clinic)s") % {"clinic": settings.CLINIC_NAME},
            why=gettext("to confirm this is your new email address"),
        )


def confirm_email_change(*, client: Client, code: str, now: datetime | None = None) -> str:
    """The code sent to the new address: the record's email becomes it, proven. Returns the new address."""
    now = now or timezone.now()
    challenge = _spend_latest(client=client, purpose=ChallengePurpose.NEW_EMAIL, code=code, now=now)
    with transaction.atomic():
        rectification.correct_client(
            client_id=client.pk, changes={"email": challenge.new_contact}, actor_label=ACCOUNT_ACTOR
        )
        identity.mark_email_verified(client_ids=[client.pk], email=challenge.new_contact, now=now)
    return challenge.new_contact


class PhoneChangeRefused(BusinessRuleError):
    """No code could be texted to the new number (the message says what the client can do)."""


NEW_NUMBER_EVIDENCE = "Asked again when the client changed their mobile number in their account"


def start_phone_change(*, client: Client, new_phone: str, now: datetime | None = None) -> None:
    """Text a code to the new number: it replaces the old one only once the code comes back."""
    now = now or timezone.now()
    new_phone = str(new_phone)
    if new_phone == str(client.mobile_phone or ""):
        raise PhoneChangeRefused(gettext("That is already your mobile number."))
    code = f"{secrets.randbelow(10**6):06d}"
    minutes = settings.ACCOUNT_SIGN_IN_CODE_MINUTES
    with transaction.atomic():
        _new_challenge(
            client=client,
            channel=Channel.SMS,
            purpose=ChallengePurpose.NEW_PHONE,
            secret=code,
            minutes=minutes,
            now=now,
            new_contact=new_phone,
        )
        body = (
            f"{settings.CLINIC_NAME}: your code to confirm this as your new mobile number is {code}. "
            f"It expires in {minutes} minutes. If you did not ask for it, ignore this text."
        )
        if send_new_number_code(phone=new_phone, body=body, client=client) is None:
            # Refused (the STOP list, the hourly cap, a country we do not text): raising undoes the challenge.
            raise PhoneChangeRefused(
                gettext(
                    "We could not text a code to that number. If it once texted STOP to us, text START from it "
                    "first; otherwise try again later or call the clinic."
                )
            )


def confirm_phone_change(
    *,
    client: Client,
    code: str,
    sms_reminders: bool,
    sms_marketing: bool,
    browser: Browser | None = None,
    now: datetime | None = None,
) -> str:
    """The code texted to the new number: it becomes the record's number, proven. Returns the new number.

    Texting choices do not move to a new number by themselves: the client says on
    the same form what may be texted to it, recorded in the ledger as theirs (the
    old choices were for the old number). Queued texts follow the correction
    (messaging re-checks these choices when each is sent).
    """
    now = now or timezone.now()
    browser = browser or Browser(device_id="")
    challenge = _spend_latest(client=client, purpose=ChallengePurpose.NEW_PHONE, code=code, now=now)
    with transaction.atomic():
        rectification.correct_client(
            client_id=client.pk, changes={"mobile_phone": challenge.new_contact}, actor_label=ACCOUNT_ACTOR
        )
        identity.mark_phone_verified(client_ids=[client.pk], phone=challenge.new_contact, now=now)
        for purpose, granted in (
            (ConsentPurpose.SMS_REMINDERS, sms_reminders),
            (ConsentPurpose.SMS_MARKETING, sms_marketing),
        ):
            record_consent(
                client=client,
                purpose=purpose,
                granted=granted,
                notice_text=CONSENT_WORDING[purpose],
                source=ConsentSource.ACCOUNT,
                actor=ConsentActor.CLIENT,
                ip_address=browser.ip_address,
                user_agent=browser.user_agent,
                evidence=NEW_NUMBER_EVIDENCE,
            )
    client.refresh_from_db()
    return challenge.new_contact


# --- Joining a record made signed out with the same proven email or phone ----------------------


def join_record(*, client: Client, other_id: int, now: datetime | None = None) -> Client:
    """Merge another record holding a contact point this client has proven into their account's record.

    Proof of control of both: the account is signed in, and the other record holds
    the email or number the account proved. The account's contact details stay; its
    own consent choices stand (a "yes" given on the other record's booking form,
    by whoever typed it, does not become the account's). BusinessRuleError if the
    record is not one of selectors.records_to_join, or the merge is refused.
    """
    now = now or timezone.now()
    with transaction.atomic():
        if not selectors.records_to_join(client).filter(pk=other_id).exists():
            raise identity.MergeRefused(gettext("This record cannot be joined to your account."))
        before = {p: _granted(client, p) for p in _JOINED_CONSENTS}
        kept = identity.merge_clients(
            keep_id=client.pk,
            duplicate_id=other_id,
            actor_label=ACCOUNT_ACTOR,
            reason="The client, signed in, joined a record holding the email or phone their account proved.",
            now=now,
        )
        for purpose, granted in before.items():
            if not granted and _granted(kept, purpose):
                record_consent(
                    client=kept,
                    purpose=purpose,
                    granted=False,
                    notice_text=CONSENT_WORDING.get(purpose, purpose),
                    source=ConsentSource.RECORD_MERGE,
                    actor=ConsentActor.CLIENT,
                    evidence="Joined from the account: the account's own choice stands.",
                )
    return kept


_JOINED_CONSENTS = (
    ConsentPurpose.SMS_REMINDERS,
    ConsentPurpose.SMS_MARKETING,
    ConsentPurpose.EMAIL_MARKETING,
    ConsentPurpose.SMS_WAITLIST,
)


def _granted(client: Client, purpose: str) -> bool:
    from privacy.selectors import current_consents

    return bool(current_consents(client_ids=[client.pk], purpose=purpose).get(client.pk))
