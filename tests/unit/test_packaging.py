"""egov installs as a wheel: templates, playbooks, apps, drills and the reference estate are package
data found through egov.core.paths, so a venv outside the checkout runs it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from tests.conftest import PANYU, ROOT


def test_the_wheel_runs_outside_the_checkout(tmp_path):
    # nothing of the checkout may leak in: no PYTHONPATH, no EGOV_* settings, another working directory
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGOV_") and k != "PYTHONPATH"}
    env["EGOV_STATE_DIR"] = str(tmp_path / "st")
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--disable-pip-version-check",
                    "-w", str(wheels), str(ROOT)], check=True, capture_output=True, timeout=300,
                   cwd=tmp_path, env=env)
    wheel = next(wheels.glob("egov-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120, env=env)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q",
                    "--no-deps", "--disable-pip-version-check", str(wheel)], check=True, capture_output=True,
                   timeout=300, env=env)
    # egov's dependencies come from this test's environment; egov itself only from the wheel
    site = Path(subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()"
                                "['purelib'])"], capture_output=True, text=True, check=True, env=env).stdout.strip())
    (site / "zz_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    estate = tmp_path / "district"
    shutil.copytree(PANYU, estate)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()

    r = subprocess.run(
        [str(venv / "bin" / "egov"), "--estate", str(estate), "validate"],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert "valid" in r.stdout and "293 network devices" in r.stdout

    probe = ("import egov, egov.core.paths as p; print(egov.__file__); "
             "print(p.playbooks()); print(p.network_templates()); print(p.apps_source()); print(p.drill_scenarios()); "
             "print(p.default_estate())")
    where = subprocess.run([str(venv / "bin" / "python"), "-c", probe], capture_output=True, text=True, cwd=elsewhere,
                           env=env, check=True).stdout.split()
    assert all(w.startswith(str(venv)) for w in where), where  # nothing read from the checkout
    assert (Path(where[1]) / "site.yml").is_file() and (Path(where[2]) / "huawei_vrp" / "core.j2").is_file()
    assert (Path(where[4]) / "site-loss.yaml").is_file() and (Path(where[5]) / "network.yaml").is_file()
    # the reference estate shipped inside the wheel validates too (egov with no --estate)
    r = subprocess.run([str(venv / "bin" / "egov"), "show", "--json"], capture_output=True, text=True, cwd=elsewhere,
                       env=env, timeout=120)
    assert r.returncode == 0 and '"panyu"' in r.stdout, r.stderr
