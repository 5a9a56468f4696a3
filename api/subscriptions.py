"""Event subscriptions over the API (/api/v1/subscriptions/): a client's own only; the
signing secret is shown once (at creation, at rotation) and the Authorization header value
it wants sent is never shown back. The deliveries of a subscription, with every attempt,
and a replay. The work itself is api.webhooks'."""

from __future__ import annotations

import uuid

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from . import webhooks
from .models import (
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    EventKind,
    Scope,
    Subscription,
    SubscriptionStatus,
)
from .pagination import KeysetPagination
from .parsers import SafeJSONParser


class ProblemFieldSerializer(serializers.Serializer):
    field = serializers.CharField()
    message = serializers.CharField()
    code = serializers.CharField()


class WebhookProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details (api.errors)."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField(required=False)
    instance = serializers.CharField(required=False)
    errors = ProblemFieldSerializer(many=True, required=False)


PROBLEM = "application/problem+json"


def _problems(*codes: int) -> dict:
    return {(code, PROBLEM): WebhookProblemSerializer for code in (401, 403, 429, *codes)}


class SubscriptionSerializer(serializers.ModelSerializer):
    agency = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    procedure = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    event_kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=EventKind.choices),
        help_text=_("Empty: every kind."),
    )
    has_auth_header = serializers.SerializerMethodField()

    class Meta:
        model = Subscription
        fields = [
            "id",
            "callback_url",
            "has_auth_header",
            "event_kinds",
            "agency",
            "procedure",
            "status",
            "paused_at",
            "pause_reason",
            "consecutive_failures",
            "created_at",
            "updated_at",
            "secret_rotated_at",
        ]
        read_only_fields = fields

    def get_has_auth_header(self, obj: Subscription) -> bool:
        return bool(obj.auth_header)


class SubscriptionWithSecretSerializer(SubscriptionSerializer):
    secret = serializers.CharField(
        help_text=_("The signing secret: shown only now. Keep it in the receiver's secrets.")
    )

    class Meta(SubscriptionSerializer.Meta):
        fields = [*SubscriptionSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class SubscriptionInputSerializer(serializers.Serializer):
    callback_url = serializers.URLField(
        max_length=webhooks.MAX_URL,
        help_text=_("http(s) URL that receives the events as JSON POSTs."),
    )
    auth_header = serializers.CharField(
        max_length=webhooks.MAX_AUTH_HEADER,
        required=False,
        allow_blank=True,
        write_only=True,
        help_text=_("The Authorization header value to send with each POST; never shown back."),
    )
    event_kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=EventKind.choices),
        required=False,
        max_length=len(EventKind.values),
        help_text=_("Empty or absent: every kind."),
    )
    agency = serializers.CharField(
        max_length=32,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text=_("Only dossiers of this agency and those below it (one of yours)."),
    )
    procedure = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text=_("Only dossiers of this procedure (national code)."),
    )


class SecretSerializer(serializers.Serializer):
    secret = serializers.CharField()


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["number", "at", "status_code", "error", "duration_ms"]


class DeliverySerializer(serializers.ModelSerializer):
    attempts_log = AttemptSerializer(source="tries", many=True, read_only=True)
    payload = serializers.JSONField()

    class Meta:
        model = Delivery
        fields = [
            "delivery_id",
            "kind",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "created_at",
            "delivered_at",
            "failed_at",
            "payload",
            "attempts_log",
        ]
        read_only_fields = fields


class DeliveryPagination(KeysetPagination):
    page_size = 50


ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="Subscription id")


