from django.urls import path

from . import api

urlpatterns = [
    path("run", api.RunCreateApi.as_view()),
    path("runs", api.RunListApi.as_view()),
    path("runs/<str:run_id>", api.RunDetailApi.as_view()),
    path("runs/<str:run_id>/stop", api.RunStopApi.as_view()),
    path("resources", api.ResourceListApi.as_view()),
]
