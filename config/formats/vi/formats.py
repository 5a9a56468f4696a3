"""Vietnamese short date formats: 28/12/2026, as on every Vietnamese paper and page
(Django's own Vietnamese locale writes 28-12-2026). The other formats are Django's."""

SHORT_DATE_FORMAT = "d/m/Y"
SHORT_DATETIME_FORMAT = "d/m/Y H:i"
