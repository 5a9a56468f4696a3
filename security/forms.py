"""The login form: a bounded login field, and no "remember me" for staff."""

from __future__ import annotations

from allauth.account.forms import LoginForm as AllauthLoginForm
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
