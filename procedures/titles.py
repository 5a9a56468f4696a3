"""The title an officer signs under, as printed on papers ("Trưởng ban", "Vụ trưởng").

An officer's role may carry its own title (``OfficerRole.title``, edited in the admin: a
deputy signing "Phó Trưởng ban", an acting head). When it is blank, the title follows from
the role and the agency: the head of an agency and its signer sign under the title of the
agency's head, which the agency's name tells ("Ban Dân tộc tỉnh ..." is led by a
"Trưởng ban", a "Vụ" by a "Vụ trưởng"), or else its kind. Titles are Vietnamese: papers
are official Vietnamese documents whatever the reader's language.
"""

from __future__ import annotations

from .roles import Role

# The head's title by the first words of the agency's name, the longest prefix first.
HEAD_BY_NAME = (
    ("Văn phòng", "Chánh Văn phòng"),
    ("Ủy ban nhân dân", "Chủ tịch"),
    ("Ủy ban", "Chủ nhiệm"),
    ("Bộ", "Bộ trưởng"),
    ("Ban", "Trưởng ban"),
    ("Vụ", "Vụ trưởng"),
    ("Cục", "Cục trưởng"),
    ("Sở", "Giám đốc"),
    ("Phòng", "Trưởng phòng"),
)
HEAD_BY_KIND = {
    "central": "Bộ trưởng",
    "province": "Trưởng ban",
    "department": "Trưởng phòng",
}
OTHER_ROLES = {
    Role.SPECIALIST: "Chuyên viên",
    Role.RECEPTION: "Công chức Bộ phận Một cửa",
    Role.SUPERVISOR: "Chuyên viên",
}


def head_title(agency) -> str:
    name = (agency.name or "").strip()
    for prefix, title in HEAD_BY_NAME:
        if name == prefix or name.startswith(prefix + " "):
            return title
    return HEAD_BY_KIND.get(agency.kind, "Thủ trưởng cơ quan")


def default_title(role: str, agency) -> str:
    """The title of ``role`` held in ``agency`` when its row names none."""
    if role in (Role.SIGNER, Role.HEAD):
        return head_title(agency)
    return OTHER_ROLES.get(role, "")
