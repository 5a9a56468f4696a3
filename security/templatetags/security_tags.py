"""Template helpers of the security pages."""

from __future__ import annotations

import json

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def has_security_key(user) -> bool:
    """Whether ``user`` has added a security key (WebAuthn)."""
    from allauth.mfa.models import Authenticator

    if user is None or user.pk is None:
        return False
    return Authenticator.objects.filter(user_id=user.pk, type=Authenticator.Type.WEBAUTHN).exists()


@register.simple_tag
def allauth_onload(function: str, **ids) -> str:
    """The data block allauth's account/js/onload.js reads to start one of its scripts:
    ``<script data-allauth-onload="allauth..." type="application/json">{"ids": ...}``.
    A data block is never executed, so the Content-Security-Policy allows it; written by a
    tag, the templates themselves hold no <script> element but the static ones."""
    if not function.startswith("allauth."):
        raise template.TemplateSyntaxError("allauth_onload starts allauth's functions only")
    payload = (
        json.dumps({"ids": {key: str(value) for key, value in ids.items()}})
        .replace("<", "\\u003C")
        .replace(">", "\\u003E")
        .replace("&", "\\u0026")
    )
    return format_html(
        '<script data-allauth-onload="{}" type="application/json">{}</script>',
        function,
        mark_safe(payload),  # noqa: S308 - JSON with <, > and & escaped, as json_script does
    )
