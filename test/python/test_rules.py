import pytest

from apps import second_mesh


def test_a_second_mesh_in_one_app_is_refused_naming_both(tmp_path):
    with pytest.raises(Exception, match="Other: a second SpireIstioMesh in the app, beside Mesh") as error:
        second_mesh(str(tmp_path))
    assert "one mesh per cluster" in str(error.value)
