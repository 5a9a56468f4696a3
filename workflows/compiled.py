"""Querysets on the hot paths whose SQL is compiled once per database connection.

Django builds a query's SQL again at every evaluation; for the few reads an officer's
every action makes (the task opened under the flow's lock, the officers a new task is
offered to), building took several times longer, in Python, than the database took to
answer. A ``CompiledQuery`` builds the queryset once with placeholder arguments, keeps
its SQL and compiler per connection, and runs that SQL with the real arguments, making
the rows into model instances as the queryset would (``ModelIterable``: the compiler's
converters, ``from_db`` and the related-object populators of ``select_related``).

Only for querysets without prefetches or ``extra()``, whose arguments reach the SQL as
they are given (ids, strings); annotations are set on the instances as the queryset sets
them. Reads go to the model's database for writes, as a locking queryset's do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import connections, router
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators
from django.db.transaction import TransactionManagementError


class CompiledQuery:
    """``build(*args)`` gives a queryset of ``model``; calling this with the same arguments
    gives its model instances (a list), the SQL built once per database connection.

    ``placeholders`` are values no caller passes, one per argument, of the argument's type
    (an id, a string): the queryset is built with them, and where each lands among the SQL's
    parameters is where its argument goes."""

    def __init__(self, model: type[Model], build: Callable[..., QuerySet], placeholders: tuple):
        if len(set(placeholders)) != len(placeholders):
            raise ValueError("each placeholder must differ from the others")
        self.model = model
        self.build = build
        self.placeholders = placeholders
        self.arity = len(placeholders)

    def _compile(self, connection):
        queryset = self.build(*self.placeholders)
        query = queryset.query
        if queryset._prefetch_related_lookups or query.extra:
            raise ValueError("a compiled query makes plain model instances only")
        compiler = query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        index = {(type(p), p): i for i, p in enumerate(self.placeholders)}
        slots = [index.get((type(param), param)) for param in params]
        if set(slots) - {None} != set(range(self.arity)):
            raise ValueError(f"each argument must be a parameter of the SQL: {params!r}")
        klass_info, select = compiler.klass_info, compiler.select
        fields = klass_info["select_fields"]
        start, end = fields[0], fields[-1] + 1
        compiled = _Compiled(
            sql=sql,
            constants=tuple(params),
            slots=slots,
            compiler=compiler,
            model=klass_info["model"],
            start=start,
            end=end,
            init_list=[column[0].target.attname for column in select[start:end]],
            populators=get_related_populators(klass_info, select, connection.alias),
            annotations=tuple(compiler.annotation_col_map.items()),
            locks=query.select_for_update,
        )
        _cache(connection)[self] = compiled
        return compiled

    def __call__(self, *args) -> list[Model]:
        assert len(args) == self.arity
        connection = connections[router.db_for_write(self.model)]
        c = _cache(connection).get(self) or self._compile(connection)
        if c.locks and not connection.in_atomic_block:  # as select_for_update() insists
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        params = [c.constants[i] if slot is None else args[slot] for i, slot in enumerate(c.slots)]
        with connection.cursor() as cursor:
            cursor.execute(c.sql, params)
            rows = cursor.fetchall()
        found = []
        for row in c.compiler.results_iter([rows]):
            obj = c.model.from_db(connection.alias, c.init_list, row[c.start : c.end])
            for populator in c.populators:
                populator.populate(row, obj)
            for name, position in c.annotations:
                setattr(obj, name, row[position])
            found.append(obj)
        return found


def _cache(connection) -> dict:
    """The compiled queries kept on the connection object itself (one per thread): they go
    with it, the compiler inside each referring back to it. A mapping keyed by the
    connection would keep every thread's connection alive through that reference."""
    try:
        return connection._motcua_compiled
    except AttributeError:
        connection._motcua_compiled = {}
        return connection._motcua_compiled


@dataclass(frozen=True)
class _Compiled:
    sql: str
    constants: tuple
    slots: list
    compiler: object
    model: type[Model]
    start: int
    end: int
    init_list: list
    populators: list
    annotations: tuple
    locks: bool
