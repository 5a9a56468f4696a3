"""The admin has no login page of its own: it sends people to the account login, which
is throttled, counts failures per account and asks staff for their second factor."""

from __future__ import annotations

from urllib.parse import quote

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme


def admin_login(request, extra_context=None):
    if request.user.is_authenticated:
        if admin.site.has_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        # Logged in, but not an administrator: sending them to the login page again would
        # loop (it returns the logged-in user to where they came from).
        raise PermissionDenied
    target = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("admin:index")
    return HttpResponseRedirect(f"{reverse('account_login')}?next={quote(target)}")
