from django import forms
from django.utils.translation import gettext_lazy as _

from appointments.forms import MobilePhoneField
from messaging.preferences import CHOICES
from privacy.models import ConsentPurpose


class EmailSignInForm(forms.Form):
    email = forms.EmailField(
        label=_("Your email address"), widget=forms.EmailInput(attrs={"autocomplete": "email"}), max_length=254
    )


class PhoneSignInForm(forms.Form):
    mobile_phone = MobilePhoneField(label=_("Your mobile phone number"))


class CodeForm(forms.Form):
    code = forms.RegexField(
        regex=r"^\s*\d{6}\s*$",
        label=_("The 6-digit code we texted you"),
        error_messages={"invalid": _("Enter the 6 digits of the code.")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": "8"}),
    )


class NameForm(forms.Form):
    first_name = forms.CharField(
        label=_("First name"), max_length=100, widget=forms.TextInput(attrs={"autocomplete": "given-name"})
    )
    last_name = forms.CharField(
        label=_("Last name"), max_length=100, widget=forms.TextInput(attrs={"autocomplete": "family-name"})
    )


class NewEmailForm(forms.Form):
    email = forms.EmailField(
        label=_("Your new email address"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )


class NewPhoneForm(forms.Form):
    mobile_phone = MobilePhoneField(label=_("Your new mobile number"))


class NewPhoneCodeForm(CodeForm):
    """The code texted to the new number, and what may be texted to it: texting choices do not move by themselves."""

    sms_reminders = forms.BooleanField(required=False, label=CHOICES[ConsentPurpose.SMS_REMINDERS])
    sms_marketing = forms.BooleanField(required=False, label=CHOICES[ConsentPurpose.SMS_MARKETING])
