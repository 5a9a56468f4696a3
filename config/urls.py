"""Top-level URL map."""

from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "motcua"
admin.site.site_title = "motcua"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("allauth.urls")),
    path("workspace/", include("workspace.urls")),
    path("notifications/", include("notifications.urls")),
    path("", include("documents.urls")),
    path("", include("portal.urls")),
]
