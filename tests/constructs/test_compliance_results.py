"""constructs/compliance_results.py with the cluster stack's compliance CronJob: the job's service account is the
one the identity is federated with, the identity may post to the rule the job posts to, the rule fills the table
the alerts query, and the alerts reach an action group. Each link has a failing example on the real JSON."""

from __future__ import annotations

import json
import re

from constructs.compliance_results import COLUMNS, STREAM, TABLE
from tests.conftest import StackJson, resources_of


def _named(stack: StackJson, resource_type: str, fragment: str) -> dict[str, dict]:
    return {name: body for name, body in resources_of(stack, resource_type).items() if fragment in name}


def wiring_problems(infra: StackJson, cluster: StackJson) -> list[str]:
    """Why the compliance results would not arrive or alert (empty: they would)."""
    problems = []
    namespaces = {
        f"${{kubernetes_namespace_v1.{key}.metadata[0].name}}": body["metadata"]["name"]
        for key, body in resources_of(cluster, "kubernetes_namespace_v1").items()
    }
    accounts = {
        f"system:serviceaccount:{namespaces.get(body['metadata']['namespace'])}:{body['metadata']['name']}": body
        for body in resources_of(cluster, "kubernetes_service_account_v1").values()
    }
    (credential,) = _named(infra, "azurerm_federated_identity_credential", "compliance-results").values()
    account = accounts.get(credential["subject"])
    if account is None:
        problems.append(f"no service account for the federated subject {credential['subject']}")
    else:
        claimed = (account["metadata"].get("annotations") or {}).get("azure.workload.identity/client-id", "")
        identity = re.search(r"\$\{azurerm_user_assigned_identity\.([^.]+)\.id\}", credential["parent_id"])
        if not identity or identity.group(1) not in claimed:
            problems.append("the service account claims another identity than the federated one")
    (rule_name, rule), *_ = _named(infra, "azurerm_monitor_data_collection_rule", "compliance-results").items()
    if [flow["output_stream"] for flow in rule["data_flow"]] != [STREAM]:
        problems.append(f"the rule does not write {STREAM}")
    grants = [
        g for g in resources_of(infra, "azurerm_role_assignment").values()
        if g["scope"] == f"${{azurerm_monitor_data_collection_rule.{rule_name}.id}}"
        and g["role_definition_name"] == "Monitoring Metrics Publisher"
        and "compliance-results_identity" in g["principal_id"]
    ]  # fmt: skip
    if not grants:
        problems.append("the identity may not post to the rule")
    jobs = [j for j in resources_of(cluster, "kubernetes_cron_job_v1").values() if "compliance" in json.dumps(j)]
    env = {
        e["name"]: e["value"]
        for j in jobs
        for c in j["spec"]["job_template"]["spec"]["template"]["spec"]["container"]
        for e in c.get("env", [])
    }
    if f"{rule_name}immutable_id" not in env.get("RESULTS_RULE_ID", "") or env.get("RESULTS_STREAM") != STREAM:
        problems.append("the job posts to another rule or stream")
    alerts = _named(infra, "azurerm_monitor_scheduled_query_rules_alert_v2", "compliance-results")
    for name, alert in sorted(alerts.items()):
        if not alert["criteria"][0]["query"].removeprefix("print Rows = toscalar(").startswith(TABLE):
            problems.append(f"{name} does not query {TABLE}")
        if not alert.get("action", {}).get("action_groups"):
            problems.append(f"{name} reaches no action group")
    if len(alerts) != 2:
        problems.append(f"{len(alerts)} compliance alerts (failed check, no results)")
    return problems


def test_compliance_results_are_wired_end_to_end(stacks: dict[str, StackJson], environment: str) -> None:
    assert wiring_problems(stacks[f"{environment}-infra"], stacks[f"{environment}-cluster"]) == []


def test_failing_examples_each_break_one_link(stacks: dict[str, StackJson], environment: str) -> None:
    infra, cluster = stacks[f"{environment}-infra"], stacks[f"{environment}-cluster"]

    def broken(mutate) -> list[str]:  # type: ignore[no-untyped-def]
        copy = json.loads(json.dumps({"infra": infra, "cluster": cluster}))
        mutate(copy["infra"], copy["cluster"])
        return wiring_problems(copy["infra"], copy["cluster"])

    def rename_account(_: StackJson, c: StackJson) -> None:
        for account in _named(c, "kubernetes_service_account_v1", "compliance").values():
            account["metadata"]["name"] = "compliance-checker"

    def drop_grant(i: StackJson, _: StackJson) -> None:
        grants = resources_of(i, "azurerm_role_assignment")
        for name in [n for n, g in grants.items() if "compliance-results_identity" in g["principal_id"]]:
            del grants[name]

    def silence_alert(i: StackJson, _: StackJson) -> None:
        for alert in _named(i, "azurerm_monitor_scheduled_query_rules_alert_v2", "compliance-results_failed").values():
            alert["action"] = {}

    def other_stream(_: StackJson, c: StackJson) -> None:
        for job in resources_of(c, "kubernetes_cron_job_v1").values():
            for container in job["spec"]["job_template"]["spec"]["template"]["spec"]["container"]:
                for env in container.get("env", []):
                    if env["name"] == "RESULTS_STREAM":
                        env["value"] = "Custom-DrDrillResults_CL"

    assert broken(rename_account) == [
        "no service account for the federated subject system:serviceaccount:compliance:compliance-validation"
    ]
    assert broken(drop_grant) == ["the identity may not post to the rule"]
    assert broken(silence_alert)[0].endswith("reaches no action group")
    assert broken(other_stream) == ["the job posts to another rule or stream"]


def test_the_table_and_the_rule_stream_declare_the_script_columns(stacks: dict[str, StackJson]) -> None:
    infra = stacks["staging-infra"]
    (table,) = [
        t
        for t in resources_of(infra, "azurerm_log_analytics_workspace_table_custom_log").values()
        if t["name"] == TABLE
    ]
    assert {c["name"]: c["type"] for c in table["column"]} == COLUMNS
    (rule,) = _named(infra, "azurerm_monitor_data_collection_rule", "compliance-results").values()
    (stream,) = rule["stream_declaration"]
    assert stream["stream_name"] == STREAM and {c["name"]: c["type"] for c in stream["column"]} == COLUMNS
