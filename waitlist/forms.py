"""The public waitlist form."""

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from appointments.forms import ClientDetailsFields
from appointments.visit_availability import MAX_VISIT_SERVICES
from privacy.models import ConsentPurpose
from privacy.notices import waitlist_notices


class JoinWaitlistForm(ClientDetailsFields):
    # The whole visit's later services first (optional), then who and when; then the client's details, consents.
    field_order = ["then_2", "then_3", "then_4", "practitioner", "earliest_date", "latest_date"]

    practitioner = forms.ChoiceField(label=_("Practitioner"))
    earliest_date = forms.DateField(label=_("First day that suits"), widget=forms.DateInput(attrs={"type": "date"}))
    latest_date = forms.DateField(label=_("Last day that suits"), widget=forms.DateInput(attrs={"type": "date"}))
    accept_privacy_policy = forms.BooleanField(
        error_messages={"required": _("Please accept the privacy policy to join the waitlist.")},
    )
    sms_offers = forms.BooleanField(
        error_messages={"required": _("Waitlist offers come by text: please agree to be texted when a time opens up.")},
    )

    def __init__(self, *args, practitioners, location, service, later_services=(), **kwargs):
        super().__init__(*args, **kwargs)
        # A whole visit: the services after this one, in order (none: this service alone).
        later = [("", _("Nothing more"))] + [(str(s.pk), s.name) for s in later_services]
        self.later_services = {str(s.pk): s for s in later_services}
        for n in range(2, MAX_VISIT_SERVICES + 1):
            self.fields[f"then_{n}"] = forms.ChoiceField(
                label=(
                    _("Then, in the same visit after %(service)s (optional)") % {"service": service.name}
                    if n == 2
                    else _("And then (optional)")
                ),
                choices=later,
                required=False,
            )
        self.order_fields(self.field_order)
        notices = waitlist_notices()
        self.fields["practitioner"].choices = [("any", _("Any practitioner"))] + [
            (str(p.pk), p.name) for p in practitioners
        ]
        self.fields["accept_privacy_policy"].label = notices[ConsentPurpose.PRIVACY_POLICY]
        self.fields["sms_offers"].label = notices[ConsentPurpose.SMS_WAITLIST]
        today = timezone.now().astimezone(location.tzinfo).date()
        self.fields["earliest_date"].initial = today
        self.fields["latest_date"].initial = today + timezone.timedelta(days=14)
        self.today = today

    def clean_first_name(self):
        return self.cleaned_data["first_name"].strip()

    def clean_last_name(self):
        return self.cleaned_data["last_name"].strip()

    def clean(self):
        data = super().clean()
        first, last = data.get("earliest_date"), data.get("latest_date")
        if first and last:
            if first > last:
                self.add_error("latest_date", gettext("The last day must not come before the first day."))
            elif first < self.today:
                self.add_error("earliest_date", gettext("Choose a day from today on."))
            elif last > self.today + timezone.timedelta(days=settings.BOOKING_HORIZON_DAYS):
                self.add_error(
                    "latest_date",
                    gettext("Choose a day at most %(days)s days ahead.") % {"days": settings.BOOKING_HORIZON_DAYS},
                )
        return data

    def more_services(self):
        """The whole visit's later services, in order, skipping "Nothing more"."""
        picked = [self.cleaned_data.get(f"then_{n}") for n in range(2, MAX_VISIT_SERVICES + 1)]
        return [self.later_services[pk] for pk in picked if pk]

    def practitioner_id(self):
        value = self.cleaned_data.get("practitioner") or "any"
        return None if value == "any" else int(value)
