"""A local certificate authority, agency seals and officials' certificates, for the demo
and the tests. Never for production: real certificates come from a licensed CA."""

from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from documents import pki
from documents.revocation import crl_url
from documents.services import credential_upload
from procedures.models import Agency, OfficerRole


class Command(BaseCommand):
    help = (
        "Create a development CA (var/pki/ca.pem, named in MOTCUA_TRUST_ROOTS), a seal for "
        "each agency (MOTCUA_SEAL_DIR) and, with --signer, an official's PKCS#12 "
        "certificate registered for that user. Certificates name the CA's revocation list "
        "(MOTCUA_CRL_URL, by default SITE_URL/pki/ca.crl; revoke with revoke_certificate)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--signer", action="append", default=[], metavar="USERNAME")
        parser.add_argument(
            "--password",
            default="motcua-demo-2026",
            help="password of the officials' PKCS#12 files (default: the demo password)",
        )
        parser.add_argument("--force", action="store_true", help="make a new CA and seals")

    def handle(self, *args, signer, password, force, **options):
        documents = settings.MOTCUA["DOCUMENTS"]
        roots = [Path(p) for p in documents["TRUST_ROOTS"]]
        if not roots:
            raise CommandError("MOTCUA_TRUST_ROOTS is empty: name where ca.pem goes.")
        directory = roots[0].parent
        seal_password = documents["SEAL_PASSWORD"].encode()
        ca = None if force else pki.load_ca(directory, seal_password)
        if ca is None:
            ca = pki.write_ca(directory, seal_password)
            self.stdout.write(f"CA written to {directory / 'ca.pem'}")
        seal_dir = Path(documents["SEAL_DIR"])
        made = 0
        for agency in Agency.objects.exclude(kind=Agency.Kind.DEPARTMENT):
            if force or not (seal_dir / f"{agency.code}.p12").is_file():
                pki.write_seal(
                    seal_dir,
                    ca,
                    code=agency.code,
                    name=agency.name,
                    password=seal_password,
                    crl_url=crl_url(),
                )
                made += 1
        self.stdout.write(f"{made} agency seal(s) written to {seal_dir}")
        users = get_user_model().objects
        for username in signer:
            user = users.filter(username=username).first()
            if user is None:
                raise CommandError(f"no user {username!r}")
            role = OfficerRole.objects.filter(user=user).select_related("agency").first()
            organisation = role.agency.name if role else "motcua"
            data = pki.signer_pkcs12(
                ca,
                name=user.get_full_name() or username,
                organisation=organisation,
                password=password.encode(),
                crl_url=crl_url(),
            )
            credential_upload(user=user, data=data, password=password)
            target = directory / "signers"
            target.mkdir(exist_ok=True)
            (target / f"{username}.p12").write_bytes(data)
            self.stdout.write(f"certificate for {username} registered ({target / username}.p12)")
