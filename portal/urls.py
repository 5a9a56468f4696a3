from django.urls import path

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
    path("me/dossiers/<int:pk>/", views.dossier_detail, name="dossier"),
    path("me/dossiers/<int:pk>/edit/", views.edit, name="edit"),
    path("me/dossiers/<int:pk>/review/", views.review, name="review"),
    path("me/dossiers/<int:pk>/receipt/", views.receipt, name="receipt"),
    path("me/dossiers/<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("me/dossiers/<int:pk>/rate/", views.rate, name="rate"),
    path("me/dossiers/<int:pk>/result/", views.result, name="result"),
    path("me/dossiers/<int:pk>/files/<int:component_pk>/", views.component_file, name="file"),
]
