"""The agency's seal over the history's heads: a detached CMS signature (pyHanko), with an
RFC 3161 timestamp when ``MOTCUA_TIMESTAMP_URL`` is set.

workflows decides what a seal says and when one is made (``workflows.services.sealing``);
this module only signs and checks, with the same seal keys and trust roots as the papers.
It is installed as workflows' ``HistorySealer`` by ``DocumentsConfig.ready``.
"""

from __future__ import annotations

import asyncio
import logging

from asn1crypto import cms
from pyhanko.sign.validation.generic_cms import async_validate_detached_cms
from pyhanko_certvalidator import ValidationContext

from workflows.history import HistorySealer, SealSignature

from . import signing
from .signing import SigningError, describe, outside_event_loop, seal_backend
from .trust import trust_roots

log = logging.getLogger(__name__)


class AgencySealer(HistorySealer):
    def available(self, agency) -> bool:
        backend = seal_backend()
        available = getattr(backend, "available", None)
        return bool(available(agency)) if available else True

    def sign(self, *, agency, payload: bytes) -> SealSignature:
        signer = seal_backend().signer(agency=agency)
        stamper = signing.timestamper()  # looked up here, so a test can plug its own
        try:
            signed = outside_event_loop(
                lambda: asyncio.run(
                    signer.async_sign_general_data(
                        payload, "sha256", detached=True, timestamper=stamper
                    )
                )
            )
        except Exception as exc:  # a broken token, a timestamp server down
            log.warning("history seal for %s failed", agency.code, exc_info=True)
            raise SigningError(f"the history seal failed ({type(exc).__name__})") from exc
        return SealSignature(
            signature=signed.dump(),
            signer=describe(signer.signing_cert).subject,
            timestamped=stamper is not None,
        )

    def _expected_subject(self, agency) -> str | None:
        """The subject of the agency's seal certificate today, when it has one."""
        try:
            return describe(seal_backend().signer(agency=agency).signing_cert).subject
        except SigningError:
            return None

    def check(self, *, seal, payload: bytes) -> str | None:
        try:
            info = cms.ContentInfo.load(bytes(seal.signature))
            signed_data = info["content"]
            if info["content_type"].native != "signed_data":
                return "its signature is not a CMS signature (forged)"
            signer_infos = signed_data["signer_infos"]
            signed_data.native  # noqa: B018 - parses the whole structure: fails here if broken
        except Exception:  # asn1crypto raises many kinds on garbage
            return "its signature cannot be read (forged)"
        if len(signer_infos) != 1:
            return "its signature has no single signer (forged)"
        context = ValidationContext(
            trust_roots=trust_roots(), allow_fetching=False, moment=seal.made_at
        )
        try:
            status = outside_event_loop(
                lambda: asyncio.run(
                    async_validate_detached_cms(
                        payload, signed_data, signer_validation_context=context
                    )
                )
            )
        except Exception as exc:
            return f"its signature cannot be checked ({type(exc).__name__}: forged)"
        if not (status.intact and status.valid):
            return "its signature does not match what it lists (forged)"
        if not status.trusted:
            return "it is not signed by a trusted seal"
        subject = describe(status.signing_cert).subject
        expected = self._expected_subject(seal.agency)
        if expected is not None and subject != expected:
            return f"it is signed by {subject}, not by the agency's seal"
        if seal.timestamped:
            stamp = status.timestamp_validity
            if stamp is None or not (stamp.intact and stamp.valid and stamp.trusted):
                return "its timestamp is missing or not valid"
        return None
