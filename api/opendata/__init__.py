"""Open statistics: the agency's open-data list at /open-data/ (no personal data)."""
