"""The connectors' tables, one module per national system."""

from connectors.population.models import LookupOutcome, PopulationLookup  # noqa: F401
