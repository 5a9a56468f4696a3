"""Top-level URL map."""

from django.contrib import admin
from django.urls import include, path

from security.views import admin_login

admin.site.site_header = "motcua"
admin.site.site_title = "motcua"
# No second door: the admin's login is the account login (throttled, two-factor for staff).
admin.site.login = admin_login

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("allauth.urls")),
    path("workspace/", include("workspace.urls")),
    path("notifications/", include("notifications.urls")),
    path("", include("documents.urls")),
    path("", include("portal.urls")),
]
