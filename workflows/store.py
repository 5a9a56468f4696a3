"""The citizen's data store ("kho quản lý dữ liệu điện tử", domain.md): the papers already
held for a citizen that a new dossier of theirs can take instead of a new upload.

Two kinds of paper, each from a *provider*:

- ``component``: a file of one of the citizen's earlier dossiers that the agency accepted
  (``ComponentPapers``, here): a current file the desk received the dossier with, or any
  current file of a dossier approved on them. A dossier refused at the desk, withdrawn or
  abandoned before reception, or a file added since (answering a supplement request after
  review, not yet decided on) is not in the store.
- ``result``: the signed result PDF of an earlier issued dossier. Results belong to
  ``documents``, which installs its provider in its ``ready()`` (``use_provider``), as it
  installs the history sealer: workflows knows nothing of documents.

Only the citizen's own papers are ever listed or found (the earlier dossier's
``applicant_user`` is the citizen), and only those whose bytes are still held (not erased
at the end of a retention). Reusing one is ``services.dossiers.dossier_reuse_paper``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.db.models import F, Q
from django.db.models.fields.files import FieldFile

from .models import Dossier, DossierComponent, PaperKind, Status

# Where a reused component's page names its source: "c12" (a component) or "r34" (a result).
REF = re.compile(r"^([cr])([1-9][0-9]{0,17})$")
PREFIX = {PaperKind.COMPONENT: "c", PaperKind.RESULT: "r"}
KIND = {prefix: kind for kind, prefix in PREFIX.items()}

# How many papers a component's choice offers at most (newest first): a list to read on
# a phone, not an archive.
PER_COMPONENT = 12


@dataclass(frozen=True)
class Paper:
    """One paper of the store, as the choice shows it and the reuse copies it."""

    kind: str  # PaperKind
    object_id: int
    dossier: Dossier
    name: str
    original_name: str
    content_type: str
    size: int
    sha256: str
    at: dt.datetime  # accepted (the dossier's reception) or signed
    file: FieldFile

    @property
    def ref(self) -> str:
        return f"{PREFIX[self.kind]}{self.object_id}"

    @property
    def dossier_code(self) -> str:
        return self.dossier.code or ""


class PaperProvider:
    """Finds one kind of paper among a citizen's earlier dossiers."""

    kind: str = ""

    def papers(self, user) -> list[Paper]:
        """Every paper of this kind held for ``user``, newest first."""
        raise NotImplementedError

    def paper(self, user, object_id: int) -> Paper | None:
        """The paper ``object_id`` if it is one of ``user``'s in the store, else None."""
        raise NotImplementedError


# Statuses whose current files were all decided on, approved: each was accepted.
APPROVED = (Status.APPROVED, Status.SIGNED, Status.ISSUED)


def accepted_components(user):
    """The citizen's accepted component files still held (see the module docstring)."""
    if not getattr(user, "is_authenticated", False):
        return DossierComponent.objects.none()
    return (
        DossierComponent.objects.filter(
            dossier__applicant_user=user,
            dossier__received_at__isnull=False,
            dossier__erased_at__isnull=True,
            superseded_at__isnull=True,
            erased_at__isnull=True,
        )
        .exclude(file="")
        .filter(Q(uploaded_at__lte=F("dossier__received_at")) | Q(dossier__status__in=APPROVED))
        .select_related("dossier__procedure_version")
    )


class ComponentPapers(PaperProvider):
    kind = PaperKind.COMPONENT

    def _paper(self, component: DossierComponent) -> Paper:
        from procedures.forms import localized

        spec = component.dossier.procedure_version.component(component.component_code) or {}
        return Paper(
            kind=self.kind,
            object_id=component.pk,
            dossier=component.dossier,
            name=localized(spec["name"]) if spec else component.component_code,
            original_name=component.original_name,
            content_type=component.content_type,
            size=component.size,
            sha256=component.sha256,
            at=component.dossier.received_at,
            file=component.file,
        )

    def papers(self, user) -> list[Paper]:
        found = accepted_components(user).order_by("-dossier__received_at", "-pk")[:200]
        return [self._paper(c) for c in found]

    def paper(self, user, object_id: int) -> Paper | None:
        component = accepted_components(user).filter(pk=object_id).first()
        return self._paper(component) if component is not None else None


_providers: dict[str, PaperProvider] = {PaperKind.COMPONENT: ComponentPapers()}


def use_provider(provider: PaperProvider) -> PaperProvider | None:
    """Install the provider of one kind of paper (documents' ready() installs results')."""
    previous = _providers.get(provider.kind)
    _providers[provider.kind] = provider
    return previous


def paper_find(*, user, ref: str) -> Paper | None:
    """The paper a form names by its ``ref`` ("c12", "r34"), if it is one of ``user``'s in
    the store; None for anything else (another citizen's, a refused dossier's, a forged
    value): the caller says only that it cannot be used."""
    match = REF.match(ref or "")
    if match is None:
        return None
    provider = _providers.get(KIND[match.group(1)])
    if provider is None:
        return None
    return provider.paper(user, int(match.group(2)))


def fits(paper: Paper, spec: dict) -> bool:
    """The paper may fill the component: its (sniffed) type accepted and its size allowed."""
    return (
        paper.content_type in spec["content_types"]
        and paper.size <= spec["max_size_mb"] * 1_048_576
    )


@dataclass(frozen=True)
class ReuseChoice:
    code: str
    count: int
    papers: list[Paper]


def reuse_choices(*, user, spec: dict, dossier: Dossier | None = None) -> dict[str, ReuseChoice]:
    """For each component of ``spec`` (a procedure version's), the citizen's papers that
    fit it (one per content: the same bytes held in several dossiers are offered once, the
    newest), leaving out what ``dossier`` (the draft being filled, if made yet) holds. For
    the applicant only: a draft of someone else's (the desk's) gets no choice."""
    if not getattr(user, "is_authenticated", False):
        return {}
    if dossier is not None and dossier.applicant_user_id != user.pk:
        return {}
    held = set()
    if dossier is not None:
        held = set(
            dossier.components.filter(superseded_at__isnull=True).values_list("sha256", flat=True)
        )
    papers: list[Paper] = []
    for provider in _providers.values():
        papers.extend(
            p for p in provider.papers(user) if dossier is None or p.dossier.pk != dossier.pk
        )
    papers.sort(key=lambda p: p.at, reverse=True)
    choices = {}
    for component in spec["components"]:
        seen: set[str] = set(held)
        offered = []
        for paper in papers:
            if paper.sha256 in seen or not fits(paper, component):
                continue
            seen.add(paper.sha256)
            offered.append(paper)
            if len(offered) >= PER_COMPONENT:
                break
        if offered:
            choices[component["code"]] = ReuseChoice(
                component["code"], component.get("count", 1), offered
            )
    return choices
