"""Chat adapters: a Logic App (Consumption) workflow per chat channel that turns Azure Monitor's common alert
schema into the channel's message, so an action group reaches Slack or Teams (their incoming webhooks reject
the common schema's JSON).

The workflow is three pieces, all as code: an HTTP request trigger (its callback URL goes into the action
group's `logic_app_receiver`), a workflow parameter of type SecureString holding the channel's webhook URL (a
sensitive Terraform variable; ARM never returns SecureString values), and one HTTP action whose inputs are
marked secure data, so the run history shows neither the URL nor the message.

The message mapping is data (`MESSAGES`): JSON whose strings hold Logic Apps expressions of a deliberately small
grammar (`EXPRESSION_GRAMMAR`: property paths into the trigger body, `coalesce` and string literals). That keeps
it evaluable outside Azure: `render` evaluates a template on a payload exactly as the Workflow Definition
Language does for this subset (`?[...]` on a missing property yields null; null interpolates as an empty
string), and the tests render Microsoft's published sample payloads (tests/fixtures/common_alert_schema/).
`validate_template` refuses any expression outside the grammar at synth time, so a template the tests cannot
evaluate cannot be deployed either.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cdktf_cdktf_provider_azurerm.logic_app_action_custom import LogicAppActionCustom
from cdktf_cdktf_provider_azurerm.logic_app_trigger_http_request import LogicAppTriggerHttpRequest
from cdktf_cdktf_provider_azurerm.logic_app_workflow import LogicAppWorkflow
from cdktf_cdktf_provider_azurerm.monitor_action_group import (
    MonitorActionGroup,
    MonitorActionGroupLogicAppReceiver,
    MonitorActionGroupWebhookReceiver,
)

from constructs import Construct
from constructs.naming import Naming

# How each channel a receiver may name is reached. `direct`: the action group's webhook receiver posts the
# common schema itself (PagerDuty's Azure Monitor integration reads it). `adapter`: through a ChatAdapter.
CHANNELS = {"pagerduty": "direct", "slack": "adapter", "teams": "adapter"}
ADAPTER_CHANNELS = tuple(sorted(channel for channel, route in CHANNELS.items() if route == "adapter"))
# What each channel's webhook URL looks like; the sensitive variable carries a Terraform `validation` with it,
# so a URL of the wrong service fails at plan time without the URL ever appearing in the synthesized JSON.
# PagerDuty: the Integration URL of a service's "Microsoft Azure" integration. Slack: an incoming webhook.
# Teams: a Workflows (Power Automate) "when a Teams webhook request is received" URL; the Office 365
# connectors' incoming webhooks are retired.
WEBHOOK_URL_PATTERNS = {
    "pagerduty": r"^https://events\.pagerduty\.com/integration/[0-9a-z]{32}/enqueue$",
    "slack": r"^https://hooks\.slack\.com/services/[A-Za-z0-9]+/[A-Za-z0-9]+/[A-Za-z0-9]+$",
    "teams": r"^https://[a-z0-9.-]+\.(logic\.azure\.com|api\.powerplatform\.com)(:443)?/.+$",
}
WEBHOOK_PARAMETER = "webhookUrl"
LOGIC_APP_TYPE = "azurerm_logic_app_workflow"
TRIGGER_NAME = "common-alert-schema"
ACTION_NAME = "post-to-channel"

_ESSENTIALS = "triggerBody()?['data']?['essentials']"


def _essential(name: str) -> str:
    return f"{_ESSENTIALS}?['{name}']"


# One line a person reads first: state, severity, rule (budget and cost alerts have no rule or severity: the
# monitoring service names them), then the description, where it came from and the alert's id for the portal.
_HEADLINE = (
    f"@{{{_essential('monitorCondition')}}} @{{coalesce({_essential('severity')}, 'Sev?')}}: "
    f"@{{coalesce({_essential('alertRule')}, {_essential('monitoringService')})}}"
)
_DETAIL = {
    "Description": f"@{{{_essential('description')}}}",
    "Service": f"@{{{_essential('monitoringService')}}} (@{{coalesce({_essential('signalType')}, 'n/a')}})",
    "Fired": f"@{{{_essential('firedDateTime')}}}",
    "Alert": f"@{{{_essential('alertId')}}}",
}

# Slack incoming webhook: a JSON object with `text` (api.slack.com, "Sending messages using incoming webhooks").
# Teams Workflows webhook: a message with an Adaptive Card attachment (Microsoft Learn, "Create incoming webhooks
# with Workflows for Microsoft Teams").
MESSAGES: dict[str, dict[str, Any]] = {
    "slack": {"text": "\n".join([f"*{_HEADLINE}*", *(f"{key}: {value}" for key, value in _DETAIL.items())])},
    "teams": {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        {"type": "TextBlock", "text": _HEADLINE, "weight": "Bolder", "wrap": True},
                        {
                            "type": "FactSet",
                            "facts": [{"title": key, "value": value} for key, value in _DETAIL.items()],
                        },
                    ],
                },
            }
        ],
    },
}

EXPRESSION_GRAMMAR = (
    "expr := triggerBody() ?['key']... | coalesce(expr, expr, ...) | 'literal'; "
    "used only inside string interpolation @{expr}"
)
_INTERPOLATION = re.compile(r"@\{([^{}]*)\}")
_PATH = re.compile(r"triggerBody\(\)((?:\?\['[A-Za-z0-9_]+'\])*)")
_KEY = re.compile(r"\?\['([A-Za-z0-9_]+)'\]")


def _split_arguments(text: str) -> list[str]:
    parts, depth, start, quoted = [], 0, 0, False
    for index, char in enumerate(text):
        if char == "'":
            quoted = not quoted
        elif not quoted and char in "([":
            depth += 1
        elif not quoted and char in ")]":
            depth -= 1
        elif not quoted and depth == 0 and char == ",":
            parts.append(text[start:index].strip())
            start = index + 1
    parts.append(text[start:].strip())
    return parts


def evaluate(expression: str, payload: Any) -> Any:
    """Evaluates one expression of the grammar on the trigger body `payload` (raises ValueError outside it)."""
    expression = expression.strip()
    path = _PATH.fullmatch(expression)
    if path:
        value = payload
        for key in _KEY.findall(path.group(1)):
            value = value.get(key) if isinstance(value, dict) else None
        return value
    if expression.startswith("coalesce(") and expression.endswith(")"):
        for argument in _split_arguments(expression[len("coalesce(") : -1]):
            value = evaluate(argument, payload)
            if value is not None:
                return value
        return None
    if re.fullmatch(r"'[^']*'", expression):
        return expression[1:-1]
    raise ValueError(f"notifications: expression {expression!r} is outside the grammar ({EXPRESSION_GRAMMAR})")


def _interpolated(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def render(template: Any, payload: Any) -> Any:
    """The message the workflow posts for `payload`: every string's @{...} interpolations evaluated."""
    if isinstance(template, dict):
        return {key: render(value, payload) for key, value in template.items()}
    if isinstance(template, list):
        return [render(item, payload) for item in template]
    if isinstance(template, str):
        if template.startswith("@") and not template.startswith("@{"):
            raise ValueError(f"notifications: bare expression {template!r}; only @{{...}} interpolation is used")
        return _INTERPOLATION.sub(lambda match: _interpolated(evaluate(match.group(1), payload)), template)
    return template


