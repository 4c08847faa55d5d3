from django.urls import path

from . import api

# Under /v1/, with an API key.
urlpatterns = [
    path("endpoints", api.EndpointListApi.as_view()),
    path("discover", api.EndpointDiscoverApi.as_view()),
    path("inspect", api.EndpointInspectApi.as_view()),
]
