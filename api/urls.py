"""The integration API, version 1 (/api/v1/)."""

app_name = "api"
urlpatterns: list = []
