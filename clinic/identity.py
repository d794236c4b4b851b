"""Who a client record belongs to: the one home for client identity and verified contact points.

What someone types into a public form proves nothing: anyone can type a
stranger's email or phone. So

- a booking picks its record in one place, `client_for_booking`: the signed-in
  client's own record (they proved control of its email or phone), else a NEW
  record holding exactly what was typed (`new_client_from_booking`); it never
  reads, fills in or changes an older one;
- a contact point counts as the person's only once they proved control of it
  (`email_verified_at`: a link to the address; `phone_verified_at`: a code to
  the number), set here by `mark_email_verified` / `mark_phone_verified`;
- two records become one only by `merge_clients`: after the person proves control
  of the email on file (the "keep my visits together" link, `claim_visits`), or
  by staff in the admin, who see `possible_duplicates`.

Privacy audits merges through the `clients_merged` signal (clinic never imports privacy).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core import signing
from django.db import IntegrityError, models, transaction
from django.db.models.functions import Lower
from django.dispatch import Signal
from django.utils import timezone

from .errors import BusinessRuleError
from .hashing import contact_hash, normalise_email
from .languages import current_language
from .models import Client

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.db.models import QuerySet
    from django.http import HttpRequest
    from phonenumber_field.phonenumber import PhoneNumber

    from .models import Location

CLAIM_SALT = "clinic.identity.claim"
CLAIM_LINK_MAX_AGE_DAYS = 30

# Sent inside the merge's transaction, after every row has moved and before the
# duplicate is deleted. kwargs: keep_id, duplicate_id, staff_user, actor_label,
# reason, moved ({"app_label.Model": rows}).
clients_merged = Signal()
# Sent inside the merge's transaction before anything moves (both records locked).
# kwargs: keep_id, duplicate_id, staff_user, actor_label. A receiver may raise
# MergeRefused to stop the merge, or write to the kept record first.
clients_merging = Signal()


class MergeRefused(BusinessRuleError):
    """The two records cannot be merged (the message says why)."""


class ClaimInvalid(BusinessRuleError):
    """A "keep my visits together" link that is tampered, expired, used, or no longer applies."""


# --- The client signed in to their account in this browser ------------------------

_account_resolver: Callable[[HttpRequest], Client | None] | None = None


def register_account_resolver(func: Callable[[HttpRequest], Client | None]) -> None:
    """The accounts app says how to find a request's signed-in client (clinic does not import it)."""
    global _account_resolver
    _account_resolver = func


def signed_in_client(request: HttpRequest) -> Client | None:
    """The client who proved control of their email or phone and is signed in in this browser, or None.

    A booking made while signed in goes on this record without further check.
    """
    return _account_resolver(request) if _account_resolver is not None else None


# --- Creating and verifying --------------------------------------------------


def new_client_from_booking(
    *,
    first_name: str,
    last_name: str,
    email: str,
    mobile_phone: PhoneNumber | str | None,
    location: Location | None,
    date_of_birth: date | None = None,
    adult_attested_at: datetime | None = None,
    language: str | None = None,
) -> Client:
    """A new record holding exactly what an unauthenticated form was given.

    Never a look-up: matching by a typed email or phone would let anyone
    read or change a stranger's record (see the module docstring).
    adult_attested_at: when the form's "I am 18 or older" was ticked (one insert, no update after).
    language: the one the form was shown in (default: the active language); texts and emails use it.
    """
    return Client.objects.create(
        language=language or current_language(),
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        email=(email or "").strip().lower(),
        mobile_phone=mobile_phone or "",
        date_of_birth=date_of_birth,
        preferred_location=location,
        adult_attested_at=adult_attested_at,
    )


def client_for_booking(
    *,
    signed_in: Client | None,
    first_name: str,
    last_name: str,
    email: str,
    mobile_phone: PhoneNumber | str | None,
    location: Location | None,
    date_of_birth: date | None = None,
    adult_attested_at: datetime | None = None,
) -> tuple[Client, bool]:
    """The record a booking goes on, and whether it was created for it: every booking path asks here.

    `signed_in` is `signed_in_client(request)`: that person proved control of the
    record's email or phone, so the booking is theirs without further check, and
    what they typed is not copied onto it (their account corrects details, verified).
    Signed out, a new record holding what was typed: never a look-up by email or phone.
    """
    if signed_in is not None and signed_in.erased_at is None:
        remember_language(signed_in)
        return signed_in, False
    client = new_client_from_booking(
        first_name=first_name,
        last_name=last_name,
        email=email,
        mobile_phone=mobile_phone,
        location=location,
        date_of_birth=date_of_birth,
        adult_attested_at=adult_attested_at,
    )
    return client, True


