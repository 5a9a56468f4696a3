"""English short date formats: 28/12/2026, as in Vietnamese. An English page of a
Vietnamese service shows the same day as the paper beside it (Django's English locale
writes 12/28/2026, which a reader here takes for the 12th of a 28th month, or worse, for
another real day). The other formats are Django's."""

SHORT_DATE_FORMAT = "d/m/Y"
SHORT_DATETIME_FORMAT = "d/m/Y H:i"
