"""The signer's CMS container is pyHanko's own, byte for byte, though its pieces are
handed over re-read from their DER (documents.signing.KeyHoldingSigner)."""

from __future__ import annotations

import asyncio
import hashlib

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.sign import signers

from documents import pki
from documents.signing import open_pkcs12, outside_event_loop, signature_room

PASSWORD = "bench-signer"  # noqa: S105 - a throw-away key made for the test


def _containers():
    ca = pki.make_ca()
    data = pki.signer_pkcs12(ca, name="Lù Văn Páo", organisation="Ban", password=PASSWORD.encode())
    ours = open_pkcs12(data, PASSWORD, checked=True)
    key, _certificate, _chain = pkcs12.load_key_and_certificates(data, PASSWORD.encode())
    theirs = signers.SimpleSigner(
        signing_key=ours.signing_key,
        signing_cert=ours.signing_cert,
        cert_registry=ours.cert_registry,
        prefer_pss=True,
    )
    digest = hashlib.sha256(b"the signed byte ranges").digest()

    async def sign(signer):
        return await signer.async_sign(digest, "sha256", use_pades=True)

    # As sign_pdf does: other tests may leave an event loop running in this thread.
    def run(signer):
        return outside_event_loop(lambda: asyncio.run(sign(signer)))

    return ours, run(ours), run(theirs), key


def test_the_container_is_pyhankos_but_for_the_randomised_signature():
    ours, mine, reference, key = _containers()
    mine_info = mine["content"]["signer_infos"][0]
    reference_info = reference["content"]["signer_infos"][0]
    assert mine_info["signed_attrs"].dump() == reference_info["signed_attrs"].dump()
    for name in ("version", "sid", "digest_algorithm", "signature_algorithm"):
        assert mine_info[name].dump() == reference_info[name].dump(), name
    assert sorted(c.dump() for c in mine["content"]["certificates"]) == sorted(
        c.dump() for c in reference["content"]["certificates"]
    )
    # RSASSA-PSS over the signed attributes as a DER SET (implicitly tagged [0] in place).
    signed = b"\x31" + mine_info["signed_attrs"].dump()[1:]
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
    key.public_key().verify(mine_info["signature"].native, signed, pss, hashes.SHA256())
    assert len(mine.dump()) * 2 <= signature_room(ours)
