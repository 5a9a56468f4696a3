"""Open statistics: the agency's open-data list at /open-data/ (no personal data)."""

from django.urls import path

from . import views

app_name = "opendata"
urlpatterns = [
    path("", views.index, name="index"),
    path("statistics.json", views.statistics_json, name="json"),
    path("statistics.csv", views.statistics_csv, name="csv"),
]