@extend_schema_view(
    list=extend_schema(responses={200: SubscriptionSerializer, **_problems(400, 404)}),
    retrieve=extend_schema(
        parameters=[ID], responses={200: SubscriptionSerializer, **_problems(404)}
    ),
    create=extend_schema(
        request=SubscriptionInputSerializer,
        responses={201: SubscriptionWithSecretSerializer, **_problems(400)},
    ),
    update=extend_schema(
        parameters=[ID],
        request=SubscriptionInputSerializer,
        responses={200: SubscriptionSerializer, **_problems(400, 404)},
    ),
    partial_update=extend_schema(
        parameters=[ID],
        request=SubscriptionInputSerializer(partial=True),
        responses={200: SubscriptionSerializer, **_problems(400, 404)},
    ),
    destroy=extend_schema(
        parameters=[ID],
        responses={204: OpenApiResponse(description="Deleted"), **_problems(404)},
    ),
)
class SubscriptionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Your subscriptions to dossier events. Deliveries are JSON POSTs signed with
    HMAC-SHA256 (``X-Motcua-Signature: sha256=<hex>`` over ``"<X-Motcua-Timestamp>.<body>"``
    under the subscription's secret); ``X-Motcua-Delivery`` is the same at every retry."""

    scope = Scope.EVENTS_SUBSCRIBE
    serializer_class = SubscriptionSerializer
    parser_classes = [SafeJSONParser]
    lookup_value_regex = "[0-9]{1,18}"
    filter_backends: list = []

    def get_queryset(self):
        return (
            Subscription.objects.filter(client=self.request.auth)
            .exclude(status=SubscriptionStatus.DELETED)
            .select_related("agency", "procedure")
        )

    def _input(self, partial: bool) -> dict:
        serializer = SubscriptionInputSerializer(data=self.request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def create(self, request):
        data = self._input(partial=False)
        subscription, secret = webhooks.subscription_create(client=request.auth, **data)
        body = SubscriptionSerializer(subscription).data
        return Response({**body, "secret": secret}, status=status.HTTP_201_CREATED)

    def _update(self, request, partial: bool):
        subscription = self.get_object()
        data = self._input(partial=partial)
        if not partial:  # a full replacement: what is left out goes back to its default
            data = {"auth_header": "", "event_kinds": [], "agency": None, "procedure": None, **data}
        webhooks.subscription_update(subscription=subscription, **data)
        return Response(SubscriptionSerializer(self.get_object()).data)

    def update(self, request, pk=None):
        return self._update(request, partial=False)

    def partial_update(self, request, pk=None):
        return self._update(request, partial=True)

    def destroy(self, request, pk=None):
        webhooks.subscription_delete(subscription=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        parameters=[ID],
        request=None,
        responses={200: SubscriptionSerializer, **_problems(404)},
    )
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        """Send again after a pause: waiting deliveries go out now, in order."""
        subscription = webhooks.subscription_resume(subscription=self.get_object())
        return Response(SubscriptionSerializer(subscription).data)

    @extend_schema(
        parameters=[ID],
        request=None,
        responses={200: SecretSerializer, **_problems(404)},
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        """A new signing secret, shown only now; the old one stops at once."""
        secret = webhooks.subscription_rotate_secret(subscription=self.get_object())
        return Response({"secret": secret})

    @extend_schema(
        parameters=[
            ID,
            OpenApiParameter(
                "status", str, enum=DeliveryStatus.values, description="Only this status"
            ),
            OpenApiParameter("cursor", str, description="The pagination cursor value."),
            OpenApiParameter(
                "page_size",
                {"type": "integer", "minimum": 1, "maximum": 200},
                description="Results per page.",
            ),
        ],
        responses={200: DeliverySerializer(many=True), **_problems(400, 404)},
    )
    @action(detail=True, methods=["get"], pagination_class=DeliveryPagination)
    def deliveries(self, request, pk=None):
        """The subscription's deliveries, newest first, each with its attempts."""
        subscription = self.get_object()
        deliveries = subscription.deliveries.prefetch_related("tries")
        wanted = request.query_params.get("status")
        if wanted:
            if wanted not in DeliveryStatus.values:
                raise serializers.ValidationError(
                    {
                        "status": [
                            _("One of: %(values)s.") % {"values": ", ".join(DeliveryStatus.values)}
                        ]
                    }
                )
            deliveries = deliveries.filter(status=wanted)
        page = self.paginate_queryset(deliveries)
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "delivery_id", str, OpenApiParameter.PATH, description="The delivery's UUID"
            )
        ],
        request=None,
        responses={202: DeliverySerializer, **_problems(404)},
    )
    @action(
        detail=False,
        methods=["post"],
        url_path=r"deliveries/(?P<delivery_id>[0-9a-fA-F-]{36})/replay",
    )
    def replay(self, request, delivery_id=None):
        """Send a failed (or an already delivered) delivery again: same id, same body."""
        try:
            key = uuid.UUID(delivery_id)
        except ValueError:
            key = None
        delivery = get_object_or_404(
            Delivery.objects.filter(
                subscription__client=request.auth,
                subscription__status__in=(SubscriptionStatus.ACTIVE, SubscriptionStatus.PAUSED),
            ),
            delivery_id=key,
        )
        delivery = webhooks.delivery_replay(delivery=delivery)
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
