"""The production configuration docs/operations.md documents passes `manage.py check --deploy`, and a production
configuration that lacks something fails it, naming the problem."""

import ast
import re
import secrets
import subprocess
import sys

from django.conf import settings


def documented_environment() -> dict:
    """The variables of the documented production block, exactly, with a generated secret key for its placeholder."""
    operations = settings.BASE_DIR.joinpath("docs", "operations.md").read_text()
    section = operations.split("### Production configuration", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL).group(1)
    env = dict(line.split("#", 1)[0].strip().split("=", 1) for line in block.splitlines() if line.strip())
    assert env["DJANGO_SECRET_KEY"] == "…"
    return {**env, "DJANGO_SECRET_KEY": secrets.token_urlsafe(50)}


def check_deploy(env: dict) -> subprocess.CompletedProcess:
    """`manage.py check --deploy` in a process that sees this environment and nothing else of ours."""
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_documented_production_environment_passes_the_deploy_check():
    env = documented_environment()
    assert env["DJANGO_DEBUG"] == "0" and env["DATABASE_URL"].startswith("postgres://")

    result = check_deploy(env)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key_of_its_own():
    env = documented_environment()
    del env["DJANGO_SECRET_KEY"]

    result = check_deploy(env)

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is 0" in result.stderr


def test_a_weak_secret_key_fails_the_deploy_check():
    result = check_deploy({**documented_environment(), "DJANGO_SECRET_KEY": "too-short"})

    assert result.returncode != 0
    assert "security.W009" in result.stderr


def test_turning_https_off_in_production_fails_the_deploy_check_naming_each_setting():
    result = check_deploy(
        {**documented_environment(), "DJANGO_SECURE_SSL_REDIRECT": "0", "DJANGO_SECURE_HSTS_SECONDS": "0"}
    )

    assert result.returncode != 0
    assert "security.W008" in result.stderr and "SECURE_SSL_REDIRECT" in result.stderr
    assert "security.W004" in result.stderr and "SECURE_HSTS_SECONDS" in result.stderr


def test_a_proxy_header_that_is_not_a_header_name_stops_the_start():
    result = check_deploy({**documented_environment(), "DJANGO_SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto: https"})

    assert result.returncode != 0
    assert "DJANGO_SECURE_PROXY_SSL_HEADER must be a header name" in result.stderr


def settings_under(env: dict, *names: str) -> tuple:
    """These settings as a process with this environment, and no other, loads them."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            f"from monid_site import settings; print(repr(tuple(getattr(settings, n) for n in {names!r})))",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return ast.literal_eval(result.stdout)


def test_a_laptop_needs_only_debug_which_make_run_sets():
    assert settings_under(
        {"DJANGO_DEBUG": "1"}, "DEBUG", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SESSION_COOKIE_SECURE"
    ) == (True, False, 0, False)
    assert "setup run: export DJANGO_DEBUG ?= 1" in settings.BASE_DIR.joinpath("Makefile").read_text()


def test_a_deployment_that_forgets_debug_runs_as_production():
    result = subprocess.run(
        [sys.executable, "-c", "from monid_site import settings"],
        cwd=settings.BASE_DIR,
        env={},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (
        result.returncode != 0 and "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is 0 (its default)" in result.stderr
    )
    assert settings_under(
        {"DJANGO_SECRET_KEY": secrets.token_urlsafe(50)}, "DEBUG", "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE"
    ) == (False, True, True)


def test_the_proxys_header_is_what_tells_django_a_request_came_over_https():
    env = documented_environment()

    assert env["DJANGO_SECURE_PROXY_SSL_HEADER"] == "X-Forwarded-Proto"
    assert settings_under(env, "SECURE_PROXY_SSL_HEADER") == (("HTTP_X_FORWARDED_PROTO", "https"),)
