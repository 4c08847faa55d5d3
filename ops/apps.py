from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Operations, on top of every app: metrics' gauges, the operators' pages, probes, `doctor` and the MCP server."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "ops"
