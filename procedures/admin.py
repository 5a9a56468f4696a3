import base64

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import authoring
from .forms import build_form_class, localized
from .loader import CREATED, NEW_VERSION, RESTORED, CatalogError
from .models import Agency, OfficerRole, Procedure, ProcedureVersion


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    """The tree comes from procedures/data/agencies.yaml (load_agencies); here only names
    can be corrected, so codes, parents and subtree paths never drift from the file."""

    list_display = ("code", "name", "kind", "province", "parent")
    list_filter = ("kind", "province")
    list_select_related = ("parent",)
    search_fields = ("code", "name", "name_en")
    readonly_fields = ("code", "kind", "parent", "path")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OfficerRole)
class OfficerRoleAdmin(admin.ModelAdmin):
    list_display = ("user", "role", "agency", "title_on_papers")
    list_select_related = ("user", "agency")
    list_filter = ("role", "agency__kind")
    search_fields = ("user__username", "user__last_name", "agency__code", "agency__name")
    autocomplete_fields = ("user", "agency")

    @admin.display(description=_("title on papers"))
    def title_on_papers(self, obj: OfficerRole) -> str:
        return obj.printed_title


class ReadOnlyAdmin(admin.ModelAdmin):
    """A window, not a lever: the admin shows the rows and changes nothing (procedure
    versions come from the catalog files only; logs are written by the application)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class VersionInline(admin.TabularInline):
    model = ProcedureVersion
    fields = (
        "number",
        "effective_from",
        "time_limit_days",
        "online_level",
        "loaded_at",
        "published_by",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


class AuthoringForm(forms.Form):
    """The YAML of a procedure, typed or uploaded, and what to do with it."""

    ACTIONS = ("check", "preview", "publish")

    source = forms.CharField(required=False, strip=False, widget=forms.Textarea)
    upload = forms.FileField(required=False, label=_("or upload a YAML file"))
    effective_from = forms.DateField(
        required=False,
        input_formats=["%d/%m/%Y"],
        label=_("Effective from (dd/mm/yyyy)"),
        error_messages={"invalid": _("Enter the date as dd/mm/yyyy, e.g. 01/07/2027.")},
    )
    action = forms.ChoiceField(choices=[(a, a) for a in ACTIONS])

    def clean_upload(self):
        upload = self.cleaned_data.get("upload")
        if upload:
            self.cleaned_data["text"] = authoring.read_yaml_upload(upload)
        return upload

    def clean(self):
        data = super().clean()
        if "text" not in data and "upload" not in self.errors:
            try:
                authoring.check_text(data.get("source") or "")
            except ValidationError as exc:
                self.add_error("source", exc)
            else:
                data["text"] = data.get("source") or ""
        if data.get("action") == "publish":
            day = data.get("effective_from")
            if day is None and "effective_from" not in self.errors:
                self.add_error("effective_from", _("Enter the date the new version takes effect."))
            elif day is not None:
                try:
                    authoring.validate_effective_from(day)
                except ValidationError as exc:
                    self.add_error("effective_from", exc)
        return data


@admin.register(Procedure)
class ProcedureAdmin(ReadOnlyAdmin):
    """Procedures are read-only rows; their content changes only by a new version, from a
    catalog file (load_procedures) or from the YAML page here (the publish permission)."""

    list_display = ("code", "current_version", "is_active")
    list_select_related = ("current_version__procedure",)
    list_filter = ("is_active",)
    search_fields = ("code", "versions__name")
    inlines = [VersionInline]
    change_form_template = "admin/procedures/procedure/change_form.html"

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<id:pk>/yaml/", view(self.yaml_view), name="procedures_procedure_yaml"),
            path(
                "<id:pk>/versions/",
                view(self.versions_view),
                name="procedures_procedure_versions",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_publish": request.user.has_perm("procedures.publish_procedure"),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def _context(self, request, procedure, title):
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": procedure,
            "procedure": procedure,
            "title": title,
        }

    def yaml_view(self, request, pk):
        """Check, preview and publish a procedure's YAML (the publish permission only)."""
        if not request.user.has_perm("procedures.publish_procedure"):
            raise PermissionDenied
        procedure = get_object_or_404(Procedure.objects.select_related("current_version"), pk=pk)
        latest = procedure.versions.order_by("-number").first()
        # The catalog file the procedure comes from, whatever an upload was called: a
        # published version stays the version of that file.
        file = latest.source_file if latest else f"{procedure.code}.yaml"
        context = self._context(
            request, procedure, gettext("YAML of procedure %(code)s") % {"code": procedure.code}
        )
        problems, preview = [], None
        if request.method == "POST":
            form = AuthoringForm(request.POST, request.FILES)
            valid = form.is_valid()
            text = form.cleaned_data.get("text", request.POST.get("source", ""))
            action = form.cleaned_data.get("action")
            if "text" in form.cleaned_data:
                spec, problems = authoring.check_procedure(procedure, text, file)
                if valid and not problems and action == "publish":
                    try:
                        version, outcome = authoring.procedure_publish(
                            procedure=procedure,
                            text=text,
                            effective_from=form.cleaned_data["effective_from"],
                            by=request.user,
                            file=file,
                        )
                    except CatalogError as exc:
                        problems = exc.problems
                    else:
                        self._published(request, version, outcome)
                        return redirect(
                            reverse("admin:procedures_procedure_versions", args=[procedure.pk])
                        )
                if spec is not None and not problems and action == "preview":
                    preview = self._preview(procedure, spec)
            context["checked"] = "text" in form.cleaned_data and action in ("check", "preview")
        else:
            text, exact = authoring.version_yaml(latest) if latest else ("", True)
            context["rebuilt"] = not exact
            form = AuthoringForm(initial={"source": text})
        context.update(
            form=form,
            text=text,
            problems=problems,
            preview=preview,
            latest=latest,
            max_kb=authoring.MAX_YAML_BYTES // 1024,
        )
        return TemplateResponse(request, "admin/procedures/procedure/yaml.html", context)

    def _published(self, request, version, outcome):
        day = version.effective_from.strftime("%d/%m/%Y")
        if outcome in (CREATED, NEW_VERSION):
            self.log_addition(request, version, [{"added": {}}])
            messages.success(
                request,
                gettext("Published version %(n)d, in force from %(day)s.")
                % {"n": version.number, "day": day},
            )
        elif outcome == RESTORED:
            messages.warning(
                request,
                gettext(
                    "No new version: the content is that of version %(n)d, which is current again."
                )
                % {"n": version.number},
            )
        else:
            messages.info(
                request,
                gettext("No new version: the content is that of the current version %(n)d.")
                % {"n": version.number},
            )

    def _preview(self, procedure, spec):
        version = authoring.unsaved_version(procedure, spec)
        form = build_form_class(version.spec)(auto_id="preview_%s")
        graphs = [
            {
                "title": p.title,
                "error": p.error,
                "src": "data:image/svg+xml;base64," + base64.b64encode(p.svg).decode("ascii")
                if p.svg
                else "",
            }
            for p in authoring.previews(version)
        ]
        components = [
            {"code": c["code"], "name": localized(c["name"]), "mandatory": c["mandatory"]}
            for c in version.spec["components"]
        ]
        return {"version": version, "form": form, "components": components, "graphs": graphs}

    def versions_view(self, request, pk):
        """Every version of the procedure, and the difference between two of them."""
        procedure = get_object_or_404(Procedure, pk=pk)
        if not self.has_view_permission(request, procedure):
            raise PermissionDenied
        versions = list(procedure.versions.select_related("published_by").order_by("-number"))
        by_number = {v.number: v for v in versions}
        context = self._context(
            request,
            procedure,
            gettext("Versions of procedure %(code)s") % {"code": procedure.code},
        )
        old = new = None
        if "a" in request.GET or "b" in request.GET:
            try:
                old = by_number[int(request.GET.get("a", ""))]
                new = by_number[int(request.GET.get("b", ""))]
            except (KeyError, ValueError):
                context["compare_error"] = gettext("Choose two versions of this procedure.")
                old = new = None
        elif len(versions) >= 2:
            old, new = versions[1], versions[0]
        if old is not None and new is not None:
            context["diff"] = authoring.version_diff(old, new)
        context.update(
            versions=versions,
            old=old,
            new=new,
            can_publish=request.user.has_perm("procedures.publish_procedure"),
        )
        return TemplateResponse(request, "admin/procedures/procedure/versions.html", context)


@admin.register(ProcedureVersion)
class ProcedureVersionAdmin(ReadOnlyAdmin):
    list_display = (
        "procedure",
        "number",
        "name",
        "time_limit_days",
        "online_level",
        "effective_from",
        "loaded_at",
    )
    list_filter = ("online_level", "agency_level")
    list_select_related = ("procedure",)
    search_fields = ("procedure__code", "name", "name_en")
