from django.urls import path

from . import views

# The pages, at the site's root.
urlpatterns = [
    path("", views.home, name="home"),
    path("runs/", views.run_list, name="run-list"),
    path("runs/live/", views.run_list_live, name="run-list-live"),
    path("runs/<str:run_id>/", views.run_detail, name="run-detail"),
    path("runs/<str:run_id>/output.json", views.run_output, name="run-output"),
    path("runs/<str:run_id>/stop/", views.run_stop, name="run-stop"),
]
