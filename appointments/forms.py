"""Forms for the public booking pages."""

from datetime import UTC, datetime, timedelta

import phonenumbers
from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from phonenumber_field.formfields import PhoneNumberField

from privacy.models import ConsentPurpose
from privacy.notices import booking_notices

from . import services

# Numbers that cannot take a text message.
NOT_TEXTABLE = {
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.TOLL_FREE,
    phonenumbers.PhoneNumberType.PREMIUM_RATE,
    phonenumbers.PhoneNumberType.SHARED_COST,
    phonenumbers.PhoneNumberType.PAGER,
    phonenumbers.PhoneNumberType.UAN,
    phonenumbers.PhoneNumberType.VOICEMAIL,
}


class MobilePhoneField(PhoneNumberField):
    default_error_messages = {
        "invalid": _("Enter a valid mobile number, for example (408) 555-0123."),
        "not_mobile": _(
            "That looks like a landline or service number. Please give a mobile number that can receive texts."
        ),
        "country": _(
            "We can only text mobile numbers in {countries}. Please give one of those, or call the clinic to book."
        ),
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("region", "US")
        kwargs.setdefault("widget", forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}))
        super().__init__(**kwargs)

    def clean(self, value):
        number = super().clean(value)
        if number and phonenumbers.number_type(number) in NOT_TEXTABLE:
            raise forms.ValidationError(self.error_messages["not_mobile"], code="not_mobile")
        # SMS pumping: only the countries the clinic serves (SMS_ALLOWED_COUNTRIES); the send path refuses the rest too.
        if number and phonenumbers.region_code_for_number(number) not in settings.SMS_ALLOWED_COUNTRIES:
            raise forms.ValidationError(
                self.error_messages["country"].format(countries=_country_names(settings.SMS_ALLOWED_COUNTRIES)),
                code="country",
            )
        return number


COUNTRY_NAMES = {
    "US": _("the United States"),
    "CA": _("Canada"),
    "MX": _("Mexico"),
    "GB": _("the United Kingdom"),
}


def _country_names(codes):
    names = [str(COUNTRY_NAMES.get(code, code)) for code in codes]
    if len(names) == 1:
        return names[0]
    return gettext("%(names)s and %(last)s") % {"names": ", ".join(names[:-1]), "last": names[-1]}


