"""Statistics over the API (scope ``statistics:read``): the open statistics' figures for the
client's own agencies, exact. The public list at /open-data/ hides small counts so that
nobody can be singled out; a government system holding a key for its agencies gets the
same rows (no personal data) without that protection."""

from __future__ import annotations

from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from config import replica
from procedures.models import Agency, Procedure
from workflows.clock import local_zone, working_calendar

from .models import Scope
from .opendata import selectors
from .opendata.views import BadQuery, parse_query


class StatisticsRowSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM, month of reception (local time)")
    agency = serializers.CharField()
    procedure = serializers.CharField()
    received = serializers.IntegerField()
    early = serializers.IntegerField()
    on_time = serializers.IntegerField()
    late = serializers.IntegerField()
    in_progress = serializers.IntegerField()
    other = serializers.IntegerField(help_text="withdrawn, or waiting for a supplement")
    online = serializers.IntegerField()
    average_processing_days = serializers.FloatField(allow_null=True)


class StatisticsSerializer(serializers.Serializer):
    start = serializers.CharField()
    end = serializers.CharField()
    rows = StatisticsRowSerializer(many=True)


class StatisticsView(APIView):
    scope = Scope.STATISTICS_READ

    @extend_schema(
        parameters=[
            OpenApiParameter("from", str, description="First month, YYYY-MM"),
            OpenApiParameter("to", str, description="Last month, YYYY-MM (at most 36 months)"),
            OpenApiParameter("agency", str, description="An agency code within the client's"),
            OpenApiParameter("procedure", str, description="A procedure code"),
        ],
        responses=StatisticsSerializer,
    )
    def get(self, request):
        """Per agency, procedure and month of reception: received, finished early / on
        time / late, in progress, other, online, average processing days."""
        try:
            query = parse_query(request.query_params)
        except BadQuery as exc:
            raise serializers.ValidationError({k: [v] for k, v in exc.errors.items()}) from None
        client = request.auth
        with replica.reporting():
            agencies = {
                a.pk: a.code for a in Agency.objects.filter(client.subtree_q()).only("code", "path")
            }
            if query.agency:
                chosen = Agency.objects.filter(client.subtree_q(), code=query.agency).first()
                if chosen is None:  # another agency's figures: as if it did not exist
                    raise NotFound(_unknown())
                ids = list(Agency.objects.filter(chosen.subtree_q()).values_list("pk", flat=True))
            else:
                ids = list(agencies)
            procedure_id = None
            if query.procedure:
                procedure_id = (
                    Procedure.objects.filter(code=query.procedure)
                    .values_list("pk", flat=True)
                    .first()
                )
                if procedure_id is None:
                    raise serializers.ValidationError({"procedure": [_unknown()]})
            codes = dict(Procedure.objects.values_list("pk", "code"))
            rows = []
            for raw in selectors.raw_counts(query, working_calendar().today(), ids, procedure_id):
                parts = ("early", "on_time", "late", "in_progress")
                rows.append(
                    {
                        "month": raw["month"].astimezone(local_zone()).strftime("%Y-%m"),
                        "agency": agencies[raw["handling_agency"]],
                        "procedure": codes[raw["procedure_version__procedure"]],
                        "received": raw["received"],
                        **{p: raw[p] for p in parts},
                        "other": raw["received"] - sum(raw[p] for p in parts),
                        "online": raw["online"],
                        "average_processing_days": (
                            round(float(raw["days_avg"]), 1)
                            if raw["days_avg"] is not None
                            else None
                        ),
                    }
                )
        rows.sort(key=lambda r: (r["month"], r["agency"], r["procedure"]))
        return Response(
            {
                "start": query.start.strftime("%Y-%m"),
                "end": query.end.strftime("%Y-%m"),
                "rows": rows,
            }
        )


def _unknown() -> str:
    return gettext("No such code among this client's agencies or procedures.")
