"""The API keys that `monid keys` stores, in the very files of Monid's own CLI (@monid-ai/cli 0.1.7), so that a key
added with either CLI works with both: `credentials.yaml` holds the keys by label, `config.yaml` the active label
(among the CLI's own settings, which are kept as they are)."""

from __future__ import annotations

import datetime
import os
import tempfile
from pathlib import Path

import yaml


class CredentialError(Exception):
    """A key, a label or a file refused; the message is the one Monid's CLI prints, where it has one."""


def config_dir() -> Path:
    """$XDG_CONFIG_HOME/monid, else ~/.config/monid, as Monid's CLI finds it."""
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "monid"


def keys_list() -> list[dict]:
    """The stored keys as Monid's CLI lists them with --json: each key obfuscated, the active one marked."""
    active = _read("config").get("active_key")
    return [
        {
            "label": label,
            "prefix": stored.get("prefix"),
            "key": _obfuscated(stored.get("key", "")),
            "added_at": stored.get("added_at"),
            "active": label == active,
        }
        for label, stored in _keys().items()
    ]


def key_add(*, key: str, label: str) -> bool:
    """Stores a key under a new label; the first key stored becomes the active one (and then True)."""
    if not _valid(key):
        raise CredentialError("Invalid API key format. Expected: monid_<stage>_<secret>")
    credentials = _read("credentials")
    keys = credentials.get("keys") or {}
    if label in keys:
        raise CredentialError(f'A key with label "{label}" already exists. Use a different label.')
    # Milliseconds and a Z, as JavaScript's toISOString() writes them.
    added_at = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    keys[label] = {"key": key, "prefix": key.rsplit("_", 1)[0], "added_at": added_at}
    _write("credentials", {**credentials, "keys": keys})
    first = len(keys) == 1
    if first:
        _activate(label)
    return first


def key_remove(*, label: str) -> None:
    """Forgets a key; if it was the active one, no key is active any more."""
    credentials = _read("credentials")
    keys = credentials.get("keys") or {}
    if label not in keys:
        raise CredentialError(f'No key found with label "{label}".')
    del keys[label]
    _write("credentials", {**credentials, "keys": keys})
    if _read("config").get("active_key") == label:
        _activate("")


def key_activate(*, label: str) -> None:
    """Makes a stored key the one commands use when given none."""
    if label not in _keys():
        raise CredentialError(f'No key found with label "{label}". Run "monid keys list" to see available keys.')
    _activate(label)


def active_key() -> str | None:
    """The active stored key, if one is set and still stored."""
    label = _read("config").get("active_key")
    return _keys().get(label, {}).get("key") if label else None


def _valid(key: str) -> bool:
    # Monid's CLI asks no more than this: three parts or more, the first "monid" (the secret is the last part).
    parts = key.split("_")
    return len(parts) >= 3 and parts[0] == "monid"


def _obfuscated(key: str) -> str:
    """The key's prefix and the secret's last character, as Monid's CLI shows a key."""
    if key.count("_") < 2:
        return "***"
    prefix, secret = key.rsplit("_", 1)
    return f"{prefix}_{'·' * 6}{secret[-1:]}"


def _keys() -> dict:
    return _read("credentials").get("keys") or {}


def _activate(label: str) -> None:
    """Sets config.yaml's active_key ("" for none), keeping the CLI's other settings there as they are."""
    _write("config", {**_read("config"), "active_key": label})


def _read(name: str) -> dict:
    """One of the two files, {} while it does not exist. BaseLoader reads every value as the text written, as Monid's
    CLI does (the safe loader would make a datetime of `added_at`), so what is written back is what was read."""
    path = config_dir() / f"{name}.yaml"
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader) or {}
    except FileNotFoundError:
        return {}
    except (OSError, yaml.YAMLError) as exc:
        raise CredentialError(f"cannot read {path}: {exc}") from None


def _write(name: str, content: dict) -> None:
    """Replaces one of the two files at once (a reader never sees half of it), readable by its owner alone."""
    directory = config_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")  # mode 0600
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                file.write(yaml.safe_dump(content, sort_keys=False, allow_unicode=True))
            os.replace(temporary, directory / f"{name}.yaml")
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError as exc:
        raise CredentialError(f"cannot write {directory / name}.yaml: {exc}") from None