def expressions(template: Any) -> list[str]:
    """Every interpolated expression in a template (what `validate_template` checks)."""
    if isinstance(template, dict):
        return [e for value in template.values() for e in expressions(value)]
    if isinstance(template, list):
        return [e for item in template for e in expressions(item)]
    if isinstance(template, str):
        return _INTERPOLATION.findall(template)
    return []


def validate_template(template: Any) -> None:
    for expression in expressions(template):
        evaluate(expression, {})  # raises for anything outside the grammar


# The alerting stack's resources are named from config, so the infra stack names them by id without reading the
# alerting stack's state (which only the apply identity reads). "alert-", not "ops-": new names, so the alerting
# stack creates them beside the infra stack's old adapter, which the infra apply that follows removes.
def webhook_action_group_name(naming: Naming, severity: str, channel: str) -> str:
    return naming.name(f"alert-{severity}-{channel}", "ag")


def adapter_workflow_name(naming: Naming, severity: str, channel: str) -> str:
    return naming.name(f"alert-{severity}-{channel}", "logic")


@dataclass(frozen=True)
class WebhookReceiverIds:
    """The alerting stack's resource ids, derived from config: `action_group_ids` (severity -> the group naming
    the webhook or adapter) and `adapter_workflow_ids` (severity -> the chat adapter's workflow, adapter channels
    only: its diagnostic setting is the infra stack's, where the workspace is)."""

    action_group_ids: Mapping[str, str]
    adapter_workflow_ids: Mapping[str, str]


def webhook_receiver_ids(
    naming: Naming, channels: Mapping[str, str], subscription_id: str, resource_group_name: str
) -> WebhookReceiverIds:
    """`channels`: severity -> webhook channel (config `observability.receivers.<severity>.webhook_name`)."""
    group = f"/subscriptions/{subscription_id}/resourceGroups/{resource_group_name}/providers"
    return WebhookReceiverIds(
        action_group_ids={
            severity: f"{group}/Microsoft.Insights/actionGroups/{webhook_action_group_name(naming, severity, channel)}"
            for severity, channel in sorted(channels.items())
        },
        adapter_workflow_ids={
            severity: f"{group}/Microsoft.Logic/workflows/{adapter_workflow_name(naming, severity, channel)}"
            for severity, channel in sorted(channels.items())
            if CHANNELS[channel] == "adapter"
        },
    )


@dataclass(frozen=True)
class ChatAdapterProps:
    channel: str  # one of ADAPTER_CHANNELS
    severity: str
    naming: Naming
    location: str
    resource_group_name: str
    webhook_url: str  # reference to a sensitive variable, never a literal


