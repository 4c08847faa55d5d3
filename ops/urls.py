from django.urls import path

from . import health, metrics, views
from .mcp_server import McpApi, protected_resource_metadata

# At the site's root.
urlpatterns = [
    path("healthz", health.healthz, name="healthz"),  # probes: unauthenticated, exempt from the HTTPS redirect
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_page, name="metrics"),  # Prometheus, with MONID_METRICS_TOKEN; not an API key
    path("mcp", McpApi.as_view(), name="mcp"),  # the MCP server: the same API as tools for a model
    # OAuth for MCP hosts without a pasted key (billing/oauth.py): /mcp's metadata names this server's
    path(".well-known/oauth-protected-resource/mcp", protected_resource_metadata, name="oauth-resource-metadata"),
    path(".well-known/oauth-protected-resource", protected_resource_metadata),
    path("ops/queue/", views.queue_health, name="ops-queue"),
    path("ops/providers/", views.provider_health, name="ops-providers"),
]
