"""The Node app of the side-by-side benchmark (tools/maintenance/ts_benchmark_app.py): props named from the
provider modules, maps kept, blocks converted, escape hatches only where no prop exists; and, when
`npm ci --prefix benchmarks/typescript` has run, its output equals ours block for block."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from runtime.jsii_runtime import PROJECT_NODE
from tools.maintenance import ts_benchmark_app

RESOURCE_MODULE = """"use strict";
function resourceGroupTimeoutsToTerraform(struct) {
    if (!cdktf.canInspect(struct)) {
        return struct;
    }
    return {
        create: cdktf.stringToTerraform(struct.create),
    };
}
function resourceGroupPolicyToTerraform(struct) {
    if (!cdktf.canInspect(struct)) {
        return struct;
    }
    return {
        mode: cdktf.stringToTerraform(struct.mode),
    };
}
class ResourceGroup extends cdktf.TerraformResource {
    synthesizeAttributes() {
        return {
            location: cdktf.stringToTerraform(this._location),
            managed_by: cdktf.stringToTerraform(this._managedBy),
            tags: cdktf.hashMapper(cdktf.stringToTerraform)(this._tags),
            timeouts: resourceGroupTimeoutsToTerraform(this._timeouts.internalValue),
            policy: resourceGroupPolicyToTerraform(this._policy.internalValue),
        };
    }
}
exports.ResourceGroup = ResourceGroup;
ResourceGroup.tfResourceType = "azurerm_resource_group";
"""
PROVIDER_MODULE = """"use strict";
class AzurermProvider extends cdktf.TerraformProvider {
    constructor(scope, id, config = {}) {
        super(scope, id, { terraformGeneratorMetadata: { providerName: 'azurerm', providerVersion: '4.55.0' } });
    }
    synthesizeAttributes() {
        return {
            alias: cdktf.stringToTerraform(this._alias),
            subscription_id: cdktf.stringToTerraform(this._subscriptionId),
        };
    }
}
AzurermProvider.tfResourceType = "azurerm";
"""
STACK = {
    "//": {
        "metadata": {
            "backend": "local",
            "overrides": {"azurerm_resource_group": ["managed_by"]},
            "stackName": "s",
            "version": "0.21.0",
        },
        "outputs": {"s": {"cross-stack-output-a.b.id": "cross-stack-output-abid"}},
    },
    "provider": {"azurerm": [{"alias": "prod", "subscription_id": "0000"}], "time": [{}]},
    "resource": {
        "azurerm_resource_group": {
            "rg_1A2B3C4D": {
                "//": {"metadata": {"path": "s/data/rg", "uniqueId": "rg_1A2B3C4D"}},
                "location": "westeurope",
                "managed_by": "${azurerm_resource_group.other.id}",
                "tags": {"cost-center": "erp"},
                "timeouts": {"create": "5m"},
                "policy": {"mode": "strict", "not_in_the_struct": 1},
                "not_in_the_bindings": True,
                "provider": "azurerm.prod",
                "lifecycle": {"prevent_destroy": True},
            }
        },
        "time_sleep": {
            "wait": {
                "//": {"metadata": {"path": "s/wait", "uniqueId": "wait"}},
                "create_duration": "30s",
                "depends_on": ["azurerm_resource_group.rg_1A2B3C4D"],
            }
        },
    },
    "moved": [{"from": "azurerm_resource_group.old", "to": "azurerm_resource_group.rg_1A2B3C4D"}],
    "terraform": {
        "backend": {"local": {"path": "s.tfstate"}},
        "required_providers": {
            "azurerm": {"source": "azurerm", "version": "4.81.0"},
            "time": {"source": "hashicorp/time", "version": "~> 0.13"},
        },
    },
    "variable": {
        "hook": {"sensitive": True, "type": "string", "validation": [{"condition": "true", "error_message": "m"}]}
    },
    "locals": {"ids": {"A": "1"}},
    "output": {"out": {"value": "${azurerm_resource_group.rg_1A2B3C4D.id}"}, "cross-stack-output-abid": {"value": 1}},
}


@pytest.fixture
def generated(tmp_path: Path) -> str:
    modules = tmp_path / "node_modules" / "@cdktf" / "provider-azurerm" / "lib"
    (modules / "resource-group").mkdir(parents=True)
    (modules / "resource-group" / "index.js").write_text(RESOURCE_MODULE)
    (modules / "provider").mkdir()
    (modules / "provider" / "index.js").write_text(PROVIDER_MODULE)
    stack = tmp_path / "out" / "stacks" / "s" / "cdk.tf.json"
    stack.parent.mkdir(parents=True)
    stack.write_text(json.dumps(STACK))
    return ts_benchmark_app.generate(tmp_path / "out", tmp_path / "app.js", tmp_path / "node_modules")


def test_a_resource_is_its_provider_class_with_props_named_by_the_module(generated: str) -> None:
    assert 'const m1 = require("@cdktf/provider-azurerm/lib/resource-group");' in generated
    call = re.search(r"new m1\.ResourceGroup\(scope\(scopes, \"s/data\"\), \"rg\", (\{.*\})\);", generated)
    assert call, generated
    assert call[1] == (
        '{provider:e1,"location":"westeurope","tags":{"cost-center":"erp"},"timeouts":{"create":"5m"},'
        '"policy":{"mode":"strict"},"lifecycle":{"preventDestroy":true}}'
    )  # map keys kept, block keys converted, the provider a variable; what the Python app overrode is not a prop
    assert 'register(scopes, "s/data/rg", e4, "rg_1A2B3C4D");' in generated
    assert 'e4.addOverride("not_in_the_bindings", true);' in generated  # no prop in the 4.55 bindings
    assert 'e4.addOverride("managed_by", "${azurerm_resource_group.other.id}");' in generated  # as the Python app
    assert 'e4.addOverride("policy.not_in_the_struct", 1);' in generated  # a nested attribute the bindings lack
    assert 'e4.moveFromId("azurerm_resource_group.old");' in generated


def test_providers_backend_variables_outputs_and_unbound_types(generated: str) -> None:
    assert 'new m0.AzurermProvider(stack, "prod", {"alias":"prod","subscriptionId":"0000"});' in generated
    assert 'pinVersion(stack, "azurerm", "4.81.0");' in generated  # the class declares 4.55.0
    assert 'new TerraformProvider(stack, "time", {terraformResourceType: "time"' in generated
    assert 'new LocalBackend(stack, {"path":"s.tfstate"});' in generated
    assert (
        'new TerraformVariable(stack, "hook", {"sensitive":true,"type":"string",'
        '"validation":[{"condition":"true","errorMessage":"m"}]});'
    ) in generated
    assert 'new TerraformLocal(stack, "ids", {"A":"1"});' in generated
    assert 'out(stack, "out", "out", {"value":"${azurerm_resource_group.rg_1A2B3C4D.id}"});' in generated
    assert 'out(stack, "cross-stack-output-a.b.id", "cross-stack-output-abid", {"value":1});' in generated
    assert 'raw(scope(scopes, "s"), "wait", "time_sleep", {});' in generated
    assert 'e3.addOverride("create_duration", "30s");' in generated  # time_sleep: no prebuilt class
    assert 'e3.dependsOn = ["azurerm_resource_group.rg_1A2B3C4D"];' in generated


def test_the_comparison_counts_equal_blocks_and_ignores_the_order_of_moved_blocks_and_overrides(
    tmp_path: Path,
) -> None:
    mine = {**STACK, "moved": [{"from": "a.x", "to": "a.y"}, {"from": "b.x", "to": "b.y"}]}
    mine["//"] = {**STACK["//"], "metadata": {"overrides": {"time_sleep": ["create_duration", "triggers"]}}}
    theirs = json.loads(json.dumps(mine))
    theirs["moved"].reverse()
    theirs["//"]["metadata"]["overrides"]["time_sleep"].reverse()
    theirs["resource"]["time_sleep"]["wait"]["create_duration"] = "31s"
    for name, doc in (("ours", mine), ("theirs", theirs)):
        path = tmp_path / name / "stacks" / "s" / "cdk.tf.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(doc))
    equal, total, differences = ts_benchmark_app.compare(tmp_path / "ours", tmp_path / "theirs")
    assert (equal, total) == (13, 14)
    assert differences == ['s: resource.time_sleep.wait: .create_duration: python "30s" / node "31s"']


NODE_MODULES = ts_benchmark_app.TS_DIR / "node_modules"


@pytest.mark.slow
@pytest.mark.skipif(not (NODE_MODULES / "cdktf").is_dir(), reason="npm ci --prefix benchmarks/typescript not run")
def test_the_node_app_writes_our_output(synth_dir: Path, tmp_path: Path) -> None:
    app = tmp_path / "app.js"
    ts_benchmark_app.generate(synth_dir, app, NODE_MODULES)
    (tmp_path / "node_modules").symlink_to(NODE_MODULES)  # require() resolves from the app's folder
    subprocess.run(
        [str(PROJECT_NODE or "node"), str(app)],
        env={**os.environ, "CDKTF_OUTDIR": str(tmp_path / "out")},
        check=True,
        timeout=600,
    )
    equal, total, differences = ts_benchmark_app.compare(synth_dir, tmp_path / "out")
    assert differences == []
    assert equal == total > 1000
