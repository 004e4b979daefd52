"""Every alert reaches a person: each alert rule of the infra stacks names an action group of the stack that reaches
people (e-mail, SMS, voice, Azure mobile app) and, by its config-derived id, the alerting stack's group with the
severity's paging or chat channel; a chat channel is reached only through its Logic App adapter, whose message
mapping is rendered here on Microsoft's published common-alert-schema samples (tests/fixtures/common_alert_schema/).
Defender, budget, backup, Service Health and Resource Health notices go through the same groups. The `delivery`
fixture reads an environment's infra and alerting stacks as one, the ids resolved to the alerting stack's groups."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import cdktf
import pytest

from config.loader import load_environment
from constructs.alerts import ACTIVITY_LOG_ALERTS, BACKUP_MONITOR_SERVICE
from constructs.naming import Naming
from constructs.notifications import (
    ADAPTER_CHANNELS,
    CHANNELS,
    MESSAGES,
    WEBHOOK_URL_PATTERNS,
    ChatAdapter,
    ChatAdapterProps,
    evaluate,
    expressions,
    render,
    validate_template,
    webhook_action_group_name,
)
from tests.conftest import StackJson, resources_of

SAMPLES = Path("tests/fixtures/common_alert_schema")
# Alert rule types and where each keeps its action group ids.
ALERT_ACTIONS = {
    "azurerm_monitor_metric_alert": lambda alert: [a["action_group_id"] for a in alert.get("action", [])],
    "azurerm_monitor_activity_log_alert": lambda alert: [a["action_group_id"] for a in alert.get("action", [])],
    "azurerm_monitor_alert_prometheus_rule_group": lambda group: (
        [a["action_group_id"] for rule in group.get("rule", []) for a in rule.get("action", [])] or []
    ),
    "azurerm_monitor_scheduled_query_rules_alert_v2": lambda alert: list(
        alert.get("action", {}).get("action_groups", [])
    ),
    "azurerm_monitor_alert_processing_rule_action_group": lambda rule: list(rule.get("add_action_group_ids", [])),
}
PERSON_RECEIVERS = ("email_receiver", "sms_receiver", "voice_receiver", "azure_app_push_receiver")


def delivery_view(infra: StackJson, alerting: StackJson) -> StackJson:
    """The infra stack with the alerting stack's resources and variables added, and every literal id of an alerting
    stack's action group replaced by a reference to it (what Azure resolves at run time)."""
    merged = copy.deepcopy(infra)
    ids = {}
    for type_, items in alerting.get("resource", {}).items():
        merged["resource"].setdefault(type_, {}).update(copy.deepcopy(items))
        if type_ == "azurerm_monitor_action_group":
            for key, group in items.items():
                ids[f"/actionGroups/{group['name']}"] = f"${{azurerm_monitor_action_group.{key}.id}}"
    merged.setdefault("variable", {}).update(copy.deepcopy(alerting.get("variable", {})))

    def resolve(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v) for v in value]
        if isinstance(value, str) and value.startswith("/subscriptions/"):
            return next((ref for suffix, ref in ids.items() if value.endswith(suffix)), value)
        return value

    merged["resource"] = resolve(merged["resource"])
    return merged


@pytest.fixture
def delivery(stacks: dict[str, StackJson], environment: str) -> StackJson:
    return delivery_view(stacks[f"{environment}-infra"], stacks[f"{environment}-alerting"])


def samples() -> dict[str, Any]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(SAMPLES.glob("*.json"))}


def group_refs(stack: StackJson) -> dict[str, dict[str, Any]]:
    return {
        f"${{azurerm_monitor_action_group.{a}.id}}": g
        for a, g in resources_of(stack, "azurerm_monitor_action_group").items()
    }


def alerts_without_a_person(stack: StackJson) -> list[str]:
    """Alert rules (every rule of a Prometheus group counts) that name no action group of the stack, or only
    groups that reach nobody."""
    groups = group_refs(stack)
    reaching = {ref for ref, group in groups.items() if any(group.get(kind) for kind in PERSON_RECEIVERS)}
    problems = []
    for resource_type, actions in ALERT_ACTIONS.items():
        for address, alert in resources_of(stack, resource_type).items():
            if resource_type == "azurerm_monitor_alert_prometheus_rule_group":
                for rule in alert["rule"]:
                    if rule.get("record"):
                        continue  # a recording rule notifies nobody by design (constructs/recording_rules.py)
                    ids = [a["action_group_id"] for a in rule.get("action", [])]
                    if not set(ids) & reaching:
                        problems.append(f"{resource_type}.{address}/{rule.get('alert') or rule.get('record')}")
                continue
            if not set(actions(alert)) & reaching:
                problems.append(f"{resource_type}.{address}")
    return sorted(problems)


