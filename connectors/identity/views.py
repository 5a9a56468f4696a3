"""The national sign-in's login and callback views: allauth's OAuth2 views with the strict
adapter, and a server that does not answer shown as a page, never a 500."""

from __future__ import annotations

from allauth.account.internal.decorators import login_not_required
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView, OAuth2LoginView
from django.http import Http404, HttpRequest

from . import adapter
from .provider import IdentityRefused, IdentityUnavailable, NationalIdentityAdapter


def _run(view_class, request: HttpRequest, provider_id: str):
    try:
        view = view_class.adapter_view(NationalIdentityAdapter(request, provider_id))
        return view(request)
    except SocialApp.DoesNotExist:
        raise Http404 from None
    except (IdentityUnavailable, IdentityRefused) as exc:
        # Raised while building the redirect (the discovery document): the callback's own
        # failures reach the adapter's on_authentication_error instead.
        return adapter.failure_page(request, exc)


@login_not_required
def login(request: HttpRequest, provider_id: str):
    return _run(OAuth2LoginView, request, provider_id)


@login_not_required
def callback(request: HttpRequest, provider_id: str):
    return _run(OAuth2CallbackView, request, provider_id)
