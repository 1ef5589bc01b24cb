"""The README cannot drift from the code: settings, commands and history codes."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

from console.cli import COMMANDS, cli
from workers import errors
from workers.secret import Secret
from workers.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def test_configuration_table_lists_every_setting_with_its_default() -> None:
    rows = re.findall(r"^\| `(PRODUCTSYNC_\w+)` \| ([^|]*) \|", section("Configuration"), re.M)
    documented = dict(rows)
    defaults = Settings()
    expected = {f"PRODUCTSYNC_{f.name.upper()}": f.name for f in dataclasses.fields(Settings)}
    assert list(documented) == list(expected), "README's table and workers/settings.py differ"
    for var, name in expected.items():
        value = getattr(defaults, name)
        shown = documented[var].strip()
        if isinstance(value, Secret):
            value = value.reveal()
        if value in ("", None):
            assert shown.startswith("(empty"), var
        else:
            assert shown.startswith(f"`{value}`"), f"{var}: README says {shown}, code {value!r}"


def test_command_reference_names_every_command() -> None:
    reference = section("Command line")
    for module in COMMANDS:
        name = cli.commands[module.replace("_", "-")].name
        assert re.search(rf"^\| `{name}\b", reference, re.M), f"`{name}` missing"
    assert re.search(r"^\| `connect hubspot", reference, re.M)


def _codes() -> set[str]:
    """Every error code the engine, mapping, connectors and auth can record."""
    found = {
        cls.default_code
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.SyncError)
    }
    pattern = re.compile(r"[a-z]+(?:_[a-z]+)+|[a-z]+")
    for path in (ROOT / "workers").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            for kw in node.keywords:
                if kw.arg == "code" and isinstance(kw.value, ast.Constant):
                    found.add(kw.value.value)
            callee = ast.unparse(node.func)
            # The engine's skips and the mapping rules name their code first.
            if callee.endswith(("Skip", "ctx.bad", "ctx.missing")) and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and pattern.fullmatch(first.value):
                    found.add(first.value)
    return found


def test_every_history_code_is_explained() -> None:
    text = section("Reading the history") + section("What gets synced")
    codes = _codes()
    assert {"missing_sku", "duplicate_name", "source_archived", "attempts_exhausted"} <= codes
    missing = sorted(c for c in codes if f"`{c}`" not in text)
    assert missing == [], f"codes not explained in the README: {missing}"