def channels_without_an_adapter(stack: StackJson) -> list[str]:
    """Webhook receivers that post the common schema to a channel that cannot read it (anything but a direct
    channel), and Logic App receivers that point at no adapter workflow with a post action."""
    variables = stack.get("variable", {})
    workflows = resources_of(stack, "azurerm_logic_app_workflow")
    posting = {
        action["logic_app_id"]
        for action in resources_of(stack, "azurerm_logic_app_action_custom").values()
        if json.loads(action["body"]).get("type") == "Http"
    }
    problems = []
    for address, group in resources_of(stack, "azurerm_monitor_action_group").items():
        for receiver in group.get("webhook_receiver", []):
            variable = re.fullmatch(r"\$\{var\.(\w+)\}", receiver["service_uri"])
            described = variables.get(variable.group(1), {}).get("description", "") if variable else ""
            channel = re.search(r"\((\w+)\)$", described)
            if (
                receiver["name"] not in CHANNELS
                or CHANNELS[receiver["name"]] != "direct"
                or (channel and CHANNELS.get(channel.group(1)) != "direct")
            ):
                problems.append(f"{address}: webhook {receiver['name']} has no adapter")
        for receiver in group.get("logic_app_receiver", []):
            workflow = re.fullmatch(r"\$\{azurerm_logic_app_workflow\.([^.]+)\.id\}", receiver["resource_id"])
            if not workflow or workflow.group(1) not in workflows or receiver["resource_id"] not in posting:
                problems.append(f"{address}: logic app receiver {receiver['name']} points at no adapter")
    return sorted(problems)


def test_every_alert_reaches_a_person(infra: StackJson) -> None:
    assert sum(len(resources_of(infra, t)) for t in ALERT_ACTIONS) >= 19  # 13 metric, 4 activity log, rules, backup
    assert alerts_without_a_person(infra) == []


def alerts_without_their_channel(stack: StackJson, channel_groups: set[str]) -> list[str]:
    """Alert rules (each rule of a Prometheus group) that name none of `channel_groups` (the alerting stack's)."""
    problems = []
    for resource_type, actions in ALERT_ACTIONS.items():
        for address, alert in resources_of(stack, resource_type).items():
            if resource_type == "azurerm_monitor_alert_prometheus_rule_group":
                rules = [r for r in alert["rule"] if not r.get("record")]
                named = [[a["action_group_id"] for a in rule.get("action", [])] for rule in rules]
            else:
                named = [actions(alert)]
            problems += [f"{resource_type}.{address}" for ids in named if not set(ids) & channel_groups]
    return sorted(problems)


def test_every_alert_also_names_the_alerting_stacks_channel(delivery: StackJson, environment: str) -> None:
    config = load_environment(environment)
    naming = Naming(config.short_name, config.unique_suffix)
    names = {webhook_action_group_name(naming, s, r.webhook_name) for s, r in config.observability.receivers.items()}
    channels = {ref for ref, group in group_refs(delivery).items() if group["name"] in names}
    assert len(channels) == len(names)
    assert alerts_without_their_channel(delivery, channels) == []
    broken = copy.deepcopy(delivery)
    (address, alert) = sorted(broken["resource"]["azurerm_monitor_metric_alert"].items())[0]
    alert["action"] = [a for a in alert["action"] if a["action_group_id"] not in channels]
    assert alerts_without_their_channel(broken, channels) == [f"azurerm_monitor_metric_alert.{address}"]


def test_an_alert_without_an_action_group_is_reported(infra: StackJson) -> None:
    broken = copy.deepcopy(infra)
    metric_alerts = broken["resource"]["azurerm_monitor_metric_alert"]
    address = sorted(metric_alerts)[0]
    del metric_alerts[address]["action"]
    rules = broken["resource"]["azurerm_monitor_alert_prometheus_rule_group"]
    (group,) = [g for g in sorted(rules) if "kubernetes-rules" in g]
    rules[group]["rule"][0]["action"] = [{"action_group_id": "${azurerm_monitor_action_group.gone.id}"}]
    assert alerts_without_a_person(broken) == sorted(
        [
            f"azurerm_monitor_metric_alert.{address}",
            f"azurerm_monitor_alert_prometheus_rule_group.{group}/KubePodRestartingOften",
        ]
    )


def test_an_action_group_that_reaches_nobody_is_reported(infra: StackJson) -> None:
    broken = copy.deepcopy(infra)
    for group in broken["resource"]["azurerm_monitor_action_group"].values():
        for kind in PERSON_RECEIVERS:
            group.pop(kind, None)
    assert len(alerts_without_a_person(broken)) == len(alerts_without_a_person(infra)) + sum(
        len(resources_of(infra, t)) for t in ALERT_ACTIONS if t != "azurerm_monitor_alert_prometheus_rule_group"
    ) + sum(
        1
        for g in resources_of(infra, "azurerm_monitor_alert_prometheus_rule_group").values()
        for rule in g["rule"]
        if not rule.get("record")
    )


