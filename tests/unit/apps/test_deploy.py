"""Application releases: reproducible, self-contained bundles."""

import tarfile

import pytest

from egov.apps.deploy import DeployFailed, build_release


def test_release_bundle_is_reproducible_and_self_contained(tmp_path):
    wh = tmp_path / "wh"
    wh.mkdir()
    for n in ("pip-1-py3-none-any.whl", "gunicorn-1-py3-none-any.whl"):
        (wh / n).write_bytes(b"wheel " + n.encode())
    r1 = build_release("hotline-12345", "1.0.0", tmp_path / "a", wheelhouse=wh)
    r2 = build_release("hotline-12345", "1.0.0", tmp_path / "b", wheelhouse=wh)
    assert r1.digest == r2.digest and r1.path.read_bytes() == r2.path.read_bytes()
    names = tarfile.open(r1.path).getnames()
    assert "hotline-12345-1.0.0/ENTRYPOINT" in names and "hotline-12345-1.0.0/wheels/pip-1-py3-none-any.whl" in names
    assert any(n.endswith("egov_apps/hotline/migrations/0001_initial.py") for n in names)
    assert any(n.endswith("egov_apps/common/static/egov/egov.css") for n in names)  # assets ship, no CDN
    assert build_release("hotline-12345", "1.0.1", tmp_path / "a", wheelhouse=wh).digest != r1.digest


def test_release_needs_the_wheelhouse_and_a_known_app(tmp_path):
    with pytest.raises(DeployFailed, match="no wheels"):
        build_release("hotline-12345", "1", tmp_path, wheelhouse=tmp_path / "none")
    with pytest.raises(DeployFailed, match="no application 'census'"):
        build_release("census", "1", tmp_path, wheelhouse=tmp_path)