class SlotSearchForm(forms.Form):
    """Which day and practitioner to show times for (a GET form)."""

    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}), required=False)
    practitioner = forms.ChoiceField(required=False)

    def __init__(self, *args, practitioners, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["practitioner"].choices = [("any", _("Any practitioner"))] + [
            (str(p.pk), p.name) for p in practitioners
        ]
        self.fields["practitioner"].label = _("Practitioner")

    def practitioner_id(self):
        value = self.cleaned_data.get("practitioner") or "any"
        return None if value == "any" else int(value)


def parse_slot_start(value):
    """A slot's start from the URL (ISO 8601 with offset), or None if malformed or outside the booking horizon.

    No slot is offered outside it, and the calendar arithmetic around a start near
    year 1 or 9999 (nearby alternatives, the local day) would overflow.
    """
    try:
        start = datetime.fromisoformat(value)
        if timezone.is_naive(start):
            return None
        start = start.astimezone(UTC)
    except (TypeError, ValueError, OverflowError):
        return None
    now = timezone.now()
    if not now - timedelta(days=1) <= start <= now + timedelta(days=settings.BOOKING_HORIZON_DAYS + 1):
        return None
    return start


class ClientDetailsFields(forms.Form):
    """Who the client is, as every public form asks it: name, email, mobile and the adult attestation."""

    first_name = forms.CharField(
        label=_("First name"), max_length=100, widget=forms.TextInput(attrs={"autocomplete": "given-name"})
    )
    last_name = forms.CharField(
        label=_("Last name"), max_length=100, widget=forms.TextInput(attrs={"autocomplete": "family-name"})
    )
    email = forms.EmailField(label=_("Email"), widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    mobile_phone = MobilePhoneField(label=_("Mobile phone"))
    is_adult = forms.BooleanField(
        label=_("I am 18 or older"),
        error_messages={"required": _("Our services are only for adults: please confirm you are 18 or older.")},
    )


class BookingDetailsForm(ClientDetailsFields):
    accept_privacy_policy = forms.BooleanField(
        error_messages={"required": _("Please accept the privacy policy to book online.")},
    )
    sms_reminders = forms.BooleanField(required=False)
    sms_marketing = forms.BooleanField(required=False)
    email_marketing = forms.BooleanField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        notices = booking_notices()
        self.fields["accept_privacy_policy"].label = notices[ConsentPurpose.PRIVACY_POLICY]
        self.fields["sms_reminders"].label = notices[ConsentPurpose.SMS_REMINDERS]
        self.fields["sms_marketing"].label = notices[ConsentPurpose.SMS_MARKETING]
        self.fields["email_marketing"].label = notices[ConsentPurpose.EMAIL_MARKETING]

    def clean_first_name(self):
        return self.cleaned_data["first_name"].strip()

    def clean_last_name(self):
        return self.cleaned_data["last_name"].strip()

    def client_details(self) -> "services.ClientDetails":
        data = self.cleaned_data
        return services.ClientDetails(
            first_name=data["first_name"],
            last_name=data["last_name"],
            email=data["email"],
            mobile_phone=data["mobile_phone"],
        )

    def booking_consents(self) -> "services.BookingConsents":
        data = self.cleaned_data
        return services.BookingConsents(
            privacy_policy=data["accept_privacy_policy"],
            sms_reminders=data["sms_reminders"],
            sms_marketing=data["sms_marketing"],
            email_marketing=data["email_marketing"],
        )


class RescheduleForm(forms.Form):
    start = forms.CharField(widget=forms.HiddenInput)

    def clean_start(self):
        start = parse_slot_start(self.cleaned_data["start"])
        if start is None:
            raise forms.ValidationError(_("Please choose one of the times shown."))
        return start


def day_choices(first_day, count=7):
    return [first_day + timedelta(days=i) for i in range(count)]


class VisitSearchForm(forms.Form):
    """Which services, in which order, and from which day to show visit times (a GET form, no JavaScript needed)."""

    date = forms.DateField(label=_("Show times from"), widget=forms.DateInput(attrs={"type": "date"}), required=False)

    def __init__(self, *args, services, practitioners=(), **kwargs):
        from .visit_availability import MAX_VISIT_SERVICES

        super().__init__(*args, **kwargs)
        self.count = MAX_VISIT_SERVICES
        choices = [("", _("None"))] + [(str(s.pk), s.name) for s in services]
        people = [("", _("Any practitioner"))] + [(str(p.pk), p.name) for p in practitioners]
        order = []
        for n in range(1, MAX_VISIT_SERVICES + 1):
            self.fields[f"service_{n}"] = forms.TypedChoiceField(
                label=(
                    gettext("Service %(n)s") % {"n": n} if n <= 2 else gettext("Service %(n)s (optional)") % {"n": n}
                ),
                choices=choices,
                coerce=int,
                empty_value=None,
                required=n <= 2,
                error_messages={"required": _("Please choose at least two services for a visit.")},
            )
            self.fields[f"practitioner_{n}"] = forms.TypedChoiceField(
                label=gettext("Practitioner for service %(n)s") % {"n": n},
                choices=people,
                coerce=int,
                empty_value=None,
                required=False,
            )
            order += [f"service_{n}", f"practitioner_{n}"]
        self.order_fields([*order, "date"])

    def parts(self):
        """[(service id, practitioner id or None)] in order, skipping rows with no service."""
        data = self.cleaned_data
        return [
            (data[f"service_{n}"], data.get(f"practitioner_{n}"))
            for n in range(1, self.count + 1)
            if data.get(f"service_{n}")
        ]