def remember_language(client: Client, language: str | None = None) -> None:
    """The client booked (or joined the waitlist) in this language: write to them in it from now on."""
    language = language or current_language()
    if client.language != language:
        client.language = language
        client.save(update_fields=["language", "updated_at"])


def mark_email_verified(*, client_ids: Iterable[int], email: str, now: datetime | None = None) -> int:
    """The person proved control of `email`: stamp the records (of `client_ids`) that hold it."""
    email = normalise_email(email)
    if not email:
        return 0
    return Client.objects.filter(pk__in=client_ids, email=email).update(
        email_verified_at=now or timezone.now(), updated_at=timezone.now()
    )


def mark_phone_verified(
    *, client_ids: Iterable[int], phone: PhoneNumber | str | None, now: datetime | None = None
) -> int:
    """The person proved control of `phone` (a code texted to it): stamp the records that hold it."""
    if not phone:
        return 0
    return Client.objects.filter(pk__in=client_ids, mobile_phone=str(phone)).update(
        phone_verified_at=now or timezone.now(), updated_at=timezone.now()
    )


def clients_with_email(email: str) -> QuerySet[Client]:
    """Every live record holding this email (any case): the person who controls the address owns them all."""
    email = normalise_email(email)
    if not email:
        return Client.objects.none()
    return Client.objects.annotate(_email_ci=Lower("email")).filter(_email_ci=email, erased_at__isnull=True)


def phone_on_file(clients: Iterable[Client]) -> Client | None:
    """Of records sharing a proven email, the one whose phone a proof code should go to.

    A phone already proven wins; else the oldest record's (the newest may be a
    booking anyone made with this address). None when no record has a phone.
    """
    with_phone = [c for c in clients if c.mobile_phone]
    with_phone.sort(key=lambda c: (c.phone_verified_at is None, c.pk))
    return with_phone[0] if with_phone else None


def possible_duplicates(client: Client) -> QuerySet[Client]:
    """Other live records with the same email (any case) or the same mobile phone, oldest first."""
    match = models.Q(pk__in=[])
    if client.email:
        match |= models.Q(_email_ci=client.email.lower())
    if client.mobile_phone:
        match |= models.Q(mobile_phone=client.mobile_phone)
    return (
        Client.objects.annotate(_email_ci=Lower("email"))
        .filter(match, erased_at__isnull=True)
        .exclude(pk=client.pk)
        .order_by("created_at", "pk")
    )


# --- Proof of control, then match ---------------------------------------------


def _phone_fits(client: Client, older: Client) -> bool:
    """Whether the older record's phone may take this record's reminders after a merge.

    The claim proves the email only. An older record's phone that differs and
    was never proven may be anyone's (it may itself be a stranger's booking
    with this email), so such a pair is left to the front desk.
    """
    return not older.mobile_phone or older.mobile_phone == client.mobile_phone or older.phone_verified_at is not None


def older_record_for_claim(client: Client) -> Client | None:
    """The oldest other live record with this record's email on file that it may join by the emailed link, if any."""
    if not client.email:
        return None
    candidates = clients_with_email(client.email).exclude(pk=client.pk).filter(pk__lt=client.pk).order_by("pk")
    return next((older for older in candidates if _phone_fits(client, older)), None)


def claim_token(client: Client) -> str | None:
    """A signed link token offering to merge `client` into the older record with its email; None if there is none.

    Only ever emailed to that address: following it proves control of the
    email on file of the older record.
    """
    older = older_record_for_claim(client)
    if older is None:
        return None
    return signing.dumps({"n": client.pk, "o": older.pk, "e": contact_hash(client.email)}, salt=CLAIM_SALT)


