"""A motcua process for tests/config/test_replica.py: its own settings (DATABASE_URL, the
primary; DATABASE_REPLICA_URL, the replica), driven line by line on stdin, one JSON answer
per line on stdout.

Commands: ``dashboard USERNAME`` (the supervisor's dashboard, through the whole middleware
stack with Django's test client; signs in first), ``export USERNAME`` (its summary as
CSV), ``service_index USERNAME``, ``max_lag SECONDS`` (settings.DATABASE_REPLICA_MAX_LAG),
``recovery`` (each alias' server), ``cut`` (a report whose replica connection its server
ends), ``forget`` (the retry delay).
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connections
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse

    from config import replica
    from config.replica import reporting
    from security.testing import sign_in

    setup_test_environment()  # response.context, and the test client's host
    clients: dict[str, Client] = {}
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        command, _, argument = line.strip().partition(" ")
        if command == "max_lag":
            settings.DATABASE_REPLICA_MAX_LAG = float(argument)
            answer = {"max_lag": settings.DATABASE_REPLICA_MAX_LAG}
        elif command == "dashboard":
            if argument not in clients:
                clients[argument] = sign_in(
                    Client(), get_user_model().objects.get(username=argument)
                )
            response = clients[argument].get(reverse("workspace:dashboard"))
            report = response.context["report"]
            html = response.content.decode()
            answer = {
                "status": response.status_code,
                "received": response.context["summary"].counts.get("received", 0),
                "alias": report.alias,
                "fallback": report.fallback,
                "lag": report.lag,
                "note": 'data-source="replica"' in html,
            }
        elif command in ("export", "service_index"):
            client = clients[argument]
            if command == "export":
                response = client.get(
                    reverse("workspace:dashboard"), {"export": "csv", "table": "summary"}
                )
                rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
                answer = {"status": response.status_code, "received": int(rows[1][1])}
            else:
                response = client.get(reverse("workspace:service_index"))
                answer = {
                    "status": response.status_code,
                    "alias": response.context["report"].alias,
                    "note": 'data-source="replica"' in response.content.decode(),
                }
        elif command == "recovery":
            answer = {}
            for alias in ("default", "replica"):
                with connections[alias].cursor() as cursor:
                    cursor.execute("SELECT pg_is_in_recovery(), inet_server_port()")
                    answer[alias] = list(cursor.fetchone())
        elif command == "cut":
            calls = []

            @reporting()
            def report(calls=calls):
                alias = replica.current().alias
                calls.append(alias)
                with connections[alias].cursor() as cursor:
                    if alias == replica.REPLICA:
                        cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
                    cursor.execute("SELECT pg_is_in_recovery()")
                    return cursor.fetchone()[0]

            in_recovery = report()
            answer = {"first": calls[0], "then": calls[-1], "recovery": in_recovery}
        elif command == "forget":
            replica._down_until = 0.0  # the retry delay over
            with reporting() as current:
                answer = {"alias": current.alias}
        else:
            answer = {"error": f"unknown command {command!r}"}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
