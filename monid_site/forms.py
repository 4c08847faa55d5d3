"""The pages' side of "every state change goes through a service": a posted form, a service call, and the
service's refusal shown on the form, as the API shows it as {code, message}."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import ApplicationError


@dataclass
class Submission:
    """What a posted form came to: the service's `result` when `ok`, else the status to show the form again with."""

    ok: bool
    result: Any = None
    status: int = 200


def form_submit(form, call: Callable[[dict], Any], *, field: str | None = None) -> Submission:
    """Validates `form` and passes its cleaned data to `call`. An invalid form is a 400; a service's
    ApplicationError becomes the form's error (on `field`, or the whole form's) with its status."""
    if not form.is_valid():
        return Submission(ok=False, status=400)
    try:
        return Submission(ok=True, result=call(form.cleaned_data))
    except ApplicationError as exc:
        form.add_error(field, exc.message)
        return Submission(ok=False, status=exc.status_code)
