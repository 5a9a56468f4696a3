from django.urls import path

from config import bounds  # noqa: F401  (registers the <id:...> converter)

from . import access, dashboard, views

app_name = "workspace"

urlpatterns = [
    path("", views.home, name="home"),
    path("queue/", views.queue, name="queue"),
    path("queue/claim/", views.bulk_claim, name="bulk_claim"),
    path("inbox/", views.inbox, name="inbox"),
    path("done/", views.done, name="done"),
    path("team/", views.team, name="team"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("dashboard/dossiers/", dashboard.dashboard_dossiers, name="dashboard_dossiers"),
    path("service-index/", dashboard.service_index, name="service_index"),
    path("access/", access.access_log, name="access_log"),
    path("tasks/<id:pk>/", views.task_detail, name="task"),
    path("tasks/<id:pk>/claim/", views.task_claim, name="claim"),
    path("tasks/<id:pk>/release/", views.task_release, name="release"),
    path("tasks/<id:pk>/assign/", views.task_assign, name="assign"),
    path("tasks/<id:pk>/act/", views.task_act, name="act"),
    path("dossiers/<id:pk>/", views.dossier_detail, name="dossier"),
    path("dossiers/<id:pk>/reschedule/", views.dossier_reschedule, name="reschedule"),
    path("dossiers/<id:pk>/fee/confirm/", views.fee_confirm, name="fee_confirm"),
    path("dossiers/<id:pk>/files/<id:component_pk>/", views.component_file, name="file_download"),
    path("certificate/", views.certificate, name="certificate"),
    path("file/", views.file_start, name="file"),
    path("file/<str:agency_code>/<str:procedure_code>/", views.file_new, name="file_new"),
    path("drafts/<id:pk>/", views.file_draft, name="draft"),
]
