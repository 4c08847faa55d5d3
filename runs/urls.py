from django.urls import path

from . import api


def no_resource(operation, method):
    return api.ResourceNoneApi.as_view(operation=operation, http_method_names=[method, "options"])


urlpatterns = [
    path("run", api.RunCreateApi.as_view()),
    path("runs", api.RunListApi.as_view()),
    path("runs/<str:run_id>", api.RunDetailApi.as_view()),
    path("runs/<str:run_id>/stop", api.RunStopApi.as_view()),
    path("resources", api.ResourceListApi.as_view()),
    path("resources/<str:resource_id>", no_resource("get", "get")),
    path("resources/<str:resource_id>/events", no_resource("events", "get")),
    path("resources/<str:resource_id>/external/<str:kind>", no_resource("external", "get")),
    path("resources/<str:resource_id>/release", no_resource("release", "post")),
]
