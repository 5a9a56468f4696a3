"""A software security key for the test suite: an ECDSA P-256 key pair that answers
allauth's WebAuthn ceremonies as a browser with a USB key would (a "none" attestation, the
user present and verified). Built from fido2's own data types, so what the server checks
is the real format: signatures, challenges, origin and relying party id."""

from __future__ import annotations

import hashlib
import json
import os
import re

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fido2.cose import ES256
from fido2.utils import websafe_decode, websafe_encode
from fido2.webauthn import (
    AttestationObject,
    AttestedCredentialData,
    AuthenticatorData,
    CollectedClientData,
)

_JS_DATA = re.compile(r'<script id="js_data" type="application/json">(.*?)</script>', re.S)


def js_data(html: bytes | str) -> dict:
    """The JSON data block allauth's WebAuthn pages give their script."""
    if isinstance(html, bytes):
        html = html.decode()
    match = _JS_DATA.search(html)
    assert match, "no js_data block on the page"
    return json.loads(match.group(1))


def _challenge(value) -> bytes:
    return value if isinstance(value, bytes) else websafe_decode(value)


class SoftKey:
    FLAGS = AuthenticatorData.FLAG.UP | AuthenticatorData.FLAG.UV

    def __init__(self, origin: str = "http://localhost"):
        self.origin = origin
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.counter = 0

    def _auth_data(self, rp_id: str, credential_data: bytes = b"") -> AuthenticatorData:
        self.counter += 1
        flags = self.FLAGS | (AuthenticatorData.FLAG.AT if credential_data else 0)
        return AuthenticatorData.create(
            hashlib.sha256(rp_id.encode()).digest(), flags, self.counter, credential_data
        )

    def register(self, creation_options: dict) -> dict:
        """The credential (JSON form) for allauth's add-key form, from the options the
        page's data block carries."""
        options = creation_options["publicKey"]
        rp_id = options["rp"]["id"]
        client_data = CollectedClientData.create(
            "webauthn.create", _challenge(options["challenge"]), self.origin
        )
        credential_data = AttestedCredentialData.create(
            b"\0" * 16,
            self.credential_id,
            ES256.from_cryptography_key(self.private_key.public_key()),
        )
        attestation = AttestationObject.create("none", self._auth_data(rp_id, credential_data), {})
        return {
            "id": websafe_encode(self.credential_id),
            "rawId": websafe_encode(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": websafe_encode(client_data),
                "attestationObject": websafe_encode(attestation),
            },
            "clientExtensionResults": {"credProps": {"rk": False}},
        }

    def assert_(self, request_options: dict) -> dict:
        """The signed answer (JSON form) to a login's request options."""
        options = request_options["publicKey"]
        client_data = CollectedClientData.create(
            "webauthn.get", _challenge(options["challenge"]), self.origin
        )
        auth_data = self._auth_data(options["rpId"])
        signature = self.private_key.sign(
            bytes(auth_data) + client_data.hash, ec.ECDSA(hashes.SHA256())
        )
        return {
            "id": websafe_encode(self.credential_id),
            "rawId": websafe_encode(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": websafe_encode(client_data),
                "authenticatorData": websafe_encode(auth_data),
                "signature": websafe_encode(signature),
                "userHandle": None,
            },
            "clientExtensionResults": {},
        }
