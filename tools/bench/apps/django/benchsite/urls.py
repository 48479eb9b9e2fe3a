from django.urls import path

from bench import views

urlpatterns = [
    path("health", views.health),
    path("io/file", views.io_file),
    path("db/select", views.db_select),
    path("db/insert", views.db_insert),
    path("db/transaction", views.db_transaction),
    path("json", views.json_endpoint),
    path("fs/list", views.fs_list),
    path("config", views.config),
]
