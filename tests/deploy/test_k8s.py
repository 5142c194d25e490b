"""Kubernetes manifests: the 1.37 schemas, our hardening rules, and proof that each rule can fail.

Each rule of tests/deploy/k8s_rules.py runs on the real manifests (it must find nothing), then on a copy
broken the way that rule forbids (it must find something): a rule that cannot fail guards nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from tests.deploy.k8s_manifests import Manifests, Workload, workloads
from tests.deploy.k8s_rules import RULES

MANIFESTS = Manifests.load()


@pytest.mark.parametrize("doc", MANIFESTS.docs, ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_manifest_matches_the_schema(doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, "1.37", strict=True)


@pytest.mark.parametrize("name", sorted(RULES))
def test_manifests_keep_the_rule(name: str) -> None:
    assert RULES[name](MANIFESTS) == []


# --- ways to break each rule, applied to a copy of the real manifests


def _workload(m: Manifests, name: str) -> Workload:
    return next(w for w in workloads(m.docs) if w.name == name)


def _container(m: Manifests, name: str) -> dict[str, Any]:
    container: dict[str, Any] = _workload(m, name).containers()[0]
    return container


def _labels(m: Manifests, name: str) -> dict[str, str]:
    labels: dict[str, str] = _workload(m, name).pod["metadata"]["labels"]
    return labels


def _doc(m: Manifests, kind: str, name: str) -> dict[str, Any]:
    return next(d for d in m.docs if d["kind"] == kind and d["metadata"]["name"] == name)


def _set_env(m: Manifests, name: str, env: dict[str, Any]) -> None:
    _container(m, name).setdefault("env", []).append(env)


BREAKS: dict[str, list[Callable[[Manifests], object]]] = {
    "runs_as_non_root": [
        lambda m: _workload(m, "scout").spec["securityContext"].pop("runAsNonRoot"),
        lambda m: _container(m, "redis").setdefault("securityContext", {}).update(runAsUser=0),
    ],
    "read_only_root_filesystem": [lambda m: _container(m, "monitor")["securityContext"].pop("readOnlyRootFilesystem")],
    "writable_tmp_is_an_empty_dir": [lambda m: _container(m, "ia1").pop("volumeMounts")],
    "no_privilege_escalation": [
        lambda m: _container(m, "execution")["securityContext"].update(allowPrivilegeEscalation=True),
        lambda m: _container(m, "ia2")["securityContext"].update(privileged=True),
    ],
    "all_capabilities_dropped": [
        lambda m: _container(m, "redis")["securityContext"]["capabilities"].update(drop=["NET_RAW"]),
        lambda m: _container(m, "scout")["securityContext"]["capabilities"].update(add=["NET_ADMIN"]),
    ],
    "seccomp_runtime_default": [
        lambda m: _workload(m, "exchange-sim").spec["securityContext"].pop("seccompProfile"),
        lambda m: _container(m, "ia1")["securityContext"].update(seccompProfile={"type": "Unconfined"}),
    ],
    "requests_and_limits": [
        lambda m: _container(m, "ia2")["resources"].pop("limits"),
        lambda m: _container(m, "redis")["resources"]["requests"].pop("cpu"),
    ],
    "no_service_account_token": [lambda m: _workload(m, "monitor").spec.pop("automountServiceAccountToken")],
    "images_pinned": [
        lambda m: _container(m, "redis").update(image="redis:latest"),
        lambda m: _container(m, "redis").update(image="redis"),
        lambda m: m.kustomization["images"][0].pop("newTag"),  # our image is named without a tag
    ],
    "secrets_referenced_not_embedded": [
        lambda m: m.docs.append(
            {"kind": "Secret", "metadata": {"name": "tradepipe-secrets"}, "stringData": {"ADMIN_TOKEN": "x"}}
        ),
        lambda m: _set_env(m, "execution", {"name": "EXCHANGE_API_SECRET", "value": "change-me"}),
        lambda m: _container(m, "scout")["envFrom"].append({"secretRef": {"name": "tradepipe-secrets"}}),
        lambda m: _doc(m, "ConfigMap", "tradepipe-config")["data"].update(REDIS_PASSWORD="change-me"),
        lambda m: _set_env(
            m,
            "scout",
            {"name": "X", "valueFrom": {"secretKeyRef": {"name": "tradepipe-secrets", "key": "UNDOCUMENTED"}}},
        ),
    ],
    "namespaces_enforce_restricted": [lambda m: _doc(m, "Namespace", "tradepipe")["metadata"].pop("labels")],
    "default_deny_ingress": [lambda m: m.docs.remove(_doc(m, "NetworkPolicy", "default-deny-ingress"))],
    "closed_to_other_namespaces": [
        lambda m: _doc(m, "NetworkPolicy", "http-from-tradepipe-and-prometheus")["spec"]["ingress"][0]["from"].append(
            {"namespaceSelector": {}}
        ),
    ],
    "redis_only_from_services": [
        lambda m: _labels(m, "exchange-sim").update({"tradepipe.io/redis-client": "true"}),
        lambda m: _labels(m, "monitor").pop("tradepipe.io/redis-client"),
        lambda m: _doc(m, "NetworkPolicy", "redis-from-services")["spec"]["ingress"][0]["from"].append(
            {"podSelector": {}}
        ),
        lambda m: m.docs.remove(_doc(m, "NetworkPolicy", "redis-from-services")),
    ],
    "prometheus_can_scrape": [
        lambda m: _doc(m, "NetworkPolicy", "http-from-tradepipe-and-prometheus")["spec"]["ingress"][0]["from"].pop(),
    ],
    "http_open_inside_the_namespace": [
        lambda m: _doc(m, "NetworkPolicy", "http-from-tradepipe-and-prometheus")["spec"]["ingress"][0]["from"].pop(0),
    ],
    "kustomization_lists_every_manifest": [
        lambda m: m.kustomization["resources"].remove("40-network-policies.yaml"),
        lambda m: m.files.append("60-unlisted.yaml"),
    ],
}


def test_every_rule_has_a_way_to_break_it() -> None:
    assert set(BREAKS) == set(RULES)


@pytest.mark.parametrize(
    ("name", "index"), [(name, i) for name, breaks in sorted(BREAKS.items()) for i in range(len(breaks))]
)
def test_rule_catches_a_manifest_that_breaks_it(name: str, index: int) -> None:
    broken = copy.deepcopy(MANIFESTS)
    BREAKS[name][index](broken)
    assert RULES[name](broken), f"{name} did not notice break #{index}"


# --- what the application itself needs from the manifests


def test_every_deployment_has_probes_and_scrape_annotations() -> None:
    deployments = [d for d in MANIFESTS.docs if d["kind"] == "Deployment" and d["metadata"]["name"] != "alertmanager"]
    assert {d["metadata"]["name"] for d in deployments} >= {
        "exchange-sim",
        "scout",
        "ia1",
        "ia2",
        "execution",
        "monitor",
        "journal",
    }
    for deployment in deployments:
        pod = deployment["spec"]["template"]
        [container] = pod["spec"]["containers"]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
        assert pod["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
        assert {"configMapRef": {"name": "tradepipe-config"}} in container["envFrom"]


def test_the_services_get_the_redis_password_and_the_simulator_does_not() -> None:
    clients = {w.name for w in workloads(MANIFESTS.docs) if "REDIS_PASSWORD" in w.secret_keys()}
    assert clients == {"redis", "scout", "ia1", "ia2", "execution", "monitor", "journal"}


def _by_name(kind: str, name: str) -> dict[str, Any]:
    return next(d for d in MANIFESTS.docs if d["kind"] == kind and d["metadata"]["name"] == name)


def test_the_journal_and_its_readers_share_its_database() -> None:
    readers = {w.name for w in workloads(MANIFESTS.docs) if "DATABASE_URL" in w.secret_keys()}
    assert readers == {"journal", "execution", "monitor"}
    for name in readers:  # and PostgreSQL lets exactly them in
        assert _by_name("Deployment", name)["spec"]["template"]["metadata"]["labels"]["tradepipe.io/journal-client"]
    policy = _by_name("NetworkPolicy", "postgres-from-journal-clients")["spec"]
    assert policy["ingress"][0]["from"] == [{"podSelector": {"matchLabels": {"tradepipe.io/journal-client": "true"}}}]


def test_alertmanager_runs_the_deploy_config() -> None:
    config = _by_name("ConfigMap", "alertmanager-config")["data"]["alertmanager.yml"]
    assert config == (Path(__file__).resolve().parents[2] / "deploy" / "alertmanager" / "alertmanager.yml").read_text()
    [container] = _by_name("Deployment", "alertmanager")["spec"]["template"]["spec"]["containers"]
    assert "/alertmanager/admin_token" in " ".join(container["args"])