def _claim_pair(token: str) -> tuple[int, int, str]:
    try:
        data = signing.loads(token, salt=CLAIM_SALT, max_age=CLAIM_LINK_MAX_AGE_DAYS * 86400)
        new_id, older_id, email_hash = int(data["n"]), int(data["o"]), str(data["e"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise ClaimInvalid("This link is not valid or has expired.") from exc
    return new_id, older_id, email_hash


def check_claim(token: str) -> None:
    """Raise ClaimInvalid unless the link can still be used (for the landing page, which shows nothing else)."""
    new_id, older_id, email_hash = _claim_pair(token)
    _claimable(Client.objects.filter(pk__in=[new_id, older_id]), new_id, older_id, email_hash)


def _claimable(queryset: QuerySet[Client], new_id: int, older_id: int, email_hash: str) -> tuple[Client, Client]:
    records = {c.pk: c for c in queryset}
    new, older = records.get(new_id), records.get(older_id)
    # Single use: a merged record is gone. And the address must still be the one the link was sent to.
    if new is None or older is None or new.erased_at or older.erased_at:
        raise ClaimInvalid("This link has already been used or no longer applies.")
    if not new.email or new.email != older.email.lower() or contact_hash(new.email) != email_hash:
        raise ClaimInvalid("This link has already been used or no longer applies.")
    if not _phone_fits(new, older):
        raise ClaimInvalid("This link no longer applies. Please call the clinic to keep your visits together.")
    return new, older


def claim_visits(*, token: str, now: datetime | None = None) -> Client:
    """The person followed the emailed link and confirmed: merge the new record into the older one."""
    now = now or timezone.now()
    new_id, older_id, email_hash = _claim_pair(token)
    with transaction.atomic():
        new, older = _claimable(
            Client.objects.select_for_update().filter(pk__in=[new_id, older_id]).order_by("pk"),
            new_id,
            older_id,
            email_hash,
        )
        kept = merge_clients(
            keep_id=older.pk,
            duplicate_id=new.pk,
            actor_label="client (emailed link to the address on file)",
            reason="The client confirmed by the link sent to the email on file that this booking was theirs.",
        )
        mark_email_verified(client_ids=[kept.pk], email=kept.email, now=now)
        kept.refresh_from_db()
        return kept


# --- Merging -------------------------------------------------------------------


@dataclass
class _Moved:
    rows: dict[str, int] = field(default_factory=dict)

    def add(self, model: type[models.Model], count: int) -> None:
        if count:
            key = model._meta.label
            self.rows[key] = self.rows.get(key, 0) + count


def _move_foreign_keys(
    model: type[models.Model], field_name: str, keep: Client, duplicate: Client, moved: _Moved
) -> None:
    """Re-point `model.field_name` from the duplicate to the kept record.

    A model may refuse plain updates (the append-only consent ledger): its
    queryset then offers `reassign_client(to)`, its one sanctioned way in.
    A row that would break a unique constraint (the kept record already has
    the same one, e.g. the same policy notice) is dropped: the fact stays.
    """
    rows = model._default_manager.filter(**{field_name: duplicate})

    def repoint(queryset: QuerySet[Any]) -> int:
        reassign = getattr(queryset, "reassign_client", None)
        if reassign is not None:
            return reassign(keep)
        return queryset.update(**{field_name: keep})

    try:
        with transaction.atomic():
            moved.add(model, repoint(rows))
        return
    except IntegrityError:
        pass
    for pk in list(rows.values_list("pk", flat=True)):
        one = model._default_manager.filter(pk=pk)
        try:
            with transaction.atomic():
                moved.add(model, repoint(one))
        except IntegrityError:
            one.delete()


def _move_many_to_many(relation: Any, keep: Client, duplicate: Client, moved: _Moved) -> None:
    through = relation.field.remote_field.through
    source, target = relation.field.m2m_field_name(), relation.field.m2m_reverse_field_name()
    already = set(through.objects.filter(**{target: keep}).values_list(f"{source}_id", flat=True))
    links = through.objects.filter(**{target: duplicate})
    links.filter(**{f"{source}_id__in": already}).delete()
    moved.add(relation.related_model, links.update(**{target: keep}))


def _merge_note(keep: Client, duplicate: Client, reason: str, now: datetime) -> str:
    differing = []
    if duplicate.email and duplicate.email != keep.email:
        differing.append(f"email {duplicate.email}")
    if duplicate.mobile_phone and duplicate.mobile_phone != keep.mobile_phone:
        differing.append(f"mobile phone {duplicate.mobile_phone}")
    if duplicate.full_name != keep.full_name:
        differing.append(f"name {duplicate.full_name}")
    line = f"{now:%Y-%m-%d}: merged record #{duplicate.pk} into this one ({reason})."
    if differing:
        line += " It had " + ", ".join(differing) + " (not copied: confirm with the client before using)."
    return line


def merge_clients(
    *,
    keep_id: int,
    duplicate_id: int,
    reason: str,
    staff_user: User | None = None,
    actor_label: str = "",
    now: datetime | None = None,
) -> Client:
    """Move everything of the duplicate onto the kept record, then delete the duplicate. Returns the kept record.

    Every row pointing at the duplicate moves, found from Client's relations
    (so a new app's table is covered without a change here). The kept record's
    contact details stay; the duplicate's differing ones go into its front desk
    notes. A merged record is deleted, so there are no chains to follow: a link
    or a second merge naming it finds nothing and is refused.
    """
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise MergeRefused("Say why these records are the same person.")
    if keep_id == duplicate_id:
        raise MergeRefused("A record cannot be merged into itself.")
    with transaction.atomic():
        records = {
            c.pk: c for c in Client.objects.select_for_update().filter(pk__in=[keep_id, duplicate_id]).order_by("pk")
        }
        keep, duplicate = records.get(keep_id), records.get(duplicate_id)
        if keep is None or duplicate is None:
            raise MergeRefused("One of the records no longer exists (already merged?).")
        if keep.erased_at or duplicate.erased_at:
            raise MergeRefused("An erased record cannot be merged.")
        clients_merging.send(
            sender=Client, keep_id=keep.pk, duplicate_id=duplicate.pk, staff_user=staff_user, actor_label=actor_label
        )

        moved = _Moved()
        relation: Any  # Django's _meta types reverse relations loosely (a model or a string, a field or a rel)
        for relation in Client._meta.get_fields(include_hidden=True):
            if not relation.auto_created or relation.concrete:
                continue
            if relation.many_to_many:
                _move_many_to_many(relation, keep, duplicate, moved)
            elif relation.one_to_many or relation.one_to_one:
                if (
                    relation.one_to_one
                    and relation.related_model._default_manager.filter(**{relation.field.name: keep}).exists()
                ):
                    raise MergeRefused(f"Both records have a {relation.related_model._meta.verbose_name}.")
                _move_foreign_keys(relation.related_model, relation.field.name, keep, duplicate, moved)
        # The admin's change history of the duplicate now belongs to the kept record.
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(Client), object_id=str(duplicate.pk)
        ).update(object_id=str(keep.pk))

        # Protective choices carry over; contact details and proofs stay the kept record's.
        changed = ["notes", "updated_at"]
        keep.notes = "\n".join(n for n in (keep.notes, duplicate.notes, _merge_note(keep, duplicate, reason, now)) if n)
        if duplicate.processing_restricted and not keep.processing_restricted:
            keep.processing_restricted = True
            changed.append("processing_restricted")
        if duplicate.adult_attested_at and (
            keep.adult_attested_at is None or duplicate.adult_attested_at > keep.adult_attested_at
        ):
            keep.adult_attested_at = duplicate.adult_attested_at
            changed.append("adult_attested_at")
        if keep.preferred_location_id is None and duplicate.preferred_location_id:
            keep.preferred_location_id = duplicate.preferred_location_id
            changed.append("preferred_location")
        if duplicate.email_verified_at and duplicate.email == keep.email and keep.email_verified_at is None:
            keep.email_verified_at = duplicate.email_verified_at
            changed.append("email_verified_at")
        if (
            duplicate.phone_verified_at
            and duplicate.mobile_phone == keep.mobile_phone
            and keep.phone_verified_at is None
        ):
            keep.phone_verified_at = duplicate.phone_verified_at
            changed.append("phone_verified_at")
        keep.save(update_fields=changed)

        clients_merged.send(
            sender=Client,
            keep_id=keep.pk,
            duplicate_id=duplicate.pk,
            staff_user=staff_user,
            actor_label=actor_label,
            reason=reason,
            moved=dict(moved.rows),
        )
        Client.objects.filter(pk=duplicate.pk).delete()
        return keep
