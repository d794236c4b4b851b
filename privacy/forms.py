from django import forms

from .requests_models import RequestType


class PrivacyRequestForm(forms.Form):
    request_type = forms.ChoiceField(
        label="What would you like us to do?", choices=RequestType.choices, widget=forms.RadioSelect
    )
    email = forms.EmailField(
        label="Your email address",
        help_text="The one you gave us. We send a link to it to confirm it is you.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    phone = forms.CharField(
        label="Mobile phone (optional)",
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    details = forms.CharField(
        label="Details (optional)",
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="For a correction, say what is wrong. Don't include health information.",
    )


class SmsCodeForm(forms.Form):
    code = forms.RegexField(
        label="The 6-digit code we texted you",
        regex=r"^\s*\d{6}\s*$",
        max_length=12,
        error_messages={"invalid": "Enter the 6 digits from the text."},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )
