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
