"""The documentation names only what exists: every `make` target and `manage.py` command it shows, and every file
and heading its relative links point at."""

import re
from pathlib import Path

from django.conf import settings
from django.core.management import get_commands

ROOT = Path(settings.BASE_DIR)
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LINKED_DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE)
SPAN = re.compile(r"`([^`]+)`")  # an inline span may wrap onto the next line
MAKE = re.compile(r"(?:^|[\s;&|(\0])make\s+([A-Za-z][\w.-]*)", re.MULTILINE)
MANAGE = re.compile(r"manage\.py\s+([a-z][a-z0-9_]*)")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def code_of(text: str) -> str:
    """The text's code: fenced blocks and inline spans, where commands are shown (prose says "make" otherwise)."""
    blocks = FENCE.findall(text)
    spans = SPAN.findall(FENCE.sub("", text))
    return "\0".join([*blocks, *spans])  # \0 is not whitespace: a name never runs on into the next span


def named(pattern: re.Pattern, text: str) -> set[str]:
    """The names that follow `make` or `manage.py` on a line of the text's code."""
    return set(pattern.findall(code_of(text)))


def makefile_targets() -> set[str]:
    return set(re.findall(r"^([A-Za-z][\w.-]*)\s*:(?!=)", (ROOT / "Makefile").read_text(), re.MULTILINE))


def heading_anchors(path: Path) -> set[str]:
    """GitHub's anchors for a Markdown file's headings: lower case, punctuation dropped, spaces as hyphens."""
    text = FENCE.sub("", path.read_text())
    anchors = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*$", text, re.MULTILINE):
        anchors.add(re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-"))
    return anchors


def relative_links(path: Path) -> list[str]:
    links = LINK.findall(FENCE.sub("", path.read_text()))
    return [link for link in links if not re.match(r"[a-z][a-z0-9+.-]*:", link)]


def test_the_parsers_find_the_commands_the_readme_shows():
    readme = (ROOT / "README.md").read_text()

    assert {"run", "test"} <= named(MAKE, readme)
    assert named(MAKE, '`make test ARGS="-k x"`, `make bench-nonsense`') == {"test", "bench-nonsense"}
    assert named(MANAGE, "```sh\npython manage.py seed_catalog\nDJANGO_DEBUG=1 manage.py doctor --x\n```") == {
        "seed_catalog",
        "doctor",
    }
    assert named(MAKE, "to make sure, make it so") == set()
    assert named(MAKE, "you need `make`; then `ARGS` go to it") == set()
    assert named(MANAGE, "`python manage.py\nprovider_health` prints it") == {"provider_health"}
    assert {"run", "test", "bench-sync"} <= makefile_targets()
    assert "seed_catalog" in get_commands() and "made_up_command" not in get_commands()


def named_but_missing(pattern, command, known):
    """Each name the docs give after `command` that is not among `known`, as "<doc>: <command> <name>"."""
    return {
        f"{path.relative_to(ROOT)}: {command} {name}"
        for path in DOCS
        for name in named(pattern, path.read_text())
        if name not in known
    }


def test_every_make_target_the_docs_name_is_in_the_makefile():
    assert not named_but_missing(MAKE, "make", makefile_targets())


def test_every_manage_py_command_the_docs_name_exists():
    assert not named_but_missing(MANAGE, "manage.py", get_commands())


def test_the_link_checker_sees_a_broken_link():
    assert relative_links(ROOT / "README.md")
    assert "no-such-heading" not in heading_anchors(ROOT / "docs" / "operations.md")
    assert "production-configuration" in heading_anchors(ROOT / "docs" / "operations.md")


def test_every_relative_link_in_the_readme_and_docs_points_at_something_that_exists():
    broken = []
    for path in LINKED_DOCS:
        for link in relative_links(path):
            target, _, anchor = link.partition("#")
            file = (path.parent / target).resolve() if target else path
            if not file.exists():
                broken.append(f"{path.relative_to(ROOT)}: {link} (no such file)")
            elif anchor and file.suffix == ".md" and anchor not in heading_anchors(file):
                broken.append(f"{path.relative_to(ROOT)}: {link} (no such heading)")

    assert not broken
