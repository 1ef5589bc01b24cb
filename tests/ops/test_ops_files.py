"""The alert rules and the dashboard in ops/ load, and name only metrics the code exports.

promtool is not available here, so the rules are checked for Prometheus' structure
(groups → rules with alert, expr, for, labels, annotations) and every PromQL expression is
reduced to the names it uses: each must be a function or keyword of PromQL or a series
the exporter writes (`workers.metrics.catalog`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from workers.metrics import catalog

OPS = Path(__file__).resolve().parents[2] / "ops"
RULES = OPS / "prometheus" / "productsync-rules.yml"
DASHBOARD = OPS / "grafana" / "productsync-dashboard.json"
EXAMPLE = OPS / "prometheus" / "prometheus.example.yml"

FUNCTIONS = {"rate", "sum", "max_over_time", "histogram_quantile"}
KEYWORDS = {"and", "or", "unless", "on", "ignoring", "by", "without", "bool"}
DURATION = re.compile(r"^\d+[smhdw]$")


def names_in(expr: str) -> set[str]:
    """The series names an expression reads (label matchers, strings, grouping lists and
    range selectors removed first, so label names are not mistaken for series)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", " ", expr)
    used = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*(\s*\()?", expr):
        word, call = match.group(0).rstrip("( \t\n"), match.group(1)
        if call:
            assert word in FUNCTIONS, f"unknown function {word!r} in {expr!r}"
        elif word not in KEYWORDS:
            used.add(word)
    return used


def check_expression(expr: str) -> None:
    used = names_in(expr)
    assert used, f"{expr!r} reads no metric"
    unknown = used - catalog.series_names()
    assert not unknown, f"{expr!r} names metrics the code does not export: {unknown}"


def test_names_in_sees_through_matchers_and_grouping() -> None:
    expr = 'sum by (account) (rate(productsync_jobs{state="a b", x=~"y"}[5m])) > on (account) z'
    assert names_in(expr) == {"productsync_jobs", "z"}
    with pytest.raises(AssertionError, match="not export"):
        check_expression("productsync_jobs_typo > 1")


def test_alert_rules_have_prometheus_structure_and_known_metrics() -> None:
    document = yaml.safe_load(RULES.read_text())
    assert set(document) == {"groups"}
    alerts: list[str] = []
    for group in document["groups"]:
        assert set(group) == {"name", "rules"} and group["rules"]
        for rule in group["rules"]:
            assert set(rule) == {"alert", "expr", "for", "labels", "annotations"}, rule
            assert re.fullmatch(r"[A-Z][A-Za-z]+", rule["alert"])
            assert DURATION.match(rule["for"]), rule["for"]
            assert rule["labels"]["severity"] in ("warning", "critical")
            assert {"summary", "description"} <= set(rule["annotations"])
            check_expression(rule["expr"])
            alerts.append(rule["alert"])
    assert len(alerts) == len(set(alerts))
    # What the issue asks an operator to be told about.
    for needed in (
        "ProductsyncPollsStalled",
        "ProductsyncFailureRatioHigh",
        "ProductsyncOldestPendingJob",
        "ProductsyncTokenExpiringSoon",
        "ProductsyncNeedsReauth",
        "ProductsyncCircuitOpen",
    ):
        assert needed in alerts


def test_the_token_alert_fires_within_fourteen_days() -> None:
    [rule] = [
        r
        for g in yaml.safe_load(RULES.read_text())["groups"]
        for r in g["rules"]
        if r["alert"] == "ProductsyncTokenExpiringSoon"
    ]
    assert rule["expr"] == "productsync_token_expiry_seconds < 14 * 86400"


def test_dashboard_loads_and_queries_only_exported_metrics() -> None:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["title"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    for variable in dashboard["templating"]["list"]:
        # Grafana's label_values(series, label): the label must be one the series has.
        series, label = re.fullmatch(r"label_values\((\w+), (\w+)\)", variable["query"]).groups()
        [family] = [f for f in catalog.FAMILIES if f.name == series]
        assert label in family.labels
    used: set[str] = set()
    for expr in exprs:
        check_expression(expr.replace("$account", "x"))
        used |= names_in(expr)
    # Every exported family is on the dashboard somewhere.
    missing = [f.name for f in catalog.FAMILIES if not set(f.series_names) & used]
    assert not missing, f"exported but on no panel: {missing}"


def test_the_example_prometheus_config_loads_the_rules_with_a_bearer_token() -> None:
    config = yaml.safe_load(EXAMPLE.read_text())
    assert config["rule_files"] == [RULES.name]
    [job] = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    assert job["authorization"]["type"] == "Bearer"


def test_the_readme_lists_every_metric_and_alert() -> None:
    readme = (OPS.parent / "README.md").read_text()
    operating = readme[readme.index("\n## Operating it\n") : readme.index("\n## Layout\n")]
    for family in catalog.FAMILIES:
        assert f"| `{family.name}` | {family.kind} |" in operating, family.name
    for group in yaml.safe_load(RULES.read_text())["groups"]:
        for rule in group["rules"]:
            assert f"| `{rule['alert']}` |" in operating, rule["alert"]
