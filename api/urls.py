"""The integration API, version 1 (/api/v1/): the OpenAPI schema, its human docs, and the
endpoints of each part (catalog, dossiers, subscriptions)."""

from csp.decorators import csp_update
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from . import catalog, dossiers, statistics, subscriptions

app_name = "api"
_inline_styles = csp_update({"style-src": ["'unsafe-inline'"]})
router = SimpleRouter()
router.register("agencies", catalog.AgencyViewSet, basename="agency")
router.register("procedures", catalog.ProcedureViewSet, basename="procedure")
router.register("dossiers", dossiers.DossierViewSet, basename="dossier")
router.register("subscriptions", subscriptions.SubscriptionViewSet, basename="subscription")
urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file of its own: no inline
    # script, so the site's Content-Security-Policy holds on the docs page too.
    # Swagger UI sets style attributes from its scripts: on this page only, inline styles
    # (never scripts) are allowed. (Redoc is not served: its page loads fonts from Google.)
    path(
        "docs/",
        _inline_styles(SpectacularSwaggerSplitView.as_view(url_name="api:schema")),
        name="docs",
    ),
    path("statistics/", statistics.StatisticsView.as_view(), name="statistics"),
    *router.urls,
]
