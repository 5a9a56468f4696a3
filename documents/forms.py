from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .models import CODE_LENGTH, normalize_code


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Verification code"),
        max_length=24,
        help_text=_("The code printed under the QR code, for example ABCDE-FGH23."),
    )

    def clean_code(self):
        code = normalize_code(self.cleaned_data["code"])
        if len(code) != CODE_LENGTH:
            raise forms.ValidationError(
                _("A verification code has %(n)s letters and digits."), params={"n": CODE_LENGTH}
            )
        return code


class CheckForm(forms.Form):
    file = forms.FileField(
        label=_("PDF file to check"),
        help_text=_("The document as you received it; it is checked and not kept."),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.MOTCUA["DOCUMENTS"]["CHECK_MAX_BYTES"]
        if upload.size > limit:
            raise forms.ValidationError(
                _("The file is larger than %(mb)s MB."), params={"mb": limit // 1_048_576}
            )
        upload.seek(0)
        if not upload.read(1024).lstrip().startswith(b"%PDF-"):
            raise forms.ValidationError(_("This file is not a PDF document."))
        upload.seek(0)
        return upload


class CertificateForm(forms.Form):
    """An official's PKCS#12 file; the password only proves it opens, and is not kept."""

    file = forms.FileField(label=_("Certificate file (.p12 or .pfx)"))
    password = forms.CharField(
        label=_("Certificate password"),
        widget=forms.PasswordInput(render_value=False),
        strip=False,
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > 64 * 1024:
            raise forms.ValidationError(_("A certificate file is at most 64 KB."))
        return upload


class SignForm(forms.Form):
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    personal = forms.BooleanField(
        label=_("Sign with my own certificate"), required=False, initial=True
    )
    password = forms.CharField(
        label=_("Certificate password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    seal = forms.BooleanField(label=_("Apply the agency's seal"), required=False, initial=True)

    def clean(self):
        data = super().clean()
        if not data.get("personal") and not data.get("seal"):
            raise forms.ValidationError(_("Choose your own signature, the agency's seal, or both."))
        if data.get("personal") and not data.get("password"):
            self.add_error("password", _("Enter the password of your signing certificate."))
        return data
