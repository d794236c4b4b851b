from django import forms
from django.utils.translation import gettext_lazy as _

from .requests_models import RequestType


class PrivacyRequestForm(forms.Form):
    request_type = forms.ChoiceField(
        label=_("What would you like us to do?"), choices=RequestType.choices, widget=forms.RadioSelect
    )
    email = forms.EmailField(
        label=_("Your email address"),
        help_text=_("The one you gave us. We send a link to it to confirm it is you."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    phone = forms.CharField(
        label=_("Mobile phone (optional)"),
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    details = forms.CharField(
        label=_("Details (optional)"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("For a correction, say what is wrong. Don't include health information."),
    )


class SmsCodeForm(forms.Form):
    code = forms.RegexField(
        label=_("The 6-digit code we texted you"),
        regex=r"^\s*\d{6}\s*$",
        max_length=12,
        error_messages={"invalid": _("Enter the 6 digits from the text.")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )
