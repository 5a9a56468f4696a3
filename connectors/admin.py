"""The connectors' admin pages, one module per national system."""

from connectors.population import admin as population_admin  # noqa: F401
