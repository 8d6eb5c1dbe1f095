"""The shipped estates load; the model carries what other issues need."""

from egov.core.loader import load_estate
from egov.core.model import DeviceRole, SiteRole
from tests.conftest import CONGHUA, PANYU

PANYU_TOWNS = ("市桥街 沙头街 东环街 桥南街 小谷围街 大石街 洛浦街 石壁街 钟村街 大龙街 "
               "南村镇 新造镇 化龙镇 石楼镇 沙湾镇 石碁镇 榄核镇 大岗镇 东涌镇").split()


def test_panyu_loads_with_its_real_towns():
    e = load_estate(PANYU)
    assert [t.name for t in e.network.towns] == PANYU_TOWNS
    villages = sum(len(t.villages) for t in e.network.towns)
    assert 250 <= villages <= 300
    assert e.primary_site.id == "dafushan" and e.primary_site.name == "大夫山云计算中心"
    legacy = e.site("legacy-room")
    assert legacy.role == SiteRole.backup and legacy.backup_of == "dafushan" and legacy.name == "现中心机房"
    assert {d.id for d in e.databases} == {"population", "legal-entities", "spatial-geo", "macro-economy"}
    apps = {a.id: a for a in e.applications}
    assert {"one-stop-approval", "hotline-12345", "service-hall", "e-supervision"} <= set(apps)
    assert any("一表" in m.name for m in apps["one-stop-approval"].modules)
    assert e.digest.startswith("sha256:") and len(e.digest) == 71


def test_every_device_has_the_fields_a_network_engineer_needs():
    e = load_estate(PANYU)
    roles = {}
    for _, d in e.devices():
        assert d.id.isascii() and d.name and d.mgmt_ip and d.vlans
        roles[d.role] = roles.get(d.role, 0) + 1
    assert roles[DeviceRole.city_uplink] == 1 and roles[DeviceRole.core] == 1
    assert roles[DeviceRole.town_aggregation] == 19


def test_digest_changes_with_content(panyu):
    before = load_estate(panyu.path).digest
    panyu.edit("apps.yaml", lambda d: d["applications"][0].update(description="改"))
    assert load_estate(panyu.path).digest != before


def test_second_estate_with_three_sites_needs_no_code_change():
    e = load_estate(CONGHUA)
    assert e.meta.name == "conghua" and len(e.sites) == 3
    assert len(e.network.towns) != 19
    assert {s.role.value for s in e.sites} == {"primary", "backup", "witness"}


# --------------------------------------------------------------------------- file-level problems
def _problems(path):
    import pytest

    from egov.core.errors import EstateInvalid

    with pytest.raises(EstateInvalid) as info:
        load_estate(path)
    assert info.value.exit_code == 2
    return [str(p) for p in info.value.problems]


BOMB = """estate_name: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]
""" + "".join(f"x{i}: &a{i} [{','.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 10))


def test_alias_bomb_is_refused_within_a_second(tmp_path):
    import time

    (tmp_path / "estate.yaml").write_text(BOMB + "pools: *a9\n")  # 10**10 strings once expanded
    t0 = time.monotonic()
    found = _problems(tmp_path)  # the other files are missing: only the bomb costs time
    assert time.monotonic() - t0 < 1.0
    assert any(p.startswith("estate.yaml:") and "YAML aliases expand" in p and "refused" in p for p in found)
    line = next(p for p in found if "YAML aliases" in p).split(":")[1]
    assert line.isdigit() and 1 <= int(line) <= 10


def test_recursive_alias_is_refused(panyu):
    (panyu.path / "apps.yaml").write_text("applications: &x [*x]\n")
    found = _problems(panyu.path)
    assert any(p.startswith("apps.yaml:1:") and "YAML aliases expand" in p for p in found)


def test_modest_aliases_are_fine(panyu):
    text = (panyu.path / "databases.yaml").read_text(encoding="utf-8")
    (panyu.path / "databases.yaml").write_text("x-defaults: &d {a: 1}\n" + text, encoding="utf-8")
    found = _problems(panyu.path)  # the alias is read; only the unknown top-level key is refused
    assert found == ["databases.yaml:1: x-defaults: unknown field (misspelt?)"]


def test_file_level_problems_have_a_line(panyu, tmp_path):
    (panyu.path / "apps.yaml").write_text("   \n# only a comment\n")
    (panyu.path / "databases.yaml").write_bytes("databases:\n  - id: pop\n    name: 人口".encode() + b"\xff\xfe\n")
    found = _problems(panyu.path)
    assert "apps.yaml:1: file is empty (an estate file is a YAML mapping)" in found
    assert any(p.startswith("databases.yaml:3: not UTF-8 text (byte ") for p in found)
    f = tmp_path / "plain-file"
    f.write_text("x")
    assert _problems(f) == [f"{f}: is a file, not an estate directory "
                            "(a folder holding estate.yaml, sites.yaml, network.yaml, databases.yaml, apps.yaml)"]


def test_unreadable_file_is_one_problem(panyu, monkeypatch):
    from pathlib import Path

    real = Path.read_bytes

    def read_bytes(self):  # root reads anything, so chmod 0 would not show it
        if self.name == "sites.yaml":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    assert "sites.yaml: cannot read: Permission denied" in _problems(panyu.path)


def test_messages_do_not_repeat_the_value(panyu):
    panyu.edit("sites.yaml", lambda d: d["sites"][0]["dr"].update(rto="five seconds"))
    found = _problems(panyu.path)
    msg = next(p for p in found if "dr.rto" in p)
    assert msg.count("five seconds") == 1, msg


def test_huge_values_in_messages_are_cut(panyu):
    panyu.edit("estate.yaml", lambda d: d.update(name=["x" * 1000] * 50))
    found = _problems(panyu.path)
    msg = next(p for p in found if p.startswith("estate.yaml:") and ": name:" in p)
    assert len(msg) < 200 and "got " in msg
