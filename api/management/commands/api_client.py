"""manage.py api_client create|rotate|revoke|list: API clients from the command line."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from procedures.models import Agency

from ...models import ApiClient, Scope
from ...services import api_client_create, api_client_revoke, api_client_rotate


class Command(BaseCommand):
    help = "Create, rotate, revoke or list integration API clients."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="a new client; prints its key once")
        create.add_argument("name")
        create.add_argument("--agency", required=True, help="agency code")
        create.add_argument(
            "--scopes",
            required=True,
            help="comma-separated: " + ", ".join(Scope.values),
        )
        create.add_argument("--rate-limit", type=int, default=None, help="requests per minute")
        create.add_argument("--contact-email", default="")
        for name in ("rotate", "revoke"):
            sub.add_parser(name).add_argument("name")
        sub.add_parser("list")

    def handle(self, *args, action, **options):
        if action == "list":
            for client in ApiClient.objects.select_related("agency"):
                state = "active" if client.is_active else "revoked"
                self.stdout.write(
                    f"{client.name}\t{client.agency.code}\t{','.join(client.scopes)}\t"
                    f"mc_{client.key_prefix}_…\t{state}\tlast used {client.last_used_at or '-'}"
                )
            return
        try:
            if action == "create":
                agency = Agency.objects.filter(code=options["agency"]).first()
                if agency is None:
                    raise CommandError(f"No agency with code {options['agency']!r}.")
                scopes = [s.strip() for s in options["scopes"].split(",") if s.strip()]
                client, key = api_client_create(
                    name=options["name"],
                    agency=agency,
                    scopes=scopes,
                    rate_limit=options["rate_limit"],
                    contact_email=options["contact_email"],
                )
            else:
                client = ApiClient.objects.filter(name=options["name"]).first()
                if client is None:
                    raise CommandError(f"No API client named {options['name']!r}.")
                if action == "revoke":
                    api_client_revoke(client=client)
                    self.stdout.write(f"Revoked {client.name}.")
                    return
                key = api_client_rotate(client=client)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stderr.write("The key is shown only now; store it in the client's secret store.")
        self.stdout.write(key)
