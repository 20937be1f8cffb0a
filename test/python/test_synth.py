import filecmp
import os
from pathlib import Path

import yaml

from apps import default_deployment, user_app

DIST = Path(__file__).resolve().parents[2] / "dist"


def tree_differences(left: Path, right: Path) -> list[str]:
    """Relative paths that exist on one side only or whose bytes differ."""
    differences = []
    comparison = filecmp.dircmp(left, right)
    stack = [(comparison, Path())]
    while stack:
        node, prefix = stack.pop()
        differences += [str(prefix / name) for name in node.left_only + node.right_only + node.funny_files]
        _, mismatch, errors = filecmp.cmpfiles(node.left, node.right, node.common_files, shallow=False)
        differences += [str(prefix / name) for name in mismatch + errors]
        stack += [(child, prefix / name) for name, child in node.subdirs.items()]
    return sorted(differences)


def test_the_default_deployment_from_python_is_byte_identical_to_dist(tmp_path):
    default_deployment(str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == sorted(os.listdir(DIST))
    assert tree_differences(tmp_path, DIST) == []


def test_another_trust_domain_from_python_differs_from_dist(tmp_path):
    default_deployment(str(tmp_path), trust_domain="other.example")
    assert "0001-spire.k8s.yaml" in tree_differences(tmp_path, DIST)


def test_a_user_chart_gives_its_workload_a_spire_identity(tmp_path):
    user_app(str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == ["0000-crds.k8s.yaml", "0001-spire.k8s.yaml", "0002-identities.k8s.yaml",
                                            "0003-istio-profile.k8s.yaml", "0004-workloads.k8s.yaml", "WIRING.md", "helm"]
    shop = list(yaml.safe_load_all((tmp_path / "0004-workloads.k8s.yaml").read_text()))
    deployment = next(doc for doc in shop if doc["kind"] == "Deployment")
    pod = deployment["spec"]["template"]
    assert deployment["metadata"]["namespace"] == "shop"
    assert pod["metadata"]["annotations"]["inject.istio.io/templates"] == "sidecar,spire"
    assert pod["metadata"]["labels"]["spiffe.io/spire-managed-identity"] == "true"
    assert pod["spec"]["serviceAccountName"] == "cart"
    namespace = next(doc for doc in shop if doc["kind"] == "Namespace")
    assert namespace["metadata"]["labels"]["istio-injection"] == "enabled"
    assert {doc["kind"] for doc in shop} >= {"Namespace", "ServiceAccount", "Deployment", "Service"}
