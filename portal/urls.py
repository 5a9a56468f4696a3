from django.urls import path

from config import bounds  # noqa: F401  (registers the <id:...> converter)

from . import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("procedures/<str:code>/", views.procedure_detail, name="procedure"),
    path("procedures/<str:code>/apply/", views.apply, name="apply"),
    path("lookup/", views.lookup, name="lookup"),
    path("me/", views.after_login, name="after_login"),
    path("me/profile/", views.profile, name="profile"),
    path("me/dossiers/", views.my_dossiers, name="my_dossiers"),
    path("me/dossiers/<id:pk>/", views.dossier_detail, name="dossier"),
    path("me/dossiers/<id:pk>/edit/", views.edit, name="edit"),
    path("me/dossiers/<id:pk>/review/", views.review, name="review"),
    path("me/dossiers/<id:pk>/receipt/", views.receipt, name="receipt"),
    path("me/dossiers/<id:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("me/dossiers/<id:pk>/rate/", views.rate, name="rate"),
    path("me/dossiers/<id:pk>/result/", views.result, name="result"),
    path("me/dossiers/<id:pk>/files/<id:component_pk>/", views.component_file, name="file"),
]
