"""Read paths at scale: server time (p50/p95) and SQL queries per page, through Django's
test client, on the generated data sets (bench/generate.py) of each size asked for.

Pages: an officer's queue (the officer with the most tasks offered), an inbox (the officer
holding the most tasks), an officer's dossier page (H22), a citizen's "my
dossiers", the public status lookup (a POST, with the rate limit's own cache work; each
request from its own address), and the supervisor dashboard for one province (H22) over
one year. The dossier pages and lookups pick a different dossier on each request.
"""

from __future__ import annotations

import random
import time

from .common import Row, counting_queries, percentile, use_database

TARGETS = {
    "queue": 0.050,
    "inbox": 0.050,
    "dashboard": 0.300,
}


def _pages(rng: random.Random):
    """(name, user or None, callable(client) -> response) for each read path."""
    from django.contrib.auth import get_user_model

    from procedures.models import Agency
    from workflows.clock import working_calendar
    from workflows.models import Dossier

    User = get_user_model()
    province = Agency.objects.get(code="H22")
    dossiers = list(
        Dossier.objects.filter(handling_agency=province)
        .exclude(status="draft")
        .values_list("pk", flat=True)[:5000]
    )
    lookups = list(
        Dossier.objects.exclude(code=None).order_by("?").values_list("code", "lookup_secret")[:2000]
    )
    citizen_ids = list(
        Dossier.objects.filter(applicant_user__isnull=False)
        .order_by("?")
        .values_list("applicant_user_id", flat=True)[:500]
    )
    today = working_calendar().today()
    year = {
        "start": (today.replace(day=1) - __import__("datetime").timedelta(days=335))
        .replace(day=1)
        .isoformat(),
        "end": today.isoformat(),
    }

    def officer(role):
        return User.objects.get(username=f"bench-h22-{role}")

    from django.db.models import Count

    from workflows.models import DossierTask

    # The fullest lists of the data set, so that every size renders rows (a small data set
    # has few open tasks per agency): the officer with the most tasks offered, and the one
    # holding the most.
    busiest = (
        DossierTask.objects.filter(task_status="NEW")
        .values("agency__code", "role")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .first()
    )
    desk = User.objects.get(username=f"bench-{busiest['agency__code'].lower()}-{busiest['role']}")
    holder = (
        DossierTask.objects.filter(task_status="ASSIGNED")
        .values("owner")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .first()
    )
    specialist = User.objects.get(pk=holder["owner"])

    def lookup(client):
        code, secret = rng.choice(lookups)
        address = f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        return client.post("/lookup/", {"code": code, "secret": secret}, REMOTE_ADDR=address)

    return [
        ("queue", desk, lambda c: c.get("/workspace/queue/")),
        ("inbox", specialist, lambda c: c.get("/workspace/inbox/")),
        (
            "dossier page",
            officer("head"),
            lambda c: c.get(f"/workspace/dossiers/{rng.choice(dossiers)}/"),
        ),
        (
            "my dossiers",
            "citizen",
            lambda c: c.get("/me/dossiers/"),
        ),
        ("public lookup", None, lookup),
        (
            "dashboard (province, 1 year)",
            User.objects.get(username="bench-supervisor-h22"),
            lambda c: c.get("/workspace/dashboard/", year),
        ),
    ], citizen_ids


def measure(requests: int, seed: int = 8) -> dict[str, dict]:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from security.testing import sign_in

    rng = random.Random(seed)
    pages, citizen_ids = _pages(rng)
    citizens = list(get_user_model().objects.filter(pk__in=citizen_ids))
    results = {}
    for name, user, request in pages:
        times, queries, statuses = [], [], set()
        clients = []
        if user == "citizen":
            for person in citizens[:20]:
                client = Client()
                sign_in(client, person)
                clients.append(client)
        else:
            client = Client()
            if user is not None:
                sign_in(client, user)
            clients.append(client)
        for i in range(requests + 5):
            client = clients[i % len(clients)]
            with counting_queries() as counter:
                started = time.perf_counter()
                response = request(client)
                elapsed = time.perf_counter() - started
            statuses.add(response.status_code)
            if i >= 5:  # warm-up
                times.append(elapsed)
                queries.append(counter.count)
        results[name] = {
            "p50": percentile(times, 0.5),
            "p95": percentile(times, 0.95),
            "queries": max(queries),
            "queries_min": min(queries),
            "statuses": sorted(statuses),
        }
    return results


def run(opts) -> list[Row]:
    from django.db import connections

    from . import generate

    rows: list[Row] = []
    by_size = {}
    sizes = sorted(opts.sizes, key=lambda s: generate.SIZES[s])
    for size in sizes:
        use_database(f"{opts.database}_{size}")
        _result, made = generate.ensure(size, regenerate=opts.regenerate)
        rows.extend(made)
        results = measure(opts.requests)
        by_size[size] = results
        for name, r in results.items():
            target = TARGETS.get(name.split(" (")[0]) if size == "1m" else None
            bad = [s for s in r["statuses"] if s >= 400]
            rows.append(
                Row(
                    f"read {size}: {name}, p50 / p95 ms",
                    f"{r['p50'] * 1000:.1f} / {r['p95'] * 1000:.1f}",
                    f"p95 ≤ {target * 1000:.0f} ms" if target else "",
                    (r["p95"] <= target and not bad) if target else (False if bad else None),
                )
            )
            queries = (
                str(r["queries"])
                if r["queries"] == r["queries_min"]
                else f"{r['queries_min']}–{r['queries']}"
            )
            rows.append(Row(f"read {size}: {name}, SQL queries", queries))
            if bad:
                rows.append(Row(f"read {size}: {name}, HTTP statuses", str(r["statuses"])))
    if len(sizes) > 1:
        small, large = by_size[sizes[0]], by_size[sizes[-1]]
        for name in ("queue", "inbox"):
            rows.append(
                Row(
                    f"read: {name}, queries at {sizes[0]} vs {sizes[-1]}",
                    f"{small[name]['queries']} vs {large[name]['queries']}",
                    "independent of size",
                    small[name]["queries"] == large[name]["queries"],
                )
            )
    connections.close_all()
    use_database(opts.database)
    for row in rows:
        row.part = "reads"
    return rows
