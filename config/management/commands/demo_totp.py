from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from security import totp


class Command(BaseCommand):
    help = "Print a demo account's current two-factor code (DEBUG only: demo data)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        if not settings.DEBUG:
            raise CommandError("demo_totp prints login codes; it runs only with DEBUG=1.")
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no account named {username!r}")
        secret = totp.secret_of(user)
        if secret != totp.DEMO_TOTP_SECRET:
            raise CommandError(
                f"{username!r} has no demo authenticator (seed_demo gives one to each demo "
                "staff account); codes of real authenticators are never printed."
            )
        self.stdout.write(totp.code(secret))
