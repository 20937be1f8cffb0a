import pytest
import yaml

from apps import ledger_app, second_mesh, staged_sidecar_app, vault_without_auth


def test_a_second_mesh_in_one_app_is_refused_naming_both(tmp_path):
    with pytest.raises(Exception, match="Other: a second SpireIstioMesh in the app, beside Mesh") as error:
        second_mesh(str(tmp_path))
    assert "one mesh per cluster" in str(error.value)


def test_a_workload_running_as_the_default_service_account_is_refused(tmp_path):
    with pytest.raises(Exception, match=r'\[workloads/Ledger\] service account "default"') as error:
        ledger_app(str(tmp_path), own_service_account=False)
    assert "the pods run as the default service account of namespace shop" in str(error.value)
    assert "allowDefaultServiceAccount: true" in str(error.value)


def test_opting_in_accepts_the_default_service_account(tmp_path):
    ledger_app(str(tmp_path), own_service_account=False, allow_default_service_account=True)
    assert (tmp_path / "0004-workloads.k8s.yaml").is_file()


def test_a_service_account_of_its_own_gives_the_workload_its_own_id(tmp_path):
    ledger_app(str(tmp_path), own_service_account=True)
    docs = list(yaml.safe_load_all((tmp_path / "0004-workloads.k8s.yaml").read_text()))
    ledger = next(doc for doc in docs if doc["kind"] == "StatefulSet")
    assert ledger["spec"]["template"]["spec"]["serviceAccountName"] == "ledger"


def test_a_required_prop_passed_as_none_is_refused_naming_it():
    with pytest.raises(TypeError, match="argument auth"):
        vault_without_auth()


def test_a_construct_of_ones_own_that_states_its_stage_is_ordered_after_its_prerequisites(tmp_path):
    with pytest.raises(Exception, match=r"identities/Sidecar is in chart identities, which does not come after istio-profile: its Sidecar is an Istio CRD"):
        staged_sidecar_app(str(tmp_path / "early"), "identities")
    staged_sidecar_app(str(tmp_path / "late"), "workloads")
    assert (tmp_path / "late" / "0004-workloads.k8s.yaml").is_file()
