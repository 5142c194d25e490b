"""Our rules for the Kubernetes manifests. Each takes every manifest and returns what breaks it, one line each.

A rule walks every workload (any kind that runs pods), every container and every policy, so a workload
added later is held to the same rules without a line changed here. tests/deploy/test_k8s.py runs each
rule on the real manifests, and on a copy broken on purpose to show the rule notices.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.deploy.k8s_manifests import Manifests, Source, Workload, images, reachable, source_of, split_image, workloads

Rule = Callable[[Manifests], list[str]]
DEPLOY_DOC = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"
SECRET_NAME = re.compile(r"PASSWORD|TOKEN|SECRET|API_KEY|CREDENTIAL", re.IGNORECASE)
PROMETHEUS_NAMESPACE = "monitoring"
REDIS_CLIENT_SECRET = "REDIS_PASSWORD"  # a workload that needs Redis is one that is given its password

RULES: dict[str, Rule] = {}


def rule(function: Rule) -> Rule:
    RULES[function.__name__] = function
    return function


def _security(workload: Workload, container: dict[str, Any]) -> dict[str, Any]:
    """The container's effective security context: its own fields win over the pod's."""
    return {**workload.spec.get("securityContext", {}), **container.get("securityContext", {})}


def _each_container(manifests: Manifests) -> list[tuple[str, Workload, dict[str, Any]]]:
    return [
        (f"{workload} container {container['name']}", workload, container)
        for workload in workloads(manifests.docs)
        for container in workload.containers()
    ]


@rule
def runs_as_non_root(manifests: Manifests) -> list[str]:
    return [
        f"{where}: runAsNonRoot must be true and runAsUser not 0"
        for where, workload, container in _each_container(manifests)
        if (ctx := _security(workload, container)).get("runAsNonRoot") is not True or ctx.get("runAsUser") == 0
    ]


@rule
def read_only_root_filesystem(manifests: Manifests) -> list[str]:
    return [
        f"{where}: readOnlyRootFilesystem must be true"
        for where, _, container in _each_container(manifests)
        if container.get("securityContext", {}).get("readOnlyRootFilesystem") is not True
    ]


@rule
def writable_tmp_is_an_empty_dir(manifests: Manifests) -> list[str]:
    broken = []
    for where, workload, container in _each_container(manifests):
        empty_dirs = {v["name"] for v in workload.spec.get("volumes", []) if "emptyDir" in v}
        mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
        if mounts.get("/tmp") not in empty_dirs:
            broken.append(f"{where}: /tmp must be an emptyDir volume (the root filesystem is read-only)")
    return broken


@rule
def no_privilege_escalation(manifests: Manifests) -> list[str]:
    return [
        f"{where}: allowPrivilegeEscalation must be false and privileged unset"
        for where, _, container in _each_container(manifests)
        if (ctx := container.get("securityContext", {})).get("allowPrivilegeEscalation") is not False
        or ctx.get("privileged")
    ]


@rule
def all_capabilities_dropped(manifests: Manifests) -> list[str]:
    return [
        f"{where}: capabilities must drop ALL and add none"
        for where, _, container in _each_container(manifests)
        if "ALL" not in (caps := container.get("securityContext", {}).get("capabilities", {})).get("drop", [])
        or caps.get("add")
    ]


@rule
def seccomp_runtime_default(manifests: Manifests) -> list[str]:
    return [
        f"{where}: seccompProfile must be RuntimeDefault"
        for where, workload, container in _each_container(manifests)
        if _security(workload, container).get("seccompProfile", {}).get("type") != "RuntimeDefault"
    ]


@rule
def requests_and_limits(manifests: Manifests) -> list[str]:
    broken = []
    for where, _, container in _each_container(manifests):
        resources = container.get("resources", {})
        for bound in ("requests", "limits"):
            missing = {"cpu", "memory"} - set(resources.get(bound, {}))
            if missing:
                broken.append(f"{where}: resources.{bound} lacks {sorted(missing)}")
    return broken


@rule
def no_service_account_token(manifests: Manifests) -> list[str]:
    return [
        f"{workload}: automountServiceAccountToken must be false (no pod of ours calls the Kubernetes API)"
        for workload in workloads(manifests.docs)
        if workload.spec.get("automountServiceAccountToken") is not False
    ]


@rule
def images_pinned(manifests: Manifests) -> list[str]:
    broken = []
    for workload, image in images(manifests):
        _, tag, digest = split_image(image)
        if not digest and tag in ("", "latest"):
            broken.append(f"{workload}: image {image} is not pinned to a version")
    return broken


@rule
def secrets_referenced_not_embedded(manifests: Manifests) -> list[str]:
    broken = [
        f"Secret/{doc['metadata']['name']}: secrets are created by the operator, never shipped in a manifest"
        for doc in manifests.docs
        if doc["kind"] == "Secret"
    ]
    for doc in manifests.docs:
        if doc["kind"] == "ConfigMap":
            broken += [f"ConfigMap/{doc['metadata']['name']}: {key} is a secret" for key in doc.get("data", {})
                       if SECRET_NAME.search(key)]  # fmt: skip
    documented = DEPLOY_DOC.read_text() if DEPLOY_DOC.exists() else ""
    for where, _, container in _each_container(manifests):
        if any("secretRef" in source for source in container.get("envFrom", [])):
            broken.append(f"{where}: envFrom secretRef hands over every key; use secretKeyRef per key")
        for env in container.get("env", []):
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if "value" in env and SECRET_NAME.search(env["name"]):
                broken.append(f"{where}: {env['name']} has a value written in the manifest")
            elif ref and not (f"`{ref['name']}`" in documented and f"`{ref['key']}`" in documented):
                broken.append(f"{where}: secret {ref['name']}/{ref['key']} is not documented in docs/deploy.md")
    return broken


@rule
def namespaces_enforce_restricted(manifests: Manifests) -> list[str]:
    labels = {
        d["metadata"]["name"]: d["metadata"].get("labels", {}) for d in manifests.docs if d["kind"] == "Namespace"
    }
    return [
        f"Namespace/{namespace}: pod-security.kubernetes.io/enforce must be restricted"
        for namespace in sorted({w.namespace for w in workloads(manifests.docs)})
        if labels.get(namespace, {}).get("pod-security.kubernetes.io/enforce") != "restricted"
    ]


@rule
def default_deny_ingress(manifests: Manifests) -> list[str]:
    denying = {
        doc["metadata"].get("namespace", "default")
        for doc in manifests.docs
        if doc["kind"] == "NetworkPolicy"
        and not doc["spec"].get("podSelector")
        and "Ingress" in doc["spec"].get("policyTypes", [])
        and not doc["spec"].get("ingress")
    }
    return [
        f"namespace {namespace}: no default-deny ingress NetworkPolicy"
        for namespace in sorted({w.namespace for w in workloads(manifests.docs)} - denying)
    ]


def _container_ports(workload: Workload) -> list[int]:
    return [int(p["containerPort"]) for c in workload.containers() for p in c.get("ports", [])]


@rule
def closed_to_other_namespaces(manifests: Manifests) -> list[str]:
    stranger = Source("elsewhere")
    return [
        f"{workload}: port {port} is open to pods of any namespace"
        for workload in workloads(manifests.docs)
        for port in _container_ports(workload)
        if reachable(manifests.docs, stranger, workload, port)
    ]


def _is_redis(workload: Workload) -> bool:
    return any(split_image(c["image"])[0].rsplit("/", 1)[-1] == "redis" for c in workload.containers())


@rule
def redis_only_from_services(manifests: Manifests) -> list[str]:
    docs, broken = manifests.docs, []
    everyone = workloads(docs)
    for redis in filter(_is_redis, everyone):
        port = redis.port_number("redis") or 6379
        candidates = [
            (str(w), source_of(docs, w), REDIS_CLIENT_SECRET in w.secret_keys()) for w in everyone if w is not redis
        ]
        strangers = [
            (
                "an unlabelled pod of its namespace",
                Source(redis.namespace, {}, source_of(docs, redis).namespace_labels),
            ),
            (f"a pod in namespace {PROMETHEUS_NAMESPACE}", Source(PROMETHEUS_NAMESPACE)),
        ]
        candidates += [(name, source, False) for name, source in strangers]
        for name, source, needs_redis in candidates:
            if reachable(docs, source, redis, port) != needs_redis:
                verb = "cannot reach" if needs_redis else "may reach"
                broken.append(f"{name} {verb} {redis} on port {port}")
    return broken


@rule
def prometheus_can_scrape(manifests: Manifests) -> list[str]:
    prometheus = Source(PROMETHEUS_NAMESPACE)
    broken = []
    for workload in workloads(manifests.docs):
        annotations = workload.pod.get("metadata", {}).get("annotations", {})
        if annotations.get("prometheus.io/scrape") != "true":
            continue
        port = int(annotations["prometheus.io/port"])
        if not reachable(manifests.docs, prometheus, workload, port):
            broken.append(f"{workload}: Prometheus (namespace {PROMETHEUS_NAMESPACE}) cannot scrape port {port}")
    return broken


@rule
def http_open_inside_the_namespace(manifests: Manifests) -> list[str]:
    """The services call each other over HTTP (everyone the simulator, monitor the others): keep that open."""
    docs, broken = manifests.docs, []
    everyone = workloads(docs)
    for service in (d for d in docs if d["kind"] == "Service"):
        namespace = service["metadata"].get("namespace", "default")
        backends = [w for w in everyone if w.namespace == namespace and _selected(service, w)]
        for port in (p for p in service["spec"]["ports"] if p.get("name") == "http"):
            for backend in backends:
                number = backend.port_number(port.get("targetPort", port["port"]))
                callers = [w for w in everyone if w.namespace == namespace and w is not backend]
                broken += [
                    f"{caller} cannot reach Service/{service['metadata']['name']} port {number}"
                    for caller in callers
                    if number is None or not reachable(docs, source_of(docs, caller), backend, number)
                ]
    return broken


def _selected(service: dict[str, Any], workload: Workload) -> bool:
    selector = service["spec"].get("selector", {})
    return bool(selector) and all(workload.labels.get(k) == v for k, v in selector.items())


@rule
def kustomization_lists_every_manifest(manifests: Manifests) -> list[str]:
    listed = set(manifests.kustomization.get("resources", []))
    return [f"kustomization.yaml does not list {name}" for name in manifests.files if name not in listed] + [
        f"kustomization.yaml lists {name}, which does not exist" for name in sorted(listed - set(manifests.files))
    ]
