"""The national sign-in's login and callback views: allauth's OAuth2 views with the strict
adapter, and a server that does not answer shown as a page, never a 500."""

from __future__ import annotations

from allauth.account.internal.decorators import login_not_required
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView, OAuth2LoginView
from django.http import Http404, HttpRequest
from django.shortcuts import render
from django.utils.translation import gettext as _

from .provider import IdentityRefused, IdentityUnavailable, NationalIdentityAdapter


def failure_page(request, exception=None, *, message: str = "", status: int | None = None):
    """The page shown when the national sign-in cannot be completed."""
    if not message:
        if isinstance(exception, IdentityUnavailable):
            message = _(
                "The national identity service (VNeID) is not answering right now. Please "
                "try again in a few minutes, or sign in with your e-mail address and password."
            )
            status = status or 503
        elif isinstance(exception, IdentityRefused):
            message = _(
                "The answer from the national identity service could not be verified, so you "
                "were not signed in. Please try again; if it happens again, sign in with your "
                "e-mail address and password."
            )
            status = status or 400
        else:
            message = _(
                "Signing in with your national identity did not complete. Please try again."
            )
            status = status or 400
    return render(
        request,
        "socialaccount/authentication_error.html",
        {"message": message},
        status=status or 400,
    )


def _run(view_class, request: HttpRequest, provider_id: str):
    try:
        view = view_class.adapter_view(NationalIdentityAdapter(request, provider_id))
        return view(request)
    except SocialApp.DoesNotExist:
        raise Http404 from None
    except (IdentityUnavailable, IdentityRefused) as exc:
        # Raised while building the redirect (the discovery document): the callback's own
        # failures reach the adapter's on_authentication_error instead.
        return failure_page(request, exc)


@login_not_required
def login(request: HttpRequest, provider_id: str):
    return _run(OAuth2LoginView, request, provider_id)


@login_not_required
def callback(request: HttpRequest, provider_id: str):
    return _run(OAuth2CallbackView, request, provider_id)