class ChatAdapter(Construct):
    """Exposes `workflow_id` and `callback_url` (for the action group's logic_app_receiver)."""

    def __init__(self, scope: Construct, id: str, *, props: ChatAdapterProps) -> None:
        super().__init__(scope, id)
        if props.channel not in ADAPTER_CHANNELS:
            raise ValueError(f"notifications: no adapter for channel {props.channel!r} (have {list(ADAPTER_CHANNELS)})")
        if not props.webhook_url.startswith("${"):
            raise ValueError("notifications: webhook_url must be a reference to a sensitive variable, not a literal")
        message = MESSAGES[props.channel]
        validate_template(message)
        self.workflow = LogicAppWorkflow(
            self,
            "workflow",
            name=adapter_workflow_name(props.naming, props.severity, props.channel),
            location=props.location,
            resource_group_name=props.resource_group_name,
            workflow_parameters={WEBHOOK_PARAMETER: json.dumps({"type": "SecureString"})},
            parameters={WEBHOOK_PARAMETER: props.webhook_url},
        )
        # Its run log (WorkflowRuntime: did the message go out?) goes to the workspace through a diagnostic setting
        # the infra stack declares on this workflow's id (`webhook_receiver_ids`): the workspace is created after it.
        trigger = LogicAppTriggerHttpRequest(
            self,
            "trigger",
            name=TRIGGER_NAME,
            logic_app_id=self.workflow.id,
            method="POST",
            schema=json.dumps(
                {
                    "type": "object",
                    "properties": {"schemaId": {"type": "string"}, "data": {"type": "object"}},
                    "required": ["schemaId", "data"],
                },
                sort_keys=True,
            ),
        )
        LogicAppActionCustom(
            self,
            "post",
            name=ACTION_NAME,
            logic_app_id=self.workflow.id,
            body=json.dumps(
                {
                    "type": "Http",
                    "inputs": {
                        "method": "POST",
                        "uri": f"@parameters('{WEBHOOK_PARAMETER}')",
                        "headers": {"Content-Type": "application/json"},
                        "body": message,
                    },
                    "runAfter": {},
                    # Neither the URL nor the message appears in the run history.
                    "runtimeConfiguration": {"secureData": {"properties": ["inputs"]}},
                },
                sort_keys=True,
            ),
        )
        self.workflow_id = self.workflow.id
        self.callback_url = trigger.callback_url


@dataclass(frozen=True)
class WebhookReceiversProps:
    channels: Mapping[str, str]  # severity -> webhook channel (config observability.receivers.<severity>.webhook_name)
    short_names: Mapping[str, str]  # severity -> action group short name (config receivers.<severity>.short_name)
    naming: Naming
    location: str
    resource_group_name: str
    webhook_urls: Mapping[str, str]  # severity -> reference to a sensitive variable, never a literal


class WebhookReceivers(Construct):
    """The secret-bearing half of alert delivery (the alerting stack's): per severity an action group with only its
    webhook channel, either the webhook itself (PagerDuty reads the common alert schema) or a ChatAdapter's callback
    URL. Exposes `action_group_ids` and `adapters` (severity -> ChatAdapter)."""

    def __init__(self, scope: Construct, id: str, *, props: WebhookReceiversProps) -> None:
        super().__init__(scope, id)
        if missing := sorted(set(props.channels) - set(props.webhook_urls)):
            raise ValueError(f"notifications: webhook_urls lacks the severities {missing}")
        self.adapters: dict[str, ChatAdapter] = {}
        self.action_group_ids: dict[str, str] = {}
        for severity, channel in sorted(props.channels.items()):
            webhook: dict[str, Any] = {}
            if CHANNELS[channel] == "direct":
                webhook["webhook_receiver"] = [
                    MonitorActionGroupWebhookReceiver(
                        name=channel, service_uri=props.webhook_urls[severity], use_common_alert_schema=True
                    )
                ]
            else:
                adapter = self.adapters[severity] = ChatAdapter(
                    self,
                    f"{severity}-{channel}-adapter",
                    props=ChatAdapterProps(
                        channel=channel,
                        severity=severity,
                        naming=props.naming,
                        location=props.location,
                        resource_group_name=props.resource_group_name,
                        webhook_url=props.webhook_urls[severity],
                    ),
                )
                webhook["logic_app_receiver"] = [
                    MonitorActionGroupLogicAppReceiver(
                        name=f"{channel}-adapter",
                        resource_id=adapter.workflow_id,
                        callback_url=adapter.callback_url,
                        use_common_alert_schema=True,
                    )
                ]
            group = MonitorActionGroup(
                self,
                f"{severity}-action-group",
                name=webhook_action_group_name(props.naming, severity, channel),
                resource_group_name=props.resource_group_name,
                location="global",
                short_name=props.short_names[severity],
                **webhook,
            )
            self.action_group_ids[severity] = group.id
