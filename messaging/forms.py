from django import forms
from django.utils.translation import gettext_lazy as _

from .preferences import CHOICES


class PreferencesForm(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for purpose, label in CHOICES.items():
            self.fields[purpose.value] = forms.BooleanField(required=False, label=label)

    def choices(self):
        return {purpose: self.cleaned_data.get(purpose.value, False) for purpose in CHOICES}


class PreferencesLinkForm(forms.Form):
    email = forms.EmailField(label=_("Your email address"), widget=forms.EmailInput(attrs={"autocomplete": "email"}))
