"""Job images hold what their commands call (constructs/baseline/image_contents.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from tools.checks.deployability.model import StackJson, blocks, resources_of

SHELL_WORDS = frozenset(
    [
        "if",
        "then",
        "else",
        "elif",
        "fi",
        "for",
        "in",
        "do",
        "done",
        "while",
        "until",
        "case",
        "esac",
        "function",
        "return",
        "exit",
        "set",
        "shift",
        "export",
        "local",
        "read",
        "echo",
        "printf",
        "test",
        "[",
        "eval",
        "exec",
        "cd",
        "pwd",
        "true",
        "false",
        ":",
        ".",
        "trap",
        "wait",
        "unset",
        "break",
        "continue",
    ]
)  # POSIX sh keywords and builtins: need no binary
_COMMAND_POSITION = re.compile(
    r"(?:^|[|;&()`]|(?<!\$)\{|\b(?:do|then|else|if|while|until)\b|!)[ \t]*([A-Za-z_][A-Za-z0-9_.-]*|\[)"
    r"(?![A-Za-z0-9_.=-])",
    re.MULTILINE,
)
_FUNCTION = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*\(\)", re.MULTILINE)


def script_commands(script: str) -> set[str]:
    """The external commands a POSIX sh script calls: words in command position (also inside double-quoted
    `eval` strings), less shell keywords, builtins, the script's own functions and variable assignments.
    Single-quoted text is data (jsonpath, patterns) and comments are not code."""
    lines = [line for line in script.replace("\\\n", " ").splitlines() if not line.lstrip().startswith("#")]
    text = re.sub(r"'[^']*'", "''", "\n".join(lines))
    text = re.sub(r"\s#[^\n]*", "", text).replace('\\"', '"').replace("\\$", "$")
    functions = set(_FUNCTION.findall(text))
    return {word for word in _COMMAND_POSITION.findall(text) if word not in SHELL_WORDS | functions}


def _image_sources(infra: StackJson) -> dict[str, str]:
    """Target repository:tag in the environment's registry -> the public image `az acr import` copied."""
    found = {}
    for data in resources_of(infra, "terraform_data").values():
        triggers = data.get("triggers_replace")
        if isinstance(triggers, list) and len(triggers) == 2 and "az acr import" in json.dumps(data):
            found[str(triggers[1])] = str(triggers[0])
    return found


def _pod_specs(stack: StackJson) -> list[tuple[str, dict[str, Any]]]:
    specs = []
    for key, job in resources_of(stack, "kubernetes_cron_job_v1").items():
        for job_spec in blocks(job["spec"].get("job_template")):
            for inner in blocks(job_spec.get("spec")):
                for template in blocks(inner.get("template")):
                    specs += [(f"CronJob {job['metadata'].get('name', key)}", s) for s in blocks(template.get("spec"))]
    for key, job in resources_of(stack, "kubernetes_job_v1").items():
        for template in blocks(job["spec"].get("template")):
            specs += [(f"Job {job['metadata'].get('name', key)}", s) for s in blocks(template.get("spec"))]
    return specs


def _mounted_scripts(stack: StackJson, spec: Mapping[str, Any], container: Mapping[str, Any]) -> dict[str, str]:
    """Path -> text of every file a container sees from a ConfigMap volume of the stack."""
    maps = {
        f"${{kubernetes_config_map_v1.{key}.metadata[0].name}}": value.get("data", {})
        for key, value in resources_of(stack, "kubernetes_config_map_v1").items()
    }
    maps |= {
        value["metadata"].get("name"): value.get("data", {})
        for value in resources_of(stack, "kubernetes_config_map_v1").values()
    }
    volumes = {
        volume["name"]: maps.get(str(config_map.get("name")), {})
        for volume in blocks(spec.get("volume"))
        for config_map in blocks(volume.get("config_map"))
    }
    files = {}
    for mount in blocks(container.get("volume_mount")):
        for name, text in volumes.get(mount.get("name"), {}).items():
            files[f"{mount['mount_path'].rstrip('/')}/{name}"] = str(text)
    return files


def job_image_findings(stacks: Mapping[str, StackJson]) -> list[str]:
    """Every Job/CronJob container of the cluster stacks runs an image of the table whose binaries include its
    command and, when the command is a shell running a mounted script, every command of that script."""
    from constructs.baseline.image_contents import IMAGE_CONTENTS, repository_of

    problems = []
    for stack_name, stack in sorted(stacks.items()):
        if not stack_name.endswith("-cluster"):
            continue
        sources = _image_sources(stacks.get(stack_name.replace("-cluster", "-infra"), {}))
        for what, spec in _pod_specs(stack):
            for container in [*blocks(spec.get("init_container")), *blocks(spec.get("container"))]:
                where = f"{stack_name}: {what} container {container.get('name')}"
                image = str(container.get("image", ""))
                name = image.split("@", 1)[0]  # the copy's tag names its import; the digest is the import's
                in_registry = name.split("/", 1)[1] if "/" in name else name
                source = sources.get(in_registry, image)
                contents = IMAGE_CONTENTS.get(repository_of(source))
                if contents is None:
                    problems.append(f"{where}: image {source} is not in constructs/baseline/image_contents.py")
                    continue
                command = [str(part) for part in container.get("command") or []]
                if not command:
                    continue
                needed = {command[0].rsplit("/", 1)[-1]}
                scripts = _mounted_scripts(stack, spec, container)
                if needed <= {"sh", "ash", "bash"} and len(command) > 1 and command[1] in scripts:
                    needed |= script_commands(scripts[command[1]])
                missing = sorted(needed - contents.binaries)
                if missing:
                    problems.append(
                        f"{where}: runs {' '.join(command)} on {source}, which lacks {', '.join(missing)} "
                        f"({contents.source})"
                    )
    return problems
