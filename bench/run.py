"""Run every benchmark part and print one table: measure | value | target | met?

    python bench/run.py [--size 10k,1m] [--quick] [--skip-http] [--parts lifecycle,reads]

Each part is a module of this package with ``run(opts) -> list[Row]`` (bench.common.Row);
PARTS lists them in order. A part whose module is absent is skipped (documents.py is
optional). DATABASE_URL must point at PostgreSQL (default
postgres://postgres@127.0.0.1:5432/motcua_bench); the data sets of each size live in
their own databases beside it (<name>_10k, <name>_1m), made by bench/generate.py.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import platform
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import SIZES, Row, setup  # noqa: E402

PARTS = [
    "lifecycle",
    "reads",
    "search",
    "api",
    "http_load",
    "capacity",
    "documents",
    "outbox_drain",
]


def parse(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="10k,1m", help="data sizes for the read paths")
    parser.add_argument("--quick", action="store_true", help="small N, 10k data only")
    parser.add_argument("--skip-http", action="store_true", help="no gunicorn/wrk part")
    parser.add_argument("--parts", default=",".join(PARTS))
    parser.add_argument("--lifecycles", type=int, default=200)
    parser.add_argument("--requests", type=int, default=200, help="per read path and size")
    parser.add_argument("--http-seconds", type=int, default=30)
    parser.add_argument("--regenerate", action="store_true", help="rebuild the data sets")
    parser.add_argument("--json", help="also write the rows to this file")
    opts = parser.parse_args(argv)
    opts.sizes = [s.strip().lower() for s in opts.size.split(",") if s.strip()]
    if opts.quick:
        opts.sizes = ["10k"]
        opts.requests = min(opts.requests, 50)
        opts.http_seconds = min(opts.http_seconds, 5)
    unknown = set(opts.sizes) - set(SIZES)
    if unknown:
        parser.error(f"unknown size {sorted(unknown)}; choose from {sorted(SIZES)}")
    return opts


def table(rows: list[Row]) -> str:
    header = ("measure", "value", "target", "met?")
    lines = [
        (r.measure, r.value, r.target, "" if r.met is None else ("yes" if r.met else "NO"))
        for r in rows
    ]
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    out = ["| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |"]
    out.append("| " + " | ".join("-" * w for w in widths) + " |")
    for line in lines:
        out.append("| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |")
    return "\n".join(out)


def main(argv=None) -> int:
    opts = parse(argv)
    setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        print("bench/run.py needs PostgreSQL: set DATABASE_URL", file=sys.stderr)
        return 2
    opts.database = connection.settings_dict["NAME"]
    rows: list[Row] = []
    failed = []
    started = time.perf_counter()
    for name in [p.strip() for p in opts.parts.split(",") if p.strip()]:
        if importlib.util.find_spec(f"bench.{name}") is None:
            print(f"-- {name}: no bench/{name}.py, skipped", file=sys.stderr)
            continue
        print(f"-- {name} ...", file=sys.stderr, flush=True)
        part_started = time.perf_counter()
        try:
            module = importlib.import_module(f"bench.{name}")
            part_rows = module.run(opts)
        except Exception:
            traceback.print_exc()
            failed.append(name)
            part_rows = [Row(f"{name}: failed (see the log)", "", "", False)]
        for row in part_rows:
            row.part = row.part or name
        rows.extend(part_rows)
        print(f"-- {name}: {time.perf_counter() - part_started:.0f} s", file=sys.stderr, flush=True)
    print()
    print(
        f"motcua benchmarks — {platform.node()}, Python {platform.python_version()}, "
        f"PostgreSQL {connection.cursor().connection.info.server_version}, "
        f"{time.perf_counter() - started:.0f} s"
    )
    print()
    print(table(rows))
    missed = [r.measure for r in rows if r.met is False]
    print()
    print("every target met" if not missed else f"targets missed: {len(missed)}")
    if opts.json:
        Path(opts.json).write_text(
            json.dumps([r.__dict__ for r in rows], ensure_ascii=False, indent=1)
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
