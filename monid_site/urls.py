from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularRedocView

from billing import oauth
from billing import views as billing_views
from providers import urls as providers_urls
from runs import views as runs_views

from . import health, metrics, ops
from .errors import api_route_not_found
from .mcp_server import McpApi, protected_resource_metadata
from .middleware import content_security_policy
from .throttle import throttled

handler500 = "monid_site.errors.server_error"
# Redoc (served from our static files) injects its styles and runs its search in a worker made from a blob.
with_docs_policy = content_security_policy("default-src 'self'; style-src 'self' 'unsafe-inline'; worker-src blob:; "
                                      "img-src 'self' data:; object-src 'none'; frame-ancestors 'none'")

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),  # probes: unauthenticated, exempt from the HTTPS redirect
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_page, name="metrics"),  # Prometheus, with MONID_METRICS_TOKEN; not an API key
    path("v1/openapi.json", SpectacularJSONAPIView.as_view(), name="openapi"),
    path("docs", with_docs_policy(SpectacularRedocView.as_view(url_name="openapi")), name="docs"),
    path("v1/", include("runs.urls")),
    path("v1/", include("billing.urls")),
    path("v1/", include("providers.urls")),
    path("public/v1/", include(providers_urls.public_urlpatterns)),
    path("mcp", McpApi.as_view(), name="mcp"),  # the MCP server: the same API as tools for a model
    # OAuth for MCP hosts without a pasted key (billing/oauth.py): /mcp's metadata names this server's
    path(".well-known/oauth-protected-resource/mcp", protected_resource_metadata, name="oauth-resource-metadata"),
    path(".well-known/oauth-protected-resource", protected_resource_metadata),
    path(".well-known/oauth-authorization-server", oauth.authorization_server_metadata, name="oauth-metadata"),
    path("oauth/register", oauth.register, name="oauth-register"),
    path("oauth/authorize", oauth.authorize, name="oauth-authorize"),
    path("oauth/token", oauth.token, name="oauth-token"),
    path("oauth/revoke", oauth.revoke, name="oauth-revoke"),
    re_path(r"^v1(/|$)", api_route_not_found),
    re_path(r"^public/v1(/|$)", api_route_not_found),
    # One login page, throttled: the admin's own would be a second door without a throttle.
    path("admin/login/", RedirectView.as_view(pattern_name="login", query_string=True)),
    path("admin/", admin.site.urls),
    path("login/", throttled("login", account_field="username")(
        auth_views.LoginView.as_view(redirect_authenticated_user=True)), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("signup/", throttled("sign-up", account_field="email")(billing_views.sign_up), name="signup"),
    path("password-reset/", throttled("password-reset", account_field="email")(auth_views.PasswordResetView.as_view()),
         name="password_reset"),
    path("password-reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("reset/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("invite/<str:token>/", billing_views.invitation_page, name="invitation"),
    path("workspace/", billing_views.customer_workspace, name="customer-workspace"),
    path("workspace/invitations/withdraw/", billing_views.invitation_withdraw, name="invitation-withdraw"),
    path("usage/", billing_views.usage, name="usage"),
    path("keys/<path:label>/edit/", billing_views.key_edit, name="key-edit"),
    path("", runs_views.home, name="home"),
    path("runs/", runs_views.run_list, name="run-list"),
    path("runs/live/", runs_views.run_list_live, name="run-list-live"),
    path("runs/<str:run_id>/", runs_views.run_detail, name="run-detail"),
    path("runs/<str:run_id>/output.json", runs_views.run_output, name="run-output"),
    path("runs/<str:run_id>/stop/", runs_views.run_stop, name="run-stop"),
    path("keys/", billing_views.key_list, name="key-list"),
    path("keys/<path:label>/revoke/", billing_views.key_revoke, name="key-revoke"),
    path("costs/", billing_views.cost_summary, name="cost-summary"),
    path("wallet/", billing_views.customer_wallet, name="customer-wallet"),
    path("controls/", billing_views.spend_controls, name="spend-controls"),
    path("controls/<str:control_id>/status/", billing_views.spend_control_status, name="spend-control-status"),
    path("workspaces/", billing_views.workspace_list, name="workspace-list"),
    path("workspaces/<slug:slug>/", billing_views.workspace_detail, name="workspace-detail"),
    path("ops/queue/", ops.queue_health, name="ops-queue"),
    path("ops/providers/", ops.provider_health, name="ops-providers"),
    path("workspaces/<slug:slug>/wallet/", billing_views.workspace_wallet, name="workspace-wallet"),
]
