"""Kubernetes manifests validate against the 1.37 schemas and keep probes and scrape annotations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"


def documents() -> list[dict[str, Any]]:
    return [doc for path in sorted(K8S.glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text()) if doc]


@pytest.mark.parametrize("doc", documents(), ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_manifest_matches_the_schema(doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, "1.37", strict=True)


def test_every_deployment_has_probes_and_scrape_annotations() -> None:
    deployments = [d for d in documents() if d["kind"] == "Deployment"]
    assert {d["metadata"]["name"] for d in deployments} == {
        "exchange-sim",
        "scout",
        "ia1",
        "ia2",
        "execution",
        "monitor",
    }
    for deployment in deployments:
        pod = deployment["spec"]["template"]
        [container] = pod["spec"]["containers"]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
        assert pod["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
        assert {"secretRef": {"name": "tradepipe-secrets"}} in container["envFrom"]


def test_secrets_only_in_the_secret() -> None:
    config = next(d for d in documents() if d["kind"] == "ConfigMap")
    assert not {"REDIS_PASSWORD", "ADMIN_TOKEN", "EXCHANGE_API_KEY", "EXCHANGE_API_SECRET"} & set(config["data"])
