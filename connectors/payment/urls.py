from django.urls import path

from config import bounds  # noqa: F401  (registers the <id:...> converter)

from . import views

app_name = "payment"

urlpatterns = [
    path("dossiers/<id:pk>/pay/", views.start, name="start"),
    path("callback/", views.callback, name="callback"),
    path("<str:reference>/return/", views.payment_return, name="return"),
    path("<str:reference>/receipt/", views.payment_receipt, name="receipt"),
]
