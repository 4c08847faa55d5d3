from django.urls import path

from . import api

# Under /public/v1/, for anyone.
urlpatterns = [
    path("stats", api.CatalogStatsApi.as_view()),
    path("providers", api.ProviderListApi.as_view()),
    path("providers/<str:provider>/endpoints", api.ProviderEndpointListApi.as_view()),
    path("providers/<str:provider>/endpoints/<path:endpoint>", api.EndpointDetailApi.as_view()),
    path("search", api.EndpointSearchApi.as_view()),
]
