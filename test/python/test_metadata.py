import json
from importlib.metadata import distribution
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = json.loads((ROOT / "package.json").read_text(encoding="utf8"))


def test_the_wheel_states_summary_license_and_links_as_package_json_does():
    metadata = distribution("cdk8s-spire-istio").metadata
    assert metadata["Summary"] == PACKAGE["description"]
    assert metadata["License"] == PACKAGE["license"] == "Apache-2.0"
    assert metadata["Home-page"] == PACKAGE["homepage"]
    assert metadata.get_all("Project-URL") == [f"Source, {PACKAGE['repository']['url']}"]


def test_the_wheel_is_classified_by_the_stability_and_license_of_package_json():
    classifiers = distribution("cdk8s-spire-istio").metadata.get_all("Classifier")
    assert PACKAGE["stability"] == "experimental"
    assert "Development Status :: 4 - Beta" in classifiers
    assert "License :: OSI Approved" in classifiers


def test_the_wheel_ships_the_license_text():
    files = [file for file in distribution("cdk8s-spire-istio").files if file.name == "LICENSE"]
    assert len(files) == 1
    assert files[0].read_text(encoding="utf8") == (ROOT / "LICENSE").read_text(encoding="utf8")
