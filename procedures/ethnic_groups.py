"""The 54 ethnic groups of Vietnam: one list, one code each, for every part of motcua.

Codes are the General Statistics Office's two-digit codes (Decision 121-TCTK/PPCĐ of
2 March 1979, "Danh mục các dân tộc Việt Nam", still the national code list); names are
as the GSO and the population database write them today ("Mông", not the 1979 "HMông";
"Khmer", not "Khơ-me"). Older spellings, hyphenations, English names and the values of
the catalog's former choice lists ("hmong", "gia_rai") are kept as aliases, so that a
name coming from anywhere (a profile, an older form, the population register) finds its
code through ``ethnic_group_from_name``.

The citizen's profile stores the code; a form field of type ``ethnic_group`` offers these
groups and stores the code; the statistics and the register prefill read the code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils import translation

from config.search import fold


@dataclass(frozen=True)
class EthnicGroup:
    code: str
    name: str
    name_en: str
    aliases: tuple[str, ...] = ()

    @property
    def display_name(self) -> str:
        return self.name_en if translation.get_language() == "en" else self.name

    def __str__(self) -> str:
        return self.display_name


def _g(code: str, name: str, name_en: str, *aliases: str) -> EthnicGroup:
    return EthnicGroup(code, name, name_en, aliases)


ETHNIC_GROUPS: tuple[EthnicGroup, ...] = (
    _g("01", "Kinh", "Kinh", "Việt"),
    _g("02", "Tày", "Tay"),
    _g("03", "Thái", "Thai"),
    _g("04", "Hoa", "Hoa"),
    _g("05", "Khmer", "Khmer", "Khơ-me", "Khơ Me", "Khmer Krom"),
    _g("06", "Mường", "Muong"),
    _g("07", "Nùng", "Nung"),
    _g("08", "Mông", "Hmong", "HMông", "H'Mông", "H’Mông", "Hmông"),
    _g("09", "Dao", "Dao", "Yao"),
    _g("10", "Gia Rai", "Jarai", "Gia-rai", "Jrai"),
    _g("11", "Ngái", "Ngai"),
    _g("12", "Ê Đê", "Ede", "Ê-đê", "Rhade"),
    _g("13", "Ba Na", "Bahnar", "Ba-na"),
    _g("14", "Xơ Đăng", "Sedang", "Xơ-đăng"),
    _g("15", "Sán Chay", "San Chay", "Cao Lan", "Sán Chỉ"),
    _g("16", "Cơ Ho", "Koho", "Cơ-ho", "K'Ho"),
    _g("17", "Chăm", "Cham", "Chàm"),
    _g("18", "Sán Dìu", "San Diu"),
    _g("19", "Hrê", "Hre", "H're"),
    _g("20", "Mnông", "Mnong", "M'Nông"),
    _g("21", "Ra Glai", "Raglai", "Ra-glai"),
    _g("22", "Xtiêng", "Stieng", "X'tiêng", "Stiêng"),
    _g("23", "Bru-Vân Kiều", "Bru-Van Kieu", "Bru", "Vân Kiều"),
    _g("24", "Thổ", "Tho"),
    _g("25", "Giáy", "Giay"),
    _g("26", "Cơ Tu", "Katu", "Cơ-tu"),
    _g("27", "Giẻ Triêng", "Gie Trieng", "Gié-Triêng", "Gié Triêng"),
    _g("28", "Mạ", "Ma"),
    _g("29", "Khơ Mú", "Khmu", "Khơ-mú", "Kmhmu"),
    _g("30", "Co", "Cor", "Col"),
    _g("31", "Tà Ôi", "Ta Oi", "Tà-ôi", "Pa Cô"),
    _g("32", "Chơ Ro", "Cho Ro", "Chơ-ro", "Chrau"),
    _g("33", "Kháng", "Khang"),
    _g("34", "Xinh Mun", "Xinh Mun", "Xinh-mun"),
    _g("35", "Hà Nhì", "Ha Nhi", "Hani"),
    _g("36", "Chu Ru", "Chu Ru", "Chu-ru"),
    _g("37", "Lào", "Lao"),
    _g("38", "La Chí", "La Chi"),
    _g("39", "La Ha", "La Ha"),
    _g("40", "Phù Lá", "Phu La"),
    _g("41", "La Hủ", "La Hu", "Lahu"),
    _g("42", "Lự", "Lu"),
    _g("43", "Lô Lô", "Lo Lo"),
    _g("44", "Chứt", "Chut"),
    _g("45", "Mảng", "Mang"),
    _g("46", "Pà Thẻn", "Pa Then"),
    _g("47", "Cờ Lao", "Co Lao", "Cơ Lao"),
    _g("48", "Cống", "Cong"),
    _g("49", "Bố Y", "Bo Y"),
    _g("50", "Si La", "Si La"),
    _g("51", "Pu Péo", "Pu Peo"),
    _g("52", "Brâu", "Brau"),
    _g("53", "Ơ Đu", "O Du"),
    _g("54", "Rơ Măm", "Ro Mam"),
)

# Every group but the Kinh majority: the ethnic minorities of the policies.
MINORITIES: tuple[str, ...] = tuple(g.code for g in ETHNIC_GROUPS if g.code != "01")

# For a model field's ``choices`` (the official names).
CHOICES: list[tuple[str, str]] = [(g.code, g.name) for g in ETHNIC_GROUPS]

_BY_CODE = {g.code: g for g in ETHNIC_GROUPS}
_NOT_LETTERS = re.compile(r"[^0-9a-z]")
_PREFIXES = ("dan toc ", "nguoi ")


def _key(name: str) -> str:
    """The lookup key of a name: folded, with no spaces, hyphens or apostrophes."""
    folded = fold(name)
    for prefix in _PREFIXES:  # "Dân tộc Mông", "người Mông"
        if folded.startswith(prefix) and len(folded) > len(prefix):
            folded = folded[len(prefix) :]
    return _NOT_LETTERS.sub("", folded)


def _index() -> dict[str, EthnicGroup]:
    index: dict[str, EthnicGroup] = {}
    for group in ETHNIC_GROUPS:
        for name in (group.name, group.name_en, *group.aliases):
            key = _key(name)
            other = index.setdefault(key, group)
            if other is not group:  # a test keeps the list free of these
                raise ValueError(f"{name!r} names both {other.code} and {group.code}")
    return index


_BY_NAME = _index()


def ethnic_group_by_code(code) -> EthnicGroup | None:
    """The group of a GSO code ("08"; also 8 or "8", as some systems send it)."""
    text = str(code).strip() if code is not None else ""
    if text.isdigit() and len(text) <= 2:
        return _BY_CODE.get(text.zfill(2))
    return None


def ethnic_group_from_name(name) -> EthnicGroup | None:
    """The group a name means, whatever its case, accents, hyphens or spelling:
    "Mông", "H'Mông", "HMÔNG", "hmong", "Dân tộc Mông" all give 08."""
    if not isinstance(name, str) or not name.strip():
        return None
    return _BY_NAME.get(_key(name))


def ethnic_group_resolve(value) -> EthnicGroup | None:
    """A code or a name, as a register or an older form may hold either."""
    return ethnic_group_by_code(value) or ethnic_group_from_name(value)


def offered(groups) -> list[EthnicGroup]:
    """The groups a form field offers: ``"all"``, ``"minorities"`` or a list of codes."""
    if groups in (None, "all"):
        return list(ETHNIC_GROUPS)
    codes = MINORITIES if groups == "minorities" else groups
    return [_BY_CODE[code] for code in codes]
