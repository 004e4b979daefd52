"""What is inside each image a cluster job may run: the executables its command and scripts can call.

Pure data, no cdktf import; `tools/checks/deployability/job_images.py` (`job_image_findings`) checks every
Job/CronJob container of the cluster stacks against it: the command's binary and every command its mounted script
calls must be here.
An image missing from the table is a finding too, so a new image comes with its contents and their source.
"""

from __future__ import annotations

from dataclasses import dataclass

# Alpine's busybox applets the scripts here use (Alpine's busybox configuration: `/bin/busybox --list`), plus the
# shells. Not exhaustive: an applet absent here is reported until it is added with the same source.
ALPINE_BUSYBOX = frozenset(
    [
        "sh",
        "ash",
        "awk",
        "basename",
        "cat",
        "chmod",
        "cp",
        "cut",
        "date",
        "dirname",
        "du",
        "echo",
        "env",
        "false",
        "find",
        "grep",
        "gzip",
        "head",
        "hostname",
        "id",
        "ln",
        "ls",
        "mkdir",
        "mktemp",
        "mv",
        "printf",
        "readlink",
        "rm",
        "rmdir",
        "sed",
        "sleep",
        "sort",
        "stat",
        "tail",
        "tar",
        "tee",
        "test",
        "touch",
        "tr",
        "true",
        "uname",
        "uniq",
        "wc",
        "xargs",
    ]
)


@dataclass(frozen=True)
class ImageContents:
    binaries: frozenset[str]
    source: str  # where the list comes from


IMAGE_CONTENTS: dict[str, ImageContents] = {
    # The Kubernetes release images, kubectl included, are built FROM the go-runner image, "a wrapper around
    # gcr.io/distroless/static" (kubernetes/kubernetes build/common.sh, build/server-image): no shell, no coreutils.
    # rancher/kubectl package/Dockerfile: kubectl copied into FROM scratch (no shell either).
    "docker.io/rancher/kubectl": ImageContents(frozenset({"kubectl"}), "rancher/kubectl package/Dockerfile (scratch)"),
    "registry.k8s.io/kubectl": ImageContents(
        frozenset({"kubectl", "go-runner"}), "kubernetes/kubernetes build/common.sh (go-runner, distroless/static)"
    ),
    # alpine-docker/k8s Dockerfile (c1eab3a, 2026-01-09): FROM alpine:edge; apk add curl ca-certificates bash git,
    # py3-pip + awscli, jq yq, gettext (envsubst); kubectl, helm, kustomize, eksctl, kubeseal, vals, kubeconform,
    # aws-iam-authenticator into /usr/bin. Rebuilt daily for the latest patch of the four newest Kubernetes minors
    # (latest_versions.sh, .circleci), tag = the kubectl version without "v". Trade-offs: an edge (rolling) Alpine
    # base and many tools the jobs do not need; the pods run it as UID 65532, read-only, all capabilities dropped.
    "docker.io/alpine/k8s": ImageContents(
        ALPINE_BUSYBOX
        | frozenset(
            [
                "bash",
                "curl",
                "git",
                "jq",
                "yq",
                "envsubst",
                "python3",
                "aws",
                "kubectl",
                "helm",
                "kustomize",
                "eksctl",
                "kubeseal",
                "vals",
                "kubeconform",
                "aws-iam-authenticator",
            ]
        ),
        "alpine-docker/k8s Dockerfile (c1eab3a) and latest_versions.sh",
    ),
}


def repository_of(image: str) -> str:
    """`docker.io/alpine/k8s:1.36.5` / `...@sha256:...` -> `docker.io/alpine/k8s`."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return name.rsplit(":", 1)[0] if ":" in last else name
