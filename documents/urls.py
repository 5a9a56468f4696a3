from django.urls import path

from config import bounds  # noqa: F401  (registers the <id:...> converter)

from . import views

app_name = "documents"

urlpatterns = [
    path("documents/<id:pk>/", views.download, name="download"),
    path("pki/ca.crl", views.crl, name="crl"),
    path("verify/", views.verify, name="verify"),
    path("verify/check/", views.verify_check, name="verify_check"),
    path("verify/<str:code>/", views.verify_code, name="verify_code"),
    path("verify/<str:code>/download/", views.verify_download, name="verify_download"),
]
