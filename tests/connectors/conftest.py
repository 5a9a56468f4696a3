"""Sandboxes for the connector tests: each one runs on a free loopback port for one test."""

from __future__ import annotations

import pytest


@pytest.fixture
def run_sandbox():
    """``run_sandbox(SandboxClass, **options)`` starts it and returns the instance (its
    ``url`` set); every sandbox started is stopped after the test."""
    started = []

    def start(cls, **options):
        instance = cls(**options)
        instance.start()
        started.append(instance)
        return instance

    yield start
    for instance in started:
        instance.stop()
