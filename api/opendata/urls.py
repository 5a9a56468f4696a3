"""Open statistics: the agency's open-data list at /open-data/ (no personal data)."""

from django.urls import path

from . import views

app_name = "opendata"
urlpatterns = [
    path("", views.statistics, name="index"),
    path("statistics.json", views.statistics, {"fmt": "json"}, name="json"),
    path("statistics.csv", views.statistics, {"fmt": "csv"}, name="csv"),
]