def test_every_channel_has_its_adapter(delivery: StackJson, environment: str) -> None:
    receivers = load_environment(environment).observability.receivers
    assert {r.webhook_name for r in receivers.values()} & set(ADAPTER_CHANNELS)  # a chat channel is in use
    assert channels_without_an_adapter(delivery) == []


def test_a_chat_channel_without_an_adapter_is_reported(delivery: StackJson) -> None:
    broken = copy.deepcopy(delivery)
    groups = broken["resource"]["azurerm_monitor_action_group"]
    (address,) = [a for a, g in groups.items() if "logic_app_receiver" in g]
    group = groups[address]
    del group["logic_app_receiver"]
    # What the platform did before issue #29: the Slack webhook straight in the action group.
    group["webhook_receiver"] = [
        {"name": "slack", "service_uri": "${var.warning_alert_webhook_url}", "use_common_alert_schema": True}
    ]
    assert channels_without_an_adapter(broken) == [f"{address}: webhook slack has no adapter"]
    broken["resource"]["azurerm_logic_app_action_custom"] = {}
    group["webhook_receiver"] = []
    group["logic_app_receiver"] = delivery["resource"]["azurerm_monitor_action_group"][address]["logic_app_receiver"]
    assert channels_without_an_adapter(broken) == [f"{address}: logic app receiver slack-adapter points at no adapter"]


def adapter_messages(stack: StackJson) -> dict[str, Any]:
    """The message body each adapter workflow posts, read back from the synthesized action."""
    bodies = {}
    for action in resources_of(stack, "azurerm_logic_app_action_custom").values():
        definition = json.loads(action["body"])
        assert definition["inputs"]["uri"] == "@parameters('webhookUrl')"
        assert definition["runtimeConfiguration"] == {"secureData": {"properties": ["inputs"]}}
        bodies[action["logic_app_id"]] = definition["inputs"]["body"]
    return bodies


@pytest.mark.parametrize("sample", sorted(samples()))
def test_the_synthesized_slack_message_renders_microsofts_samples(delivery: StackJson, sample: str) -> None:
    payload = samples()[sample]
    essentials = payload["data"]["essentials"]
    (message,) = adapter_messages(delivery).values()
    text = render(message, payload)["text"]
    assert "@{" not in text and "@" not in text.replace("user@", "")
    first = text.splitlines()[0]
    assert first.startswith(f"*{essentials['monitorCondition']} ")
    assert (essentials["severity"] or "Sev?") in first
    assert (essentials["alertRule"] or essentials["monitoringService"]) in first
    assert f"Fired: {essentials['firedDateTime']}" in text and f"Alert: {essentials['alertId']}" in text
    assert f"Description: {essentials['description']}" in text


def test_the_budget_sample_names_the_service_when_there_is_no_rule() -> None:
    text = render(MESSAGES["slack"], samples()["budget"])["text"]
    assert text.splitlines()[0] == "*Fired Sev?: CostAlerts*"
    assert "Service: CostAlerts (n/a)" in text


@pytest.mark.parametrize("sample", sorted(samples()))
def test_the_teams_card_renders_microsofts_samples(sample: str) -> None:
    payload = samples()[sample]
    card = render(MESSAGES["teams"], payload)
    (attachment,) = card["attachments"]
    assert card["type"] == "message" and attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    headline, facts = attachment["content"]["body"]
    assert payload["data"]["essentials"]["monitorCondition"] in headline["text"]
    values = {fact["title"]: fact["value"] for fact in facts["facts"]}
    assert values["Alert"] == payload["data"]["essentials"]["alertId"]
    assert "@{" not in json.dumps(card)


def test_every_expression_of_every_template_is_in_the_grammar() -> None:
    for channel in ADAPTER_CHANNELS:
        assert expressions(MESSAGES[channel])
        validate_template(MESSAGES[channel])


@pytest.mark.parametrize(
    "template",
    [
        {"text": "@{body('Parse_JSON')?['data']}"},
        {"text": "@{toUpper(triggerBody()?['data'])}"},
        {"text": "@triggerBody()"},
    ],
)
def test_an_expression_the_tests_cannot_evaluate_is_refused(template: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=r"grammar|bare expression"):
        render(template, {}) if template["text"].startswith("@t") else validate_template(template)


