from monid_site.errors import ApplicationError

from .models import Endpoint


def endpoint_get_enabled(*, provider: str, path: str) -> Endpoint:
    """The enabled endpoint a client named, or a 404 that says what was not found."""
    endpoint = (
        Endpoint.objects.select_related("provider")
        .filter(provider__slug=provider, path=path, enabled=True, provider__enabled=True)
        .first()
    )
    if endpoint is None:
        raise ApplicationError(404, f"There is no enabled endpoint {path!r} on provider {provider!r}. "
                                    "Check the provider slug and the endpoint path (it starts with '/').")
    return endpoint
