"""Staff sessions and refused access.

``StaffSessionMiddleware``: an officer, supervisor or administrator must have enrolled a
second factor and used it in this session before reaching anything but the account pages
(``/accounts/``: login, logout, two-factor set-up, password reset) and the language switch;
their sessions end with the browser, after ``STAFF_IDLE_SECONDS`` without a request and
``STAFF_MAX_SECONDS`` after login. Citizens pass through untouched.

``RefusedAccessMiddleware``: every 403 response (PermissionDenied included, which Django
turns into one before it gets here) goes to the security log."""

from __future__ import annotations

from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _

from . import services
from .models import EventKind


def _exempt(path: str) -> bool:
    prefixes = ["/accounts/", "/i18n/", "/" + settings.STATIC_URL.lstrip("/")]
    return any(path.startswith(prefix) for prefix in prefixes)


def _to_login(request) -> HttpResponseRedirect:
    target = request.get_full_path() if request.method == "GET" else request.path
    return HttpResponseRedirect(f"{reverse('account_login')}?next={quote(target)}")


class StaffSessionMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and services.is_staff_member(user):
            response = self._check(request, user)
            if response is not None:
                return response
        return self.get_response(request)

    def _check(self, request, user):
        if services.staff_session_expired(request):
            services.record_event(EventKind.SESSION_EXPIRED, user=user, request=request)
            logout(request)
            messages.info(request, _("Your session has ended. Please log in again."))
            return _to_login(request)
        if _exempt(request.path):
            return None
        state = services.second_factor_state(request)
        if state == "passed":
            return None
        if state == "missing":
            messages.info(
                request,
                _(
                    "Staff accounts need a second factor. Set up an authenticator app "
                    "to continue."
                ),
            )
            return HttpResponseRedirect(reverse("mfa_activate_totp"))
        # Enrolled, but this session never showed the code: log in again, with it.
        logout(request)
        return _to_login(request)


class RefusedAccessMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 403:
            user = getattr(request, "user", None)
            services.record_event(
                EventKind.ACCESS_DENIED,
                user=user if user is not None and user.is_authenticated else None,
                request=request,
            )
        return response
