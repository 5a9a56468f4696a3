from django.urls import path

from . import receipts, views

app_name = "notifications"

urlpatterns = [
    path("", views.centre, name="centre"),
    path("read/", views.mark_read, name="mark_read"),
    path("preferences/", views.preferences, name="preferences"),
    path("sms/receipts/", receipts.sms_receipt, name="sms_receipt"),
]
