"""Keyset (cursor) pagination on every list: a page costs the same at row 10 and at row
a million, and a row added meanwhile neither repeats nor skips one."""

from __future__ import annotations

from rest_framework.pagination import CursorPagination


class KeysetPagination(CursorPagination):
    # Ids grow with time; unique, so the cursor never needs an offset.
    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 200
