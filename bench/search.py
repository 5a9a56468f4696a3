"""The officers' search at scale: p50 / p95 server time of the task lists searched by an
applicant's name typed without accents, by ID number and by dossier code, beside the same
list unsearched (the baseline, measured in the same run, so the machine's other work
shows in both), with the ratio of each search to its baseline.

    python bench/run.py --parts search --size 10k,1m [--requests 200]

Through Django's test client (no network), after 5 requests of warm-up, on each size's
generated data set (bench/generate.py): the queue of the officer with the most tasks
offered, the "done" list of the officer who finished the most tasks, and the team list of
that agency's head. Each request picks another query: the applicant's name of a dossier
of that list, typed as many people type it ("lo thi mai"), its ID number or its code. The search is ``search_text LIKE '%...%'`` on the folded column, served on
PostgreSQL by the trigram index of workflows migration 0018.
"""

from __future__ import annotations

import random
import time

from .common import Row, counting_queries, percentile, use_database

TARGET = 0.050  # p95 of a search at 1M dossiers
KINDS = ("no search (baseline)", "name without accents", "ID number", "dossier code")


def _lists():
    """(list name, url, officer, the list's selector) for the busiest lists."""
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from procedures.models import OfficerRole
    from workflows.models import DossierTask
    from workflows.selectors import task_done, task_queue, team_tasks

    User = get_user_model()
    busiest = (
        DossierTask.objects.filter(task_status="NEW")
        .values("agency__code", "role")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .first()
    )
    agency = busiest["agency__code"]
    desk = User.objects.get(username=f"bench-{agency.lower()}-{busiest['role']}")
    finisher = (
        DossierTask.objects.filter(task_status="DONE")
        .values("task_owner")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .first()
    )
    finisher = User.objects.get(pk=finisher["task_owner"])
    head = OfficerRole.objects.get(agency__code=agency, role="head").user
    return [
        ("queue", "/workspace/queue/", desk, task_queue),
        ("done", "/workspace/done/", finisher, task_done),
        ("team", "/workspace/team/", head, team_tasks),
    ]


def _queries(rng: random.Random, tasks) -> dict[str, list[str]]:
    from config.search import fold

    rows = list(
        tasks.order_by().values_list(
            "dossier__code", "dossier__applicant_id_number", "dossier__applicant_name"
        )[:5000]
    )
    sample = rng.sample(rows, min(len(rows), 500))
    return {
        "no search (baseline)": [""],
        # Someone on the list, typed as many do: no accents, lower case.
        "name without accents": [fold(name) for _code, _number, name in sample],
        "ID number": [number for _code, number, _name in sample],
        "dossier code": [code for code, _number, _name in sample],
    }


def measure(requests: int, seed: int = 16) -> dict[tuple[str, str], dict]:
    from django.test import Client

    from security.testing import sign_in
    from workflows.selectors import TaskFilters

    rng = random.Random(seed)
    results = {}
    for name, url, officer, select in _lists():
        tasks = select(user=officer, filters=TaskFilters())
        client = Client()
        sign_in(client, officer)
        pools = _queries(rng, tasks)
        for kind in KINDS:
            pool = pools[kind]
            times, queries, statuses, found = [], [], set(), []
            for i in range(requests + 5):
                q = rng.choice(pool)
                with counting_queries() as counter:
                    started = time.perf_counter()
                    response = client.get(url, {"q": q} if q else {})
                    elapsed = time.perf_counter() - started
                statuses.add(response.status_code)
                if i >= 5:
                    times.append(elapsed)
                    queries.append(counter.count)
                if i < 20:  # what the page found, outside the clock
                    found.append(select(user=officer, filters=TaskFilters(q=q)).count())
            results[(name, kind)] = {
                "p50": percentile(times, 0.5),
                "p95": percentile(times, 0.95),
                "queries": max(queries),
                "statuses": sorted(statuses),
                "rows": sorted(found)[len(found) // 2],  # the median number found
            }
    return results


def run(opts) -> list[Row]:
    from django.db import connections

    from . import generate

    rows: list[Row] = []
    for size in sorted(opts.sizes, key=lambda s: generate.SIZES[s]):
        use_database(f"{opts.database}_{size}")
        _result, made = generate.ensure(size, regenerate=opts.regenerate)
        rows.extend(made)
        results = measure(opts.requests)
        for (name, kind), r in results.items():
            baseline = results[(name, KINDS[0])]
            searched = kind != KINDS[0]
            target = TARGET if size == "1m" and searched else None
            bad = [s for s in r["statuses"] if s >= 400]
            rows.append(
                Row(
                    f"search {size}: {name}, {kind}, p50 / p95 ms (median rows found)",
                    f"{r['p50'] * 1000:.1f} / {r['p95'] * 1000:.1f} ({r['rows']})",
                    f"p95 ≤ {target * 1000:.0f} ms" if target else "",
                    (r["p95"] <= target and not bad) if target else (False if bad else None),
                )
            )
            if searched:
                rows.append(
                    Row(
                        f"search {size}: {name}, {kind} ÷ no search, p95",
                        f"{r['p95'] / baseline['p95']:.2f}",
                    )
                )
            if bad:
                rows.append(Row(f"search {size}: {name}, {kind}, HTTP", str(r["statuses"])))
    connections.close_all()
    use_database(opts.database)
    for row in rows:
        row.part = "search"
    return rows
