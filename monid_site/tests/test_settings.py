import os
import subprocess
import sys

import pytest
from django.conf import settings


def load_settings(**env):
    return subprocess.run(
        [sys.executable, "-c", "import monid_site.settings"],
        cwd=settings.BASE_DIR,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize(
    "name, value",
    [
        ("DJANGO_DEBUG", "maybe"),
        ("DATABASE_URL", "mysql://x/y"),
        ("REDIS_URL", "localhost:6379"),
        ("APIFY_API_BASE_URL", "api.apify.com"),
        ("PDL_API_BASE_URL", "ftp://x"),
        ("DJANGO_ALLOWED_HOSTS", " , "),
        ("MONID_RATE_LIMIT_PER_MINUTE", "0"),
        ("MONID_RATE_LIMIT_PER_MINUTE", "lots"),
    ],
)
def test_a_bad_value_fails_at_start_naming_the_variable(name, value):
    result = load_settings(**{name: value})
    assert result.returncode != 0
    assert f"{name} must" in result.stderr


def test_the_defaults_work_on_a_laptop():
    result = load_settings()
    assert result.returncode == 0, result.stderr
