"""Microsoft's recommended Prometheus alert rules for the cluster (reference/prometheus_alerts.json, refreshed by
tools/maintenance/refdata/refresh_prometheus_alerts.py): their severity, threshold and `for` unless overridden here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from config.base import Section

_REFERENCE = json.loads((Path(__file__).resolve().parent.parent / "reference" / "prometheus_alerts.json").read_text())
# Alert name → (group key, Microsoft's rule as recorded).
RECOMMENDED_RULES: dict[str, tuple[str, dict[str, Any]]] = {
    rule["alert"]: (group, rule) for group, data in sorted(_REFERENCE["groups"].items()) for rule in data["rules"]
}


class PrometheusAlertOverride(Section):
    """One recommended rule's local values; unset fields keep Microsoft's (severity 0 = Critical ... 4 = Verbose:
    0-1 notify the critical receivers, 2-4 the warning ones)."""

    severity: int | None = Field(default=None, ge=0, le=4, description="The rule's severity instead of Microsoft's")
    threshold: float | None = Field(
        default=None,
        description="The number the expression's final comparison tests, instead of Microsoft's "
        "(only rules whose reference entry records a `threshold`)",
    )
    for_minutes: int | None = Field(
        default=None, ge=1, le=1440, description="How long the condition holds before the alert fires, in minutes"
    )


class PrometheusAlerts(Section):
    """The recommended rules (docs/operations.md "2.4 Recommended Prometheus alerts"): Microsoft's values unless
    overridden; `disabled` names a rule not to create, with the reason."""

    overrides: dict[str, PrometheusAlertOverride] = Field(
        default_factory=dict, description="Per recommended rule (its alert name, e.g. KubePVUsageHigh): local values"
    )
    disabled: dict[str, str] = Field(
        default_factory=dict, description="Recommended rule name -> why it is not created (a reason is required)"
    )

    @model_validator(mode="after")
    def _known_rules(self) -> PrometheusAlerts:
        unknown = sorted((set(self.overrides) | set(self.disabled)) - set(RECOMMENDED_RULES))
        if unknown:
            raise ValueError(f"unknown recommended Prometheus rules {unknown} (reference/prometheus_alerts.json)")
        fixed = sorted(
            name
            for name, override in self.overrides.items()
            if override.threshold is not None and "threshold" not in RECOMMENDED_RULES[name][1]
        )
        if fixed:
            raise ValueError(f"recommended Prometheus rules {fixed} have no single threshold to override")
        if [name for name, reason in self.disabled.items() if not reason.strip()]:
            raise ValueError("every disabled recommended Prometheus rule needs a reason")
        return self
