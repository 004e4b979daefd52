"""Bad observability settings end in a ConfigError naming the key, the value and the rule; the story's
retention figures are what the environments configure."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from config.loader import ConfigError, load_environment, parse_environment
from config.observability import APP_INSIGHTS_RETENTION_DAYS
from tests.config.test_loader import DELETE, assert_rejected, set_key

PRODUCTION = Path("config/production.toml")

# (changes to make, key the message must blame, value it must show, words it must contain)
BAD_INPUTS = [
    (
        {"observability.application_insights_retention_days": 45},
        "observability.application_insights_retention_days",
        45,
        "must be one of 30, 60, 90, 120, 180, 270, 365, 550, 730",
    ),
    (
        {"observability.application_insights_retention_days": 731},
        "observability.application_insights_retention_days",
        731,
        "the values Azure accepts",
    ),
    ({"observability.log_retention_days": 29}, "observability.log_retention_days", 29, "greater than or equal to 30"),
    ({"observability.log_retention_days": 731}, "observability.log_retention_days", 731, "less than or equal to 730"),
    ({"observability.receivers.critical": DELETE}, "observability.receivers", DELETE, "exactly the severities"),
    (
        {"observability.receivers.critical.short_name": "much-too-long-name"},
        "observability.receivers.critical.short_name",
        "much-too-long-name",
        "pattern",
    ),
    (
        {"observability.receivers.warning.emails": ["not-an-address"]},
        "observability.receivers.warning.emails.0",
        "not-an-address",
        "pattern",
    ),
    (
        {"observability.receivers.critical.webhook_url": "https://events.pagerduty.com/x"},
        "observability.receivers.critical.webhook_url",
        DELETE,
        "unknown key",
    ),  # secrets never live in config
    (
        {"observability.availability_test.url": "http://erp.example.com/healthz"},
        "observability.availability_test.url",
        "http://erp.example.com/healthz",
        "pattern",
    ),
    (
        {"observability.availability_test.frequency_seconds": 120},
        "observability.availability_test.frequency_seconds",
        120,
        "300, 600 or 900",
    ),
    (
        {"observability.availability_test.locations": ["us-va-ash-azr"]},
        "observability.availability_test.locations",
        DELETE,
        "at least 5",
    ),
    (
        {"observability.availability_test.failed_locations_for_alert": 6},
        "observability.availability_test.failed_locations_for_alert",
        6,
        "must not exceed the number of locations (5)",
    ),
    (
        {"observability.thresholds.postgres_cpu_percent": 101},
        "observability.thresholds.postgres_cpu_percent",
        101,
        "less than or equal to 100",
    ),
    (
        {"observability.container_insights.interval": "31m"},
        "observability.container_insights.interval",
        "31m",
        "pattern",
    ),
    (
        {"observability.container_insights.namespace_filtering_mode": "Include"},
        "observability.container_insights.namespaces",
        DELETE,
        "non-empty for 'Include' or 'Exclude'",
    ),
    (
        {"observability.container_insights.namespace_filtering_mode": "Sometimes"},
        "observability.container_insights.namespace_filtering_mode",
        "Sometimes",
        "'Off', 'Include' or 'Exclude'",
    ),
    (
        {"observability.grafana_admin_group_object_id": "operators"},
        "observability.grafana_admin_group_object_id",
        "operators",
        "GUID",
    ),
    # Receivers (issue #29): channels with a validated format; a webhook channel needs an adapter or a direct route.
    (
        {"observability.receivers.warning.webhook_name": "discord"},
        "observability.receivers.warning.webhook_name",
        "discord",
        "'pagerduty', 'slack' or 'teams'",
    ),
    (
        {"observability.receivers.critical.sms": [{"country_code": "+1", "number": "4255550100"}]},
        "observability.receivers.critical.sms.0.country_code",
        "+1",
        "pattern",
    ),
    (
        {"observability.receivers.critical.voice": [{"country_code": "1", "number": "425-555-0100"}]},
        "observability.receivers.critical.voice.0.number",
        "425-555-0100",
        "pattern",
    ),
    (
        {"observability.receivers.critical.azure_app_push": ["oncall at example.com"]},
        "observability.receivers.critical.azure_app_push.0",
        "oncall at example.com",
        "pattern",
    ),
    (
        {"observability.receivers.critical.emails": ["platform-oncall@example"]},
        "observability.receivers.critical.emails.0",
        "platform-oncall@example",
        "pattern",
    ),
    (
        {
            "observability.receivers.critical.sms": [
                {"country_code": "1", "number": f"42555501{i:02}"} for i in range(11)
            ]
        },
        "observability.receivers.critical.sms",
        DELETE,
        "at most 10 items",
    ),
    (
        {
            "observability.receivers.warning.emails": [],
            "observability.receivers.warning.azure_app_push": [],
        },
        "observability.receivers.warning.emails",
        DELETE,
        "at least one person channel",
    ),
]


@pytest.mark.parametrize(
    ("changes", "key", "value", "expected"), BAD_INPUTS, ids=[f"{case[1]}={case[2]!r}" for case in BAD_INPUTS]
)
def test_bad_observability_setting_is_reported_with_key_value_and_rule(
    raw_config: Callable[[str], dict[str, Any]], changes: dict[str, Any], key: str, value: Any, expected: str
) -> None:
    assert_rejected(raw_config("production"), changes, key, value, expected)


@pytest.mark.parametrize("days", APP_INSIGHTS_RETENTION_DAYS)
def test_every_retention_azure_accepts_is_accepted(raw_config: Callable[[str], dict[str, Any]], days: int) -> None:
    data = raw_config("staging")
    set_key(data, "observability.application_insights_retention_days", days)
    assert parse_environment(data, PRODUCTION).observability.application_insights_retention_days == days


def test_production_keeps_application_telemetry_for_730_days() -> None:
    """Story 0.1.5: Application Insights with 730-day retention in production."""
    assert load_environment("production").observability.application_insights_retention_days == 730


def test_both_environments_route_both_severities(environment: str) -> None:
    receivers = load_environment(environment).observability.receivers
    assert sorted(receivers) == ["critical", "warning"]
    assert receivers["critical"].webhook_name == "pagerduty" and receivers["warning"].webhook_name == "slack"


def test_a_grafana_version_azurerm_does_not_accept_is_refused(raw_config: Callable[[str], dict[str, Any]]) -> None:
    data = raw_config("staging")
    set_key(data, "observability.grafana_major_version", "10")  # retired by Azure
    with pytest.raises(ConfigError, match=r"observability\.grafana_major_version"):
        parse_environment(data, PRODUCTION)
