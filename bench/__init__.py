"""Benchmarks, run on demand by ``make bench`` (bench/run.py); never by the test suite."""
