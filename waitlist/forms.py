"""The public waitlist form."""

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from appointments.forms import ClientDetailsFields
from privacy.models import ConsentPurpose
from privacy.notices import waitlist_notices


class JoinWaitlistForm(ClientDetailsFields):
    field_order = ["practitioner", "earliest_date", "latest_date"]  # then the client's details, then consents

    practitioner = forms.ChoiceField(label=_("Practitioner"))
    earliest_date = forms.DateField(label=_("First day that suits"), widget=forms.DateInput(attrs={"type": "date"}))
    latest_date = forms.DateField(label=_("Last day that suits"), widget=forms.DateInput(attrs={"type": "date"}))
    accept_privacy_policy = forms.BooleanField(
        error_messages={"required": _("Please accept the privacy policy to join the waitlist.")},
    )
    sms_offers = forms.BooleanField(
        error_messages={"required": _("Waitlist offers come by text: please agree to be texted when a time opens up.")},
    )

    def __init__(self, *args, practitioners, location, **kwargs):
        super().__init__(*args, **kwargs)
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

    def practitioner_id(self):
        value = self.cleaned_data.get("practitioner") or "any"
        return None if value == "any" else int(value)
