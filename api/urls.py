"""The integration API, version 1 (/api/v1/): the OpenAPI schema, its human docs, and the
endpoints of each part (catalog, dossiers, subscriptions)."""

from django.urls import path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)
from rest_framework.routers import SimpleRouter

from . import catalog, subscriptions

app_name = "api"
router = SimpleRouter()
router.register("agencies", catalog.AgencyViewSet, basename="agency")
router.register("procedures", catalog.ProcedureViewSet, basename="procedure")
router.register("subscriptions", subscriptions.SubscriptionViewSet, basename="subscription")
urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file of its own: no inline
    # script, so the site's Content-Security-Policy holds on the docs page too.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api:schema"), name="redoc"),
    *router.urls,
]
