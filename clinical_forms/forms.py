"""The form a client fills in, built from a published version's fields (works without JavaScript)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import FieldKind, FormVersion
from .signature import DrawingInvalid, parse_drawing

YES_NO = [("yes", _("Yes")), ("no", _("No"))]
NOT_ANSWERS = ("version_id", "signer_name", "signature_drawing")


def detail_key(key: str) -> str:
    return f"{key}__detail"


class ClinicalForm(forms.Form):
    """One field per question; a yes/no's follow-up is its own field, required only on yes."""

    version_id = forms.IntegerField(widget=forms.HiddenInput)
    signer_name = forms.CharField(
        label=_("Type your full name to sign"),
        max_length=200,
        required=False,
        help_text=_("Typing your name here is your signature."),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    # The strokes of a drawn signature, filled in by static/js/signature.js (optional: JavaScript only).
    signature_drawing = forms.CharField(required=False, strip=False, widget=forms.HiddenInput)

    def __init__(self, *args, version: FormVersion, signing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.version = version
        self.signing = signing
        self.questions = []
        for field in version.fields.all():
            if field.kind == FieldKind.CONSENT_TEXT:
                self.questions.append((field, None, None))
                continue
            required = signing and field.required and field.kind != FieldKind.OPTIONAL_CONSENT
            common = {"label": field.label, "help_text": field.help_text, "required": required}
            if field.kind == FieldKind.TEXT:
                form_field = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 3}), **common)
            elif field.kind == FieldKind.YES_NO:
                form_field = forms.ChoiceField(choices=YES_NO, widget=forms.RadioSelect, **common)
            elif field.kind == FieldKind.CHOICE:
                options = [(c, c) for c in field.choice_list]
                form_field = forms.ChoiceField(choices=options, widget=forms.RadioSelect, **common)
            elif field.kind == FieldKind.DATE:
                form_field = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
            else:  # an optional consent: a tick box of its own, never required
                common.update(label=field.text or field.label, required=False)
                form_field = forms.BooleanField(**common)
            self.fields[field.key] = form_field
            follow_up = None
            if field.kind == FieldKind.YES_NO and field.follow_up_label:
                follow_up = detail_key(field.key)
                self.fields[follow_up] = forms.CharField(
                    label=field.follow_up_label,
                    help_text=_("Only if you answered yes."),
                    required=False,
                    max_length=2000,
                    widget=forms.Textarea(attrs={"rows": 2}),
                )
            self.questions.append((field, self[field.key], self[follow_up] if follow_up else None))
        if signing:
            self.fields["signer_name"].required = True

    def clean_signature_drawing(self):
        try:
            return parse_drawing(self.cleaned_data.get("signature_drawing") or "")
        except DrawingInvalid:
            raise forms.ValidationError(
                "We could not read the signature you drew. Please draw it again, or just type your name."
            ) from None

    def clean(self):
        data = super().clean()
        if self.signing:
            for field in self.version.fields.all():
                if field.kind == FieldKind.YES_NO and field.follow_up_label and data.get(field.key) == "yes":
                    if not (data.get(detail_key(field.key)) or "").strip():
                        self.add_error(detail_key(field.key), _("Please tell us more, as you answered yes."))
        return data

    def typed_answers(self) -> dict:
        """What was typed, kept as text whether or not it is valid yet (a half-filled form keeps it)."""
        answers = {}
        for name, field in self.fields.items():
            if name in NOT_ANSWERS:
                continue
            if isinstance(field, forms.BooleanField):
                answers[name] = bool(self.data.get(name))
            else:
                value = (self.data.get(name) or "").strip()[:2000]
                if value:
                    answers[name] = value
        return answers

    def answers(self) -> dict:
        """The cleaned answers (dates as ISO text), for a form being signed."""
        answers = {}
        for name in self.fields:
            if name in NOT_ANSWERS:
                continue
            value = self.cleaned_data.get(name)
            if hasattr(value, "isoformat"):
                value = value.isoformat()
            if value not in (None, ""):
                answers[name] = value
        return answers
