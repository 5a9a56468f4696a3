"""The national portal's names for what a push says: the one place they live.

Every name and code here is *unverified* (domain.md, "Sync payload"): they follow the
public descriptions of the portal's dossier sync, and a deployment that is given the
real interface overrides what differs in ``MOTCUA["CONNECTORS"]["national_portal"]
["FIELDS"]`` (motcua's dotted name → the portal's). The payload is built with motcua's
names (``payload.py``) and renamed here on the way out. A pure module (settings only when
asked), so the sandbox reads the same defaults.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

# motcua's name → the portal's. Dotted names are the keys of each list's items.
DEFAULT_FIELDS: dict[str, str] = {
    "dossier_code": "MaHoSo",
    "procedure_code": "MaTTHC",
    "procedure_name": "TenTTHC",
    "agency_code": "MaCoQuan",
    "channel": "KenhThucHien",
    "applicant_type": "LoaiDoiTuong",
    "applicant_name": "ChuHoSo",
    "applicant_id_number": "SoGiayToChuHoSo",
    "identity_verified": "DaXacThucVNeID",
    "submitted_at": "NgayNopHoSo",
    "received_at": "NgayTiepNhan",
    "due_at": "NgayHenTra",
    "status": "TrangThaiHoSo",
    "status_at": "NgayCapNhat",
    "closed_at": "NgayKetThucXuLy",
    "fees": "DanhSachLePhi",
    "fees.name": "TenPhiLePhi",
    "fees.amount": "MucPhi",
    "fees.paid_online": "ThanhToanTrucTuyen",
    "components": "DanhSachTaiLieuNop",
    "components.code": "MaThanhPhanHoSo",
    "components.name": "TenThanhPhanHoSo",
    "components.digitised": "DuocSoHoa",
    "components.reused": "DuocTaiSuDung",
    "results": "DanhSachGiayToKetQua",
    "results.code": "MaGiayToKetQua",
    "results.name": "TenGiayTo",
    "results.digitised": "DuocSoHoa",
    "results.reused": "DuocTaiSuDung",
}

# Codes the portal uses for motcua's values (unverified).
CHANNEL_CODES = {"desk": 1, "online": 2, "post": 3}
APPLICANT_TYPE_CODES = {"citizen": 1, "organisation": 2}

# The answer: an error code ("0": accepted) and a message.
ANSWER_CODE = "error_code"
ANSWER_MESSAGE = "message"
ACCEPTED = "0"

DATE_FORMAT = "%Y%m%d%H%M%S"  # yyyyMMddHHmmss
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def portal_date(value: dt.datetime | dt.date | None) -> str | None:
    """``yyyyMMddHHmmss`` in Vietnam time; a date alone is its midnight there."""
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time(0, 0), tzinfo=VIETNAM)
    return value.astimezone(VIETNAM).strftime(DATE_FORMAT)


def parse_portal_date(text) -> dt.datetime | None:
    """The reverse (the sandbox checks dates with it); None when it is not one."""
    if not isinstance(text, str) or len(text) != 14 or not text.isdigit():
        return None
    try:
        return dt.datetime.strptime(text, DATE_FORMAT).replace(tzinfo=VIETNAM)
    except ValueError:
        return None


def names(overrides: dict[str, str] | None = None) -> dict[str, str]:
    """The defaults with a deployment's overrides (unknown names in them are ignored)."""
    chosen = dict(DEFAULT_FIELDS)
    for key, value in (overrides or {}).items():
        if key in chosen and isinstance(value, str) and value:
            chosen[key] = value
    return chosen


def rename(payload: dict, mapping: dict[str, str], prefix: str = "") -> dict:
    """``payload`` with each key under its portal name (lists of objects item by item)."""
    out = {}
    for key, value in payload.items():
        path = f"{prefix}{key}"
        if isinstance(value, list):
            value = [
                rename(item, mapping, f"{path}.") if isinstance(item, dict) else item
                for item in value
            ]
        out[mapping.get(path, key)] = value
    return out
