"""The login form: a bounded login field, and no "remember me" for staff. allauth's
security-key forms, hardened against forged credentials."""

from __future__ import annotations

from allauth.account.forms import LoginForm as AllauthLoginForm
from allauth.mfa.webauthn import forms as webauthn_forms
from django.core.validators import MaxLengthValidator

from . import services

# The longest e-mail address (RFC 5321) is longer than any username (150).
LOGIN_MAX_LENGTH = 254


class LoginForm(AllauthLoginForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["login"]
        field.max_length = LOGIN_MAX_LENGTH
        field.validators.append(MaxLengthValidator(LOGIN_MAX_LENGTH))
        field.widget.attrs["maxlength"] = str(LOGIN_MAX_LENGTH)

    def _login_with_password(self, request, redirect_url, credentials):
        response = super()._login_with_password(request, redirect_url, credentials)
        # Staff sessions end with the browser, whatever the box said.
        if services.is_staff_member(self.user):
            request.session.set_expiry(0)
        return response


# --- Security keys (allauth's WebAuthn forms, hardened) -------------------------------------
# allauth hands the posted credential to fido2's parsers, which raise KeyError, struct.error
# and friends on a forged one (a 500): here any answer that cannot be read is a wrong
# answer. A key's name is bounded, and a failed key at login goes to the security log as a
# wrong code does.

KEY_NAME_MAX_LENGTH = 100


def _unreadable_is_wrong(check):
    from allauth.mfa.adapter import get_adapter as get_mfa_adapter
    from django.core.exceptions import ValidationError
    from django.db import DatabaseError

    try:
        return check()
    except (ValidationError, DatabaseError):
        raise
    except Exception as error:  # noqa: BLE001 - a forged credential, whatever the parser did
        services.logger.info("webauthn_unreadable %s", type(error).__name__)
        raise get_mfa_adapter().validation_error("incorrect_code") from None


def _bound_name(field) -> None:
    field.max_length = KEY_NAME_MAX_LENGTH
    field.validators.append(MaxLengthValidator(KEY_NAME_MAX_LENGTH))
    field.widget.attrs["maxlength"] = str(KEY_NAME_MAX_LENGTH)


class AddWebAuthnForm(webauthn_forms.AddWebAuthnForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _bound_name(self.fields["name"])

    def clean(self):
        return _unreadable_is_wrong(super().clean)


class EditWebAuthnForm(webauthn_forms.EditWebAuthnForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _bound_name(self.fields["name"])


class AuthenticateWebAuthnForm(webauthn_forms.AuthenticateWebAuthnForm):
    def clean_credential(self):
        from allauth.core import context
        from django.core.exceptions import ValidationError

        try:
            return _unreadable_is_wrong(super().clean_credential)
        except ValidationError:
            services.record_event(
                services.EventKind.MFA_FAILED,
                user=self.user,
                request=context.request,
                detail="webauthn",
            )
            raise


class ReauthenticateWebAuthnForm(webauthn_forms.ReauthenticateWebAuthnForm):
    clean_credential = AuthenticateWebAuthnForm.clean_credential
