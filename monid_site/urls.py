"""The site's URLs. Each app's are named by their module, as strings: monid_site imports no app of ours."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularRedocView

from .errors import api_route_not_found
from .middleware import content_security_policy
from .throttle import throttled

handler500 = "monid_site.errors.server_error"
# Redoc (served from our static files) injects its styles and runs its search in a worker made from a blob.
with_docs_policy = content_security_policy(
    "default-src 'self'; style-src 'self' 'unsafe-inline'; worker-src blob:; "
    "img-src 'self' data:; object-src 'none'; frame-ancestors 'none'"
)

urlpatterns = [
    # Probes, /metrics, /mcp and its OAuth metadata, the operators' pages.
    path("", include("ops.urls")),
    path("v1/openapi.json", SpectacularJSONAPIView.as_view(), name="openapi"),
    path("docs", with_docs_policy(SpectacularRedocView.as_view(url_name="openapi")), name="docs"),
    path("v1/", include("runs.urls")),
    path("v1/", include("billing.urls")),
    path("v1/", include("providers.urls")),
    path("public/v1/", include("providers.public_urls")),
    re_path(r"^v1(/|$)", api_route_not_found),
    re_path(r"^public/v1(/|$)", api_route_not_found),
    # One login page, throttled: the admin's own would be a second door without a throttle.
    path("admin/login/", RedirectView.as_view(pattern_name="login", query_string=True)),
    path("admin/", admin.site.urls),
    path(
        "login/",
        throttled("login", account_field="username")(auth_views.LoginView.as_view(redirect_authenticated_user=True)),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password-reset/",
        throttled("password-reset", account_field="email")(auth_views.PasswordResetView.as_view()),
        name="password_reset",
    ),
    path("password-reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("reset/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    # Sign-up, invitations, keys, costs, wallets, spend controls, workspaces; and OAuth for MCP hosts.
    path("", include("billing.page_urls")),
    # The dashboard and the runs' pages.
    path("", include("runs.page_urls")),
]