def test_null_and_missing_properties_interpolate_as_empty_strings() -> None:
    payload = {"data": {"essentials": {"alertRule": None}}}
    assert evaluate("triggerBody()?['data']?['essentials']?['alertRule']", payload) is None
    assert evaluate("triggerBody()?['data']?['nothing']?['deeper']", payload) is None
    assert render({"t": "[@{triggerBody()?['data']?['essentials']?['alertRule']}]"}, payload) == {"t": "[]"}
    assert evaluate("coalesce(triggerBody()?['x'], 'fallback')", payload) == "fallback"


def test_a_channel_without_an_adapter_or_a_literal_url_is_refused() -> None:
    stack = cdktf.TerraformStack(cdktf.Testing.app(), "test")
    props = {
        "severity": "warning",
        "naming": Naming("stg", "erp01"),
        "location": "eastus",
        "resource_group_name": "rg",
    }
    with pytest.raises(ValueError, match="no adapter for channel 'pagerduty'"):
        ChatAdapter(stack, "a", props=ChatAdapterProps(channel="pagerduty", webhook_url="${var.x}", **props))
    with pytest.raises(ValueError, match="not a literal"):
        ChatAdapter(
            stack, "b", props=ChatAdapterProps(channel="slack", webhook_url="https://hooks.slack.com/x", **props)
        )


def variable_pattern(stack: StackJson, severity: str) -> str:
    (validation,) = stack["variable"][f"{severity}_alert_webhook_url"]["validation"]
    match = re.fullmatch(r'\$\{can\(regex\((".*"), var\.\w+\)\)\}', validation["condition"])
    assert match, validation["condition"]
    return json.loads(match.group(1))  # the HCL string literal is a JSON-compatible quoted string here


@pytest.mark.parametrize(
    ("channel", "good", "bad"),
    [
        (
            "pagerduty",
            "https://events.pagerduty.com/integration/0123456789abcdef0123456789abcdef/enqueue",
            "https://hooks.slack.com/services/T0/B0/x",
        ),
        ("slack", "https://hooks.slack.com/services/T000/B000/XXXXXXXX", "https://events.pagerduty.com/x"),
        (
            "teams",
            "https://prod-12.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?sig=x",
            "https://contoso.webhook.office.com/webhookb2/abc",  # a retired Office 365 connector webhook
        ),
    ],
)
def test_webhook_url_formats(channel: str, good: str, bad: str) -> None:
    assert re.fullmatch(WEBHOOK_URL_PATTERNS[channel], good)
    assert not re.fullmatch(WEBHOOK_URL_PATTERNS[channel], bad)


def test_each_webhook_variable_validates_its_channels_url(delivery: StackJson, environment: str) -> None:
    receivers = load_environment(environment).observability.receivers
    for severity, receiver in receivers.items():
        assert variable_pattern(delivery, severity) == WEBHOOK_URL_PATTERNS[receiver.webhook_name]
    # The critical (PagerDuty) variable refuses a Slack URL at plan time.
    assert not re.fullmatch(variable_pattern(delivery, "critical"), "https://hooks.slack.com/services/T0/B0/x")


def test_defender_service_health_resource_health_budget_and_backup_use_the_groups(
    delivery: StackJson, environment: str
) -> None:
    """Each names the severity's people group and its channel's group (the alerting stack's), in that order."""
    infra = delivery
    config = load_environment(environment)
    naming = Naming(config.short_name, config.unique_suffix)
    groups = {g["name"]: ref for ref, g in group_refs(infra).items()}
    by_severity = {
        s: [groups[naming.name(f"ops-{s}", "ag")], groups[webhook_action_group_name(naming, s, r.webhook_name)]]
        for s, r in config.observability.receivers.items()
    }
    scope = f"/subscriptions/{config.subscription_id}"
    alerts = list(resources_of(infra, "azurerm_monitor_activity_log_alert").values())
    for spec in ACTIVITY_LOG_ALERTS:
        (alert,) = [
            a for a in alerts if a["name"] == Naming(config.short_name, config.unique_suffix).name(spec.key, "alert")
        ]
        assert alert["scopes"] == [scope] and alert["location"] == "global"
        assert alert["criteria"]["category"] == spec.category
        assert alert["action"] == [{"action_group_id": group} for group in by_severity[spec.severity]]
    categories = {a["criteria"]["category"] for a in alerts}
    assert {"Security", "ServiceHealth", "ResourceHealth"} <= categories
    (budget,) = resources_of(infra, "azurerm_consumption_budget_subscription").values()
    assert all(n["contact_groups"] == by_severity["warning"] for n in budget["notification"])
    (backup,) = resources_of(infra, "azurerm_monitor_alert_processing_rule_action_group").values()
    assert backup["scopes"] == [scope]
    assert backup["add_action_group_ids"] == by_severity[config.recovery.backup_alerts_severity]
    assert backup["condition"]["monitor_service"] == {"operator": "Equals", "values": [BACKUP_MONITOR_SERVICE]}
