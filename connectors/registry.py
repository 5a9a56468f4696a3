"""Backends chosen in settings: one ``Registry`` per kind of connector.

    payment = Registry("payment")

    @payment.register("national")
    class NationalPaymentPlatform(PaymentProvider): ...

    provider = payment.get()    # the backend MOTCUA["CONNECTORS"]["payment"]["BACKEND"] names

A kind whose BACKEND is empty is switched off: ``get()`` returns None and the pages offer
nothing that needs it (a deployment that has not yet obtained its credentials). A test can
build its own ``Registry``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class Registry:
    def __init__(self, kind: str):
        self.kind = kind
        self._backends: dict[str, type] = {}

    def register(self, name: str):
        def wrap(cls: type) -> type:
            if name in self._backends:
                raise ImproperlyConfigured(f"{self.kind}: backend {name!r} registered twice")
            self._backends[name] = cls
            cls.backend_name = name
            return cls

        return wrap

    def names(self) -> list[str]:
        return sorted(self._backends)

    def options(self) -> dict[str, Any]:
        """This kind's settings, MOTCUA["CONNECTORS"][kind] (empty when not configured)."""
        return dict(settings.MOTCUA.get("CONNECTORS", {}).get(self.kind, {}))

    def get(self, **overrides: Any):
        """An instance of the configured backend, built with its options; None when off."""
        options = self.options() | overrides
        name = options.get("BACKEND") or ""
        if not name:
            return None
        try:
            cls = self._backends[name]
        except KeyError:
            raise ImproperlyConfigured(
                f"MOTCUA['CONNECTORS']['{self.kind}']['BACKEND'] = {name!r}: "
                f"not one of {', '.join(self.names()) or 'nothing registered'}"
            ) from None
        return cls(options)

    def enabled(self) -> bool:
        return bool(self.options().get("BACKEND"))
