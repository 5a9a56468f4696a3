"""System checks: a connector switched on must be configured whole (``manage.py check``)."""

from __future__ import annotations

from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured


@register()
def connectors_configured(app_configs, **kwargs):
    from connectors.payment.provider import payment_providers

    try:
        payment_providers.get()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id="motcua.E020", hint="README, National connections")]
    return []
