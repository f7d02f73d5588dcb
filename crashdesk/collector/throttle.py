"""Throttle rules: which submissions are accepted, deferred, rejected or fake-accepted.

A rule set is an ordered list of :class:`Rule`; the first rule whose condition matches and whose result is
not ``CONTINUE`` decides. A rule with ``percentage`` gives its result to that share of the reports it
matches (a random draw per report) and rejects the rest, as Antenna's sampling rules do. No matching rule
means ``REJECT`` with the rule name ``NO_MATCH``. The local default accepts everything (Antenna's
``ACCEPT_ALL`` with every product).

Rules can be written in JSON (``load_rules``)::

    {"products": ["MyApp"],                      # optional: anything else is rejected (unsupported_product)
     "rules": [
        {"name": "has_comments", "annotation": "Comments", "op": "exists", "result": "ACCEPT"},
        {"name": "old_channel", "annotation": "ReleaseChannel", "op": "in", "value": ["aurora"],
         "result": "REJECT"},
        {"name": "sample_release", "annotation": "ReleaseChannel", "op": "eq", "value": "release",
         "result": "ACCEPT", "percentage": 10},
        {"name": "accept_everything", "result": "ACCEPT"}]}

Operators: ``exists``, ``missing``, ``eq``, ``ne``, ``in``, ``regex`` (full match); values compare as strings.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crashdesk.collector.errors import CollectorError

ACCEPT = "ACCEPT"
DEFER = "DEFER"
REJECT = "REJECT"
FAKEACCEPT = "FAKEACCEPT"
CONTINUE = "CONTINUE"
RESULTS = (ACCEPT, DEFER, REJECT, FAKEACCEPT, CONTINUE)

Condition = Callable[[Mapping[str, Any]], bool]


@dataclass(frozen=True)
class Rule:
    """One throttle rule: when ``condition(annotations)`` holds, ``result`` (for ``percentage`` % of them)."""

    name: str
    condition: Condition
    result: str
    percentage: float | None = None

    def __post_init__(self) -> None:
        if self.result not in RESULTS:
            raise CollectorError(f"throttle rule {self.name!r}: unknown result {self.result!r}")


@dataclass(frozen=True)
class Decision:
    result: str
    rule: str


def _always(_: Mapping[str, Any]) -> bool:
    return True


ACCEPT_ALL: tuple[Rule, ...] = (Rule("accept_everything", _always, ACCEPT),)


class Throttler:
    """Applies a product list and a rule set to a submission's annotations."""

    def __init__(self, rules: Sequence[Rule] = ACCEPT_ALL, products: Sequence[str] = (),
                 rng: random.Random | None = None) -> None:
        self.rules = tuple(rules)
        self.products = tuple(products)
        self._rng = rng or random.Random()

    def throttle(self, annotations: Mapping[str, Any]) -> Decision:
        if self.products and str(annotations.get("ProductName", "")) not in self.products:
            return Decision(REJECT, "unsupported_product")
        for rule in self.rules:
            try:
                matched = rule.condition(annotations)
            except Exception:  # a rule that cannot read the annotations does not apply
                matched = False
            if not matched:
                continue
            if rule.percentage is not None and self._rng.random() * 100 >= rule.percentage:
                return Decision(REJECT, rule.name)  # the sampled-out share is rejected, as in Antenna
            if rule.result == CONTINUE:
                continue
            return Decision(rule.result, rule.name)
        return Decision(REJECT, "NO_MATCH")


def _condition(spec: Mapping[str, Any], where: str) -> Condition:
    key = spec.get("annotation")
    op = spec.get("op", "exists" if key else "always")
    value = spec.get("value")
    if op == "always":
        return _always
    if not isinstance(key, str):
        raise CollectorError(f"{where}: 'annotation' must name an annotation")
    if op == "exists":
        return lambda a: key in a
    if op == "missing":
        return lambda a: key not in a
    if op in ("eq", "ne"):
        text = str(value)
        if op == "eq":
            return lambda a: key in a and str(a[key]) == text
        return lambda a: str(a.get(key, "")) != text
    if op == "in":
        if not isinstance(value, list):
            raise CollectorError(f"{where}: 'in' needs a list value")
        choices = {str(v) for v in value}
        return lambda a: key in a and str(a[key]) in choices
    if op == "regex":
        try:
            pattern = re.compile(str(value))
        except re.error as exc:
            raise CollectorError(f"{where}: bad regex: {exc}") from exc
        return lambda a: key in a and pattern.fullmatch(str(a[key])) is not None
    raise CollectorError(f"{where}: unknown op {op!r}")


def rules_from_json(doc: Any) -> Throttler:
    """Build a :class:`Throttler` from the JSON form described in the module docstring."""
    if not isinstance(doc, dict):
        raise CollectorError("throttle rules: expected a JSON object with 'rules'")
    specs = doc.get("rules", [])
    products = doc.get("products", [])
    if not isinstance(specs, list) or not isinstance(products, list):
        raise CollectorError("throttle rules: 'rules' and 'products' must be lists")
    rules = []
    for i, spec in enumerate(specs):
        where = f"throttle rule #{i + 1}"
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise CollectorError(f"{where}: needs a 'name'")
        pct = spec.get("percentage")
        if pct is not None and not isinstance(pct, int | float):
            raise CollectorError(f"{where}: 'percentage' must be a number")
        rules.append(Rule(spec["name"], _condition(spec, where), str(spec.get("result", ACCEPT)).upper(),
                          float(pct) if pct is not None else None))
    return Throttler(rules or ACCEPT_ALL, [str(p) for p in products])


def load_rules(path: Path) -> Throttler:
    """Read a JSON rules file (see the module docstring)."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CollectorError(f"cannot read throttle rules {path}: {exc}") from exc
    return rules_from_json(doc)
