"""Revoke a certificate issued by the development CA: it is listed on the CA's CRL
(/pki/ca.crl) at once, can no longer sign, and papers it signed show it as revoked."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from documents.models import RevocationReason, SignerCredential
from documents.revocation import RevocationError, certificate_revoke


class Command(BaseCommand):
    help = (
        "Revoke a certificate of the development CA: an official's active signing "
        "certificate (--user) or any certificate by its hexadecimal serial number (--serial, "
        "e.g. a seal's). The revocation is recorded and published on the CA's CRL."
    )

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--user", metavar="USERNAME", help="the user's active certificate")
        which.add_argument("--serial", metavar="HEX", help="a certificate's serial number")
        parser.add_argument(
            "--reason", choices=RevocationReason.values, default=RevocationReason.UNSPECIFIED
        )
        parser.add_argument("--note", default="", help="why, for the record")

    def handle(self, *args, user, serial, reason, note, **options):
        subject = ""
        issuer = ""
        if user:
            owner = get_user_model().objects.filter(username=user).first()
            if owner is None:
                raise CommandError(f"no user {user!r}")
            credential = SignerCredential.objects.filter(user=owner, active=True).first()
            if credential is None:
                raise CommandError(f"{user!r} has no active signing certificate")
            issuer, serial, subject = credential.issuer, credential.serial, credential.subject
        try:
            record = certificate_revoke(
                issuer=issuer, serial=serial, subject=subject, reason=reason, note=note
            )
        except RevocationError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"certificate {record.serial} ({record.subject or 'no subject recorded'}) revoked "
            f"at {record.revoked_at:%d/%m/%Y %H:%M:%S %Z}"
        )
