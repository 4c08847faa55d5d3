from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularRedocView

from billing import views as billing_views
from runs import views as runs_views

from .errors import api_route_not_found

handler500 = "monid_site.errors.server_error"

urlpatterns = [
    path("v1/openapi.json", SpectacularJSONAPIView.as_view(), name="openapi"),
    path("docs", SpectacularRedocView.as_view(url_name="openapi"), name="docs"),
    path("v1/", include("runs.urls")),
    path("v1/", include("billing.urls")),
    re_path(r"^v1(/|$)", api_route_not_found),
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", runs_views.home, name="home"),
    path("runs/", runs_views.run_list, name="run-list"),
    path("runs/<str:run_id>/", runs_views.run_detail, name="run-detail"),
    path("keys/", billing_views.key_list, name="key-list"),
    path("keys/<path:label>/revoke/", billing_views.key_revoke, name="key-revoke"),
    path("costs/", billing_views.cost_summary, name="cost-summary"),
    path("wallet/", billing_views.customer_wallet, name="customer-wallet"),
    path("controls/", billing_views.spend_controls, name="spend-controls"),
    path("controls/<str:control_id>/status/", billing_views.spend_control_status, name="spend-control-status"),
    path("workspaces/", billing_views.workspace_list, name="workspace-list"),
    path("workspaces/<slug:slug>/wallet/", billing_views.workspace_wallet, name="workspace-wallet"),
]
