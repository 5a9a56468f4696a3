"""The catalog over the API: agencies, procedures with their versions, fields, components
and stages, and each version's form as a JSON Schema (procedures.jsonschema).

A client sees the agencies it acts for (its own and those below it), and the procedures
handled at a level found among them."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from procedures.jsonschema import form_json_schema
from procedures.models import Agency, Procedure, ProcedureVersion

from .models import Scope


class AgencySerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Agency
        fields = ["id", "code", "name", "name_en", "kind", "province", "parent", "path"]


class VersionSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = ProcedureVersion
        fields = ["number", "effective_from", "name", "name_en", "time_limit_days", "fee"]


class TextSerializer(serializers.Serializer):
    vi = serializers.CharField()
    en = serializers.CharField()


class ChoiceSerializer(serializers.Serializer):
    value = serializers.CharField()
    label = TextSerializer()


class FieldSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField()
    label = TextSerializer()
    help = TextSerializer(allow_null=True, required=False)
    required = serializers.BooleanField()
    choices = ChoiceSerializer(many=True, allow_null=True, required=False)


class ComponentSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = TextSerializer()
    mandatory = serializers.BooleanField()
    content_types = serializers.ListField(child=serializers.CharField())
    max_size_mb = serializers.IntegerField()
    form = serializers.CharField()
    count = serializers.IntegerField()


class ActionLeadSerializer(serializers.Serializer):
    """Where an action leads (procedures.flowspec): a stage, the end, or, after a wait or
    a consultation, the stage it goes on at."""

    to = serializers.CharField(allow_null=True, required=False)
    end = serializers.BooleanField(required=False)
    then = serializers.CharField(allow_null=True, required=False)


class StageSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = TextSerializer()
    role = serializers.CharField()
    share = serializers.IntegerField()
    # The agency holding the stage: the handling one, its parent, or a named level.
    held_by = serializers.CharField(default="handling")
    # The actions an officer may take at the stage, each with where it leads.
    actions = serializers.DictField(child=ActionLeadSerializer(), default=dict)


class VersionSerializer(serializers.ModelSerializer):
    procedure = serializers.CharField(source="procedure.code")
    fields = FieldSerializer(source="spec.fields", many=True, read_only=True)
    components = ComponentSerializer(source="spec.components", many=True, read_only=True)
    stages = StageSerializer(source="spec.stages", many=True, read_only=True)
    outcome = serializers.CharField(source="spec.outcome", default="paper", read_only=True)
    retention_years = serializers.IntegerField(allow_null=True)

    class Meta:
        model = ProcedureVersion
        fields = [
            "procedure",
            "number",
            "effective_from",
            "name",
            "name_en",
            "sector",
            "agency_level",
            "time_limit_days",
            "online_level",
            "fee",
            "retention_years",
            "fields",
            "components",
            "stages",
            "outcome",
        ]


class ProcedureSerializer(serializers.ModelSerializer):
    current_version = VersionSummarySerializer(read_only=True)
    versions = VersionSummarySerializer(many=True, read_only=True)

    class Meta:
        model = Procedure
        fields = ["id", "code", "is_active", "current_version", "versions"]


class AgencyViewSet(viewsets.ReadOnlyModelViewSet):
    """Agencies the client acts for: its own and those below it."""

    scope = Scope.CATALOG_READ
    serializer_class = AgencySerializer
    queryset = Agency.objects.none()  # for the schema; get_queryset scopes it
    lookup_field = "code"
    lookup_value_regex = "[A-Za-z0-9._-]{1,32}"
    filterset_fields = ["kind", "parent__code"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema's generation: no client
            return Agency.objects.none()
        return Agency.objects.filter(self.request.auth.subtree_q()).select_related("parent")


def _levels(client) -> list[str]:
    kinds = set(Agency.objects.filter(client.subtree_q()).values_list("kind", flat=True))
    return sorted(kinds)


@extend_schema_view(
    form_schema=extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter("version", int, description="Version number (default: in force)")
        ],
    )
)
class ProcedureViewSet(viewsets.ReadOnlyModelViewSet):
    """Procedures handled at a level among the client's agencies, with their versions."""

    scope = Scope.CATALOG_READ
    serializer_class = ProcedureSerializer
    queryset = Procedure.objects.none()  # for the schema; get_queryset scopes it
    lookup_field = "code"
    lookup_value_regex = "[A-Za-z0-9._-]{1,64}"
    filterset_fields = ["is_active"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema's generation: no client
            return Procedure.objects.none()
        return (
            Procedure.objects.filter(current_version__agency_level__in=_levels(self.request.auth))
            .select_related("current_version")
            .prefetch_related("versions")
        )

    def _version(self, procedure: Procedure, number) -> ProcedureVersion:
        if number in (None, ""):
            if procedure.current_version is None:
                raise serializers.ValidationError(
                    {"version": [_("This procedure has no version.")]}
                )
            return procedure.current_version
        try:
            number = int(number)
        except (TypeError, ValueError):
            raise serializers.ValidationError({"version": [_("Give a whole number.")]}) from None
        if not 1 <= number <= 1_000_000:
            raise serializers.ValidationError({"version": [_("No such version.")]})
        return get_object_or_404(procedure.versions.all(), number=number)

    @extend_schema(responses=VersionSerializer)
    @action(detail=True, url_path=r"versions/(?P<number>[0-9]{1,7})")
    def version(self, request, code=None, number=None):
        procedure = self.get_object()
        return Response(VersionSerializer(self._version(procedure, number)).data)

    @action(detail=True, url_path="form-schema")
    def form_schema(self, request, code=None):
        """The form as a JSON Schema (draft 2020-12), for an outside portal to render."""
        procedure = self.get_object()
        version = self._version(procedure, request.query_params.get("version"))
        return Response(form_json_schema(version.spec))
