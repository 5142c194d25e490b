"""The Kubernetes manifests as data: documents, workloads and their pods, and who may reach whom.

Everything here is generic over kinds and names, so a workload added later is walked like the others.
``reachable`` answers the question a NetworkPolicy answers (may this pod open this port on that pod?)
for the parts of the API our policies use: pod and namespace selectors, named and numbered ports.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
KUSTOMIZATION = "kustomization.yaml"

Doc = dict[str, Any]


@dataclass
class Manifests:
    """What ``kubectl apply -k deploy/k8s`` reads: the documents of every file, and the kustomization."""

    docs: list[Doc]
    kustomization: Doc
    files: list[str]

    @classmethod
    def load(cls) -> Manifests:
        paths = sorted(p for p in K8S.glob("*.yaml") if p.name != KUSTOMIZATION)
        docs = [doc for path in paths for doc in yaml.safe_load_all(path.read_text()) if doc]
        return cls(docs, yaml.safe_load((K8S / KUSTOMIZATION).read_text()), [p.name for p in paths])


@dataclass
class Workload:
    """Anything that runs pods, with the pod template it runs."""

    kind: str
    name: str
    namespace: str
    pod: Doc  # the pod template: {"metadata": ..., "spec": ...}

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.pod.get("metadata", {}).get("labels", {}))

    @property
    def spec(self) -> Doc:
        spec: Doc = self.pod["spec"]
        return spec

    def containers(self) -> list[Doc]:
        return [*self.spec.get("initContainers", []), *self.spec.get("containers", [])]

    def port_number(self, port: int | str) -> int | None:
        """A NetworkPolicy or Service port resolved on this pod: numbers stay, names are looked up."""
        if isinstance(port, int):
            return port
        for container in self.containers():
            for declared in container.get("ports", []):
                if declared.get("name") == port:
                    return int(declared["containerPort"])
        return None

    def secret_keys(self) -> set[str]:
        return {
            env["valueFrom"]["secretKeyRef"]["key"]
            for container in self.containers()
            for env in container.get("env", [])
            if "secretKeyRef" in env.get("valueFrom", {})
        }

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}"


def workloads(docs: list[Doc]) -> list[Workload]:
    found = []
    for doc in docs:
        kind, meta, spec = doc["kind"], doc["metadata"], doc.get("spec", {})
        namespace = meta.get("namespace", "default")
        if kind == "Pod":
            pod = {"metadata": meta, "spec": spec}
        elif kind == "CronJob":
            pod = spec["jobTemplate"]["spec"]["template"]
        elif "template" in spec and "containers" in spec["template"].get("spec", {}):
            pod = spec["template"]
        else:
            continue
        found.append(Workload(kind, meta["name"], namespace, pod))
    return found


def split_image(image: str) -> tuple[str, str, str]:
    """``registry:5000/name:tag@sha256:...`` -> (``registry:5000/name``, ``tag``, ``sha256:...``)."""
    name, _, digest = image.partition("@")
    tag = ""
    if ":" in name.rsplit("/", 1)[-1]:
        name, tag = name.rsplit(":", 1)
    return name, tag, digest


def images(manifests: Manifests) -> Iterator[tuple[Workload, str]]:
    """Every container image as it runs once kustomization.yaml's image overrides are applied."""
    overrides = {entry["name"]: entry for entry in manifests.kustomization.get("images", [])}
    for workload in workloads(manifests.docs):
        for container in workload.containers():
            name, tag, digest = split_image(str(container["image"]))
            override = overrides.get(name, {})
            name = override.get("newName", name)
            tag, digest = override.get("newTag", tag), override.get("digest", digest)
            yield workload, name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")


def selects(selector: Doc | None, labels: dict[str, str]) -> bool:
    """Kubernetes label-selector semantics; an empty selector selects everything."""
    selector = selector or {}
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        matched = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[operator]
        if not matched:
            return False
    return True


@dataclass(frozen=True)
class Source:
    """Where a connection comes from: a pod's labels in a namespace with its labels."""

    namespace: str
    pod_labels: dict[str, str] = field(default_factory=dict)
    namespace_labels: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.namespace_labels.setdefault("kubernetes.io/metadata.name", self.namespace)  # set by the API server


def namespace_labels(docs: list[Doc], name: str) -> dict[str, str]:
    for doc in docs:
        if doc["kind"] == "Namespace" and doc["metadata"]["name"] == name:
            return dict(doc["metadata"].get("labels", {}))
    return {}


def source_of(docs: list[Doc], workload: Workload) -> Source:
    return Source(workload.namespace, workload.labels, namespace_labels(docs, workload.namespace))


def _peer_matches(peer: Doc, source: Source, target_namespace: str) -> bool:
    if "ipBlock" in peer:
        return True  # an address range may cover any pod: count it as letting everyone in
    if "namespaceSelector" in peer:
        if not selects(peer["namespaceSelector"], source.namespace_labels):
            return False
    elif source.namespace != target_namespace:
        return False  # a podSelector alone means pods of the policy's own namespace
    return selects(peer.get("podSelector"), source.pod_labels)


def _rule_allows(rule: Doc, source: Source, target: Workload, port: int) -> bool:
    ports = rule.get("ports") or []
    if ports and not any(target.port_number(p.get("port", port)) == port for p in ports):
        return False
    peers = rule.get("from") or []
    return not peers or any(_peer_matches(peer, source, target.namespace) for peer in peers)


def reachable(docs: list[Doc], source: Source, target: Workload, port: int) -> bool:
    """May ``source`` open TCP ``port`` on the pods of ``target``, under the namespace's NetworkPolicies?"""
    isolating = [
        doc["spec"]
        for doc in docs
        if doc["kind"] == "NetworkPolicy"
        and doc["metadata"].get("namespace", "default") == target.namespace
        and "Ingress" in doc["spec"].get("policyTypes", ["Ingress"])
        and selects(doc["spec"].get("podSelector"), target.labels)
    ]
    if not isolating:
        return True  # no policy selects the pod: Kubernetes lets everything in
    return any(_rule_allows(rule, source, target, port) for spec in isolating for rule in spec.get("ingress", []))
