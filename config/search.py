"""Folding text for search: what people type and what is stored meet on one form.

Many people type Vietnamese without diacritics (``lo thi mai`` for "Lò Thị Mai"), in
capitals, or with a keyboard that sends decomposed letters. ``fold`` maps all of these to
the same lower-case ASCII-like text. Searchable columns store the folded text, written by
the services that write what they copy; a search folds the query the same way and looks
for it as a substring. One Python function on both engines, so SQLite and PostgreSQL
find exactly the same rows.
"""

from __future__ import annotations

import re
import unicodedata

# NFKD splits "ộ" into "o" and its two marks, but "đ" is a letter of its own, not a "d"
# with a mark: it is mapped by hand (with the look-alikes people type for it).
_LETTERS = str.maketrans({"đ": "d", "Đ": "d", "ð": "d", "Ð": "d", "ɖ": "d", "Ɖ": "d"})
_SPACES = re.compile(r"\s+")


def fold(text: str | None) -> str:
    """``text`` in lower case, without diacritics, đ as d, runs of spaces as one space.

    >>> fold("  Lò   Thị MAI ")
    'lo thi mai'
    >>> fold("ĐƠN ĐỀ NGHỊ hỗ trợ")
    'don de nghi ho tro'
    """
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text.translate(_LETTERS))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACES.sub(" ", bare.casefold()).strip()


def search_text(*parts: str | None) -> str:
    """The folded text a row is searched by: its parts folded, one per line, so that a
    query (folded: never a line break) matches within one part, never across two."""
    return "\n".join(fold(part) for part in parts if part)
