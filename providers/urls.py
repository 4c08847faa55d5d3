from django.urls import path

from . import api

# Under /v1/, with an API key.
urlpatterns = [
    path("endpoints", api.EndpointListApi.as_view()),
    path("discover", api.EndpointDiscoverApi.as_view()),
    path("inspect", api.EndpointInspectApi.as_view()),
]

# Under /public/v1/, for anyone.
public_urlpatterns = [
    path("stats", api.CatalogStatsApi.as_view()),
    path("providers", api.ProviderListApi.as_view()),
    path("providers/<str:provider>/endpoints", api.ProviderEndpointListApi.as_view()),
    path("providers/<str:provider>/endpoints/<path:endpoint>", api.EndpointDetailApi.as_view()),
    path("search", api.EndpointSearchApi.as_view()),
]
