"""One environment's secret-bearing alert delivery (`<env>-alerting`): the webhook addresses and what names them.

The PagerDuty integration URL embeds its key, the Slack URL its token, and a chat adapter's callback URL its shared
access signature; azurerm keeps each in state. This stack holds only those pieces (the two sensitive variables, the
webhook receivers' action groups, the chat adapters), and its state is in the container `alerting-tfstate` on which
only the apply identity holds a data role (bootstrap): a pull request's plan and the drift run cannot read it. It is
planned and applied only in the `<env>` GitHub environment, with that environment's secrets
(docs/security-model.md "Alert webhook addresses").

Applied after bootstrap and before the infra stack: the infra stack's alerts name these action groups by their
config-derived ids (constructs/notifications.py `webhook_receiver_ids`), and declares the adapters' diagnostic
settings there (the workspace is the infra stack's).
"""

from __future__ import annotations

import json

from cdktf import TerraformStack, TerraformVariable, TerraformVariableValidationConfig

from config.observability import SEVERITIES
from config.schema import EnvironmentConfig
from constructs import Construct
from constructs.naming import Naming
from constructs.notifications import WEBHOOK_URL_PATTERNS, WebhookReceivers, WebhookReceiversProps
from constructs.platform_groups import platform_groups
from constructs.state_storage import ALERTING_CONTAINER
from stacks.common import apply_environment_aspects, azurerm_provider, use_remote_state


def webhook_url_variable(scope: Construct, severity: str, channel: str) -> str:
    """The sensitive variable `<severity>_alert_webhook_url`, validated against the channel's URL format."""
    pattern = WEBHOOK_URL_PATTERNS[channel]
    return TerraformVariable(
        scope,
        f"{severity}_alert_webhook_url",
        type="string",
        sensitive=True,
        nullable=False,
        description=f"Webhook of the {severity} alert receiver ({channel})",
        validation=[
            TerraformVariableValidationConfig(
                condition=f"${{can(regex({json.dumps(pattern)}, var.{severity}_alert_webhook_url))}}",
                error_message=f"The {severity} alert webhook must be a {channel} URL matching {pattern}.",
            )
        ],
    ).string_value


class AlertingStack(TerraformStack):
    """Exposes `receivers` (constructs/notifications.py WebhookReceivers)."""

    def __init__(self, scope: Construct, id: str, *, config: EnvironmentConfig) -> None:
        super().__init__(scope, id)
        azurerm_provider(self, config)
        use_remote_state(self, config, container_name=ALERTING_CONTAINER)
        receivers = config.observability.receivers
        channels = {severity: receivers[severity].webhook_name for severity in SEVERITIES}
        # CI sets TF_VAR_<name> from the `<env>` environment's secrets; each is checked at plan time against its
        # channel's URL format (the value never enters the JSON).
        self.receivers = WebhookReceivers(
            self,
            "webhooks",
            props=WebhookReceiversProps(
                channels=channels,
                short_names={severity: receivers[severity].short_name for severity in SEVERITIES},
                naming=Naming(config.short_name, config.unique_suffix),
                location=config.location,
                resource_group_name=platform_groups(config)["monitoring"].name,
                webhook_urls={
                    severity: webhook_url_variable(self, severity, channel) for severity, channel in channels.items()
                },
            ),
        )
        apply_environment_aspects(self, config)
