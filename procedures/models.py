"""The catalog: agencies, officers' roles in them, and procedures with their versions."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from .roles import Role


class Agency(models.Model):
    class Kind(models.TextChoices):
        CENTRAL = "central", _("Central body")
        PROVINCE = "province", _("Provincial committee")
        DEPARTMENT = "department", _("Department")
        # Local levels a procedure may be filed at, or handed to (procedures.flowspec).
        DISTRICT = "district", _("District")
        COMMUNE = "commune", _("Commune")

    # The national agency identifier; it is also the first part of every dossier code.
    code = models.CharField(_("identifier"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=255)
    name_en = models.CharField(_("name (English)"), max_length=255, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    province = models.CharField(_("province"), max_length=100, blank=True)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("parent"),
    )
    # Materialised path of codes ("/G16/H22/H22.01/"), set by the loader from the data
    # file, for subtree queries. Codes hold no "/", so a prefix is always a whole ancestor.
    path = models.CharField(max_length=255, db_index=True, editable=False)

    class Meta:
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")
        ordering = ["path"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(path__startswith="/", path__endswith="/") & ~models.Q(path="/"),
                name="agency_path_is_set",
            ),
            models.CheckConstraint(
                condition=~models.Q(code__contains="/"), name="agency_code_no_slash"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.display_name}"

    @property
    def display_name(self) -> str:
        if translation.get_language() == "en" and self.name_en:
            return self.name_en
        return self.name

    def subtree_q(self, prefix: str = "") -> models.Q:
        """A filter for this agency and all agencies below it."""
        return models.Q(**{f"{prefix}path__startswith": self.path})


class OfficerRole(models.Model):
    """An officer holds a role in one agency. Permissions come from the role's group."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="agency_roles",
        verbose_name=_("officer"),
    )
    agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="officer_roles", verbose_name=_("agency")
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    # Printed under the signature on papers; blank: derived from the role and the agency
    # (procedures/titles.py), shown in the admin as the default.
    title = models.CharField(
        _("title"),
        max_length=150,
        blank=True,
        help_text=_(
            "The title printed under the officer's signature on papers, e.g. "
            '"Phó Trưởng ban". Leave blank to use the title of the role in this agency.'
        ),
    )

    class Meta:
        verbose_name = _("officer role")
        verbose_name_plural = _("officer roles")
        constraints = [
            models.UniqueConstraint(fields=["user", "agency", "role"], name="uniq_officer_role"),
        ]
        indexes = [models.Index(fields=["agency", "role"])]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.agency.code}"

    @property
    def printed_title(self) -> str:
        """The title papers print: the row's own, else the role's in the agency."""
        from .titles import default_title

        return self.title.strip() or default_title(self.role, self.agency)


class Procedure(models.Model):
    """A published procedure, identified by its national code; its content lives in versions."""

    code = models.CharField(_("national code"), max_length=64, unique=True)
    current_version = models.ForeignKey(
        "ProcedureVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("current version"),
    )
    is_active = models.BooleanField(_("published"), default=True)

    class Meta:
        verbose_name = _("procedure")
        verbose_name_plural = _("procedures")
        ordering = ["code"]
        permissions = [
            ("publish_procedure", _("Can check and publish a new version of a procedure")),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.current_version.name if self.current_version else ''}".strip()

    def version_in_force(self, day) -> ProcedureVersion | None:
        """The newest version whose effective date has come: new dossiers are filed under it."""
        return in_force(self.versions.all(), day).first()


def in_force(versions, day):
    """``versions`` in force on ``day``, the newest first (``.first()``: the one new
    dossiers are filed under). Without their YAML text (several kB), which is for the
    authoring pages only."""
    return versions.defer("source_yaml").filter(effective_from__lte=day).order_by("-number")


class ProcedureVersion(models.Model):
    """One immutable version of a procedure, exactly as loaded from its YAML file.

    A dossier points at the version it was filed under, so later edits of the file never
    change the rules of a dossier already on its way.
    """

    class OnlineLevel(models.TextChoices):
        FULL = "full", _("Full-process online")
        PARTIAL = "partial", _("Partial online")

    procedure = models.ForeignKey(
        Procedure, on_delete=models.PROTECT, related_name="versions", verbose_name=_("procedure")
    )
    number = models.PositiveIntegerField(_("version"))
    content_hash = models.CharField(_("SHA-256 of the content"), max_length=64)
    source_file = models.CharField(_("source file"), max_length=255)
    # The YAML text exactly as loaded or published (comments and layout kept), for editing
    # and comparing versions; empty for versions loaded before it was kept.
    source_yaml = models.TextField(_("source YAML"), blank=True, default="", editable=False)
    # Who published the version in the admin; empty for versions loaded from files.
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("published by"),
    )
    loaded_at = models.DateTimeField(_("loaded at"), auto_now_add=True)
    effective_from = models.DateField(_("effective from"))
    name = models.CharField(_("name"), max_length=500)
    name_en = models.CharField(_("name (English)"), max_length=500)
    sector = models.CharField(_("sector"), max_length=255)
    agency_level = models.CharField(_("handling level"), max_length=16)
    time_limit_days = models.PositiveSmallIntegerField(_("time limit (working days)"))
    online_level = models.CharField(_("online level"), max_length=8, choices=OnlineLevel.choices)
    # Years a dossier's personal files are kept after its result; empty: permanently.
    # Versions loaded before the catalog gave a retention are empty too: their dossiers
    # are kept (the safe side) until an administrator decides otherwise.
    retention_years = models.PositiveSmallIntegerField(
        _("retention after the result (years)"), null=True, blank=True
    )
    fee = models.DecimalField(_("fee (VND)"), max_digits=14, decimal_places=0)
    # The whole validated file (procedures.schema.ProcedureSpec as JSON).
    spec = models.JSONField(_("specification"))
    # The procedure's code and names, folded (config.search): what the catalog search looks
    # in, accents and case aside. Written by the loader with the names.
    search_text = models.TextField(_("search text"), blank=True, default="", editable=False)

    class Meta:
        verbose_name = _("procedure version")
        verbose_name_plural = _("procedure versions")
        ordering = ["procedure__code", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["procedure", "number"], name="uniq_procedure_version"),
            models.UniqueConstraint(
                fields=["procedure", "content_hash"], name="uniq_procedure_content"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.procedure.code} v{self.number}"

    @property
    def display_name(self) -> str:
        return self.name_en if translation.get_language() == "en" else self.name

    @property
    def retention_label(self) -> str:
        if self.retention_years is None:
            return str(_("permanent"))
        return str(_("%(n)d years") % {"n": self.retention_years})

    def stage_name(self, code: str, language: str | None = None) -> str:
        """The stage's name as the file gives it, in ``language`` (the active one by
        default); the consulted units' own task has the engine's name."""
        from .flowspec import CONSULT_STAGE

        english = (language or translation.get_language()) == "en"
        if code == CONSULT_STAGE:
            with translation.override("en" if english else "vi"):
                return str(_("Consultation"))
        try:
            name = self.stage(code)["name"]
        except KeyError:
            return code
        return name["en"] if english else name["vi"]

    def stage(self, code: str) -> dict:
        for stage in self.spec["stages"]:
            if stage["code"] == code:
                return stage
        raise KeyError(code)

    def component(self, code: str) -> dict | None:
        return next((c for c in self.spec["components"] if c["code"] == code), None)
