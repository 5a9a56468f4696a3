"""Top-level URL map."""

from allauth import urls as allauth_urls
from django.contrib import admin
from django.urls import URLPattern, include, path
from django.views import defaults

from api.errors import api_not_found, api_server_error, is_api
from config import health, metrics
from security.views import admin_login

admin.site.site_header = "motcua"
admin.site.site_title = "motcua"
# No second door: the admin's login is the account login (throttled, two-factor for staff).
admin.site.login = admin_login

# allauth's legacy redirects (social/...) to its 3rdparty/ pages: a new install has no old
# links to keep, and every route here has a name (tests/config/test_url_matrix.py).
_accounts = [
    p for p in allauth_urls.urlpatterns if not (isinstance(p, URLPattern) and p.name is None)
]

urlpatterns = [
    # Probes and metrics: answered by config.health.ProbeMiddleware before host checks.
    path("health/live", health.live, name="health_live"),
    path("health/ready", health.ready, name="health_ready"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include(_accounts)),
    path("workspace/", include("workspace.urls")),
    path("notifications/", include("notifications.urls")),
    path("api/v1/", include("api.urls")),
    path("open-data/", include("api.opendata.urls")),
    path("payments/", include("connectors.payment.urls")),
    path("", include("documents.urls")),
    path("", include("portal.urls")),
]


def handler404(request, exception):
    if is_api(request):
        return api_not_found(request, exception)
    return defaults.page_not_found(request, exception)


def handler500(request):
    if is_api(request):
        return api_server_error(request)
    return defaults.server_error(request)
