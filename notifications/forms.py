from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Preference
from .phones import normalise_mobile


class PreferenceForm(forms.ModelForm):
    class Meta:
        model = Preference
        fields = ["language", "email", "sms", "phone"]
        help_texts = {
            "phone": _(
                "A Vietnamese mobile number, e.g. 0912 345 678 or +84 912 345 678. Needed to "
                "receive SMS."
            )
        }
        widgets = {"phone": forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"})}

    def clean_phone(self) -> str:
        phone = self.cleaned_data.get("phone", "").strip()
        return normalise_mobile(phone) if phone else ""

    def clean(self):
        cleaned = super().clean()
        # Choosing SMS with nowhere to send it would be a silent no: say so instead.
        if cleaned.get("sms") and not cleaned.get("phone") and "phone" not in self.errors:
            self.add_error(
                "phone",
                forms.ValidationError(
                    _("To receive SMS, enter your mobile number (or untick “by SMS”)."),
                    code="sms_needs_phone",
                ),
            )
        return cleaned
