"""网上办事大厅: citizens browse without an account, apply, and track with number + secret."""

import pytest

from tests.unit.apps_deploy.conftest import urlconf

pytestmark = pytest.mark.usefixtures("db")


@pytest.fixture(autouse=True)
def _urls():
    with urlconf("hall"):
        yield


def test_hundred_items_searchable_with_guides(client):
    page = client.get("/").content.decode()
    assert page.count('href="/guide/440113-') == 100 and 'lang="zh-hans"' in page
    found = client.get("/", {"q": "婚姻"}).content.decode()
    assert "婚姻登记" in found and "食品经营" not in found
    guide = client.get("/guide/440113-0009/").content.decode()
    for text in ("婚姻登记", "区民政局", "承诺办结时限", "申请材料", "办理流程", "网上申请 → 窗口受理"):
        assert text in guide
    assert client.get("/items").json()["count"] == 100  # the JSON API as before
    assert client.get("/items/440113-0009").json()["name"] == "婚姻登记"


def test_unknown_item_is_a_404_page(client):
    assert client.get("/guide/440113-9999/").status_code == 404
    assert client.post("/apply/440113-9999/", {}).status_code == 404
    assert client.get("/items/440113-9999").json() == {"error": "no such service item"}


def test_apply_then_track_with_number_and_secret(client, db, approval_upstream):
    from egov_apps.approval.models import Application

    r = client.post("/apply/440113-0009/", {"applicant_type": "person", "applicant_id": db["persons"][0],
                                            "applicant_phone": "13800138000", "town_id": "shiqiao"})
    assert r.status_code == 201
    app = r.context["app"]
    assert app["tracking_secret"] in r.content.decode()
    stored = Application.objects.get(pk=app["id"])
    assert stored.applicant_phone == "13800138000" and stored.tracking_hash and app["tracking_secret"] not in \
        stored.tracking_hash
    ok = client.post("/track/", {"number": app["id"], "secret": app["tracking_secret"]})
    assert ok.status_code == 200 and "待受理" in ok.content.decode()
    bad = client.post("/track/", {"number": app["id"], "secret": "00000000"})
    assert bad.status_code == 404 and "不正确" in bad.content.decode()


@pytest.mark.parametrize("form, text", [
    ({"applicant_type": "person", "applicant_id": "WRONG", "applicant_phone": "13800138000"}, "18位"),
    ({"applicant_type": "person", "applicant_id": "CHECK", "applicant_phone": "13800138000"}, "校验位错误"),
    ({"applicant_type": "person", "applicant_id": "GOOD", "applicant_phone": "12"}, "联系电话"),
    ({"applicant_type": "robot", "applicant_id": "GOOD", "applicant_phone": "13800138000"}, "申请人类型"),
    ({"applicant_type": "entity", "applicant_id": "GOOD", "applicant_phone": "13800138000"}, "统一社会信用代码"),
])
def test_malformed_application_is_refused_nothing_written_and_audited(client, db, approval_upstream, form, text):
    from egov_apps.approval.models import Application
    from egov_apps.common.models import AuditEntry

    good = db["persons"][0]
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    form = {**form, "applicant_id": {"GOOD": good, "CHECK": wrong}.get(form["applicant_id"], form["applicant_id"])}
    r = client.post("/apply/440113-0009/", form)
    assert r.status_code == 400 and text in r.content.decode()
    assert Application.objects.count() == 0
    entry = AuditEntry.objects.get(action="apply", outcome="refused")
    assert good not in entry.detail and good not in entry.target  # never a full ID in the log


def test_person_not_in_the_population_database(client, approval_upstream):
    from egov_apps.common.masking import check_digit

    nobody = "44011319991231001" + check_digit("44011319991231001")
    r = client.post("/apply/440113-0009/", {"applicant_type": "person", "applicant_id": nobody,
                                            "applicant_phone": "13800138000"})
    assert r.status_code == 400 and "基础信息库中没有" in r.content.decode()


def test_approval_unreachable_is_a_clear_503(client, db, monkeypatch):
    from egov_apps.common import upstream

    def down(*a, **k):
        raise upstream.Unavailable("one-stop-approval unreachable: refused")

    monkeypatch.setattr(upstream, "call", down)
    r = client.post("/apply/440113-0009/", {"applicant_type": "person", "applicant_id": db["persons"][0],
                                            "applicant_phone": "13800138000"})
    assert r.status_code == 503 and "审批系统暂时无法访问" in r.content.decode()


def test_joint_form_fans_out_to_departments(client, db, approval_upstream):
    from egov_apps.approval.models import Application

    page = client.get("/joint/").content.decode()
    assert "企业开办一表通" in page and page.count('name="item_codes"') == 5
    r = client.post("/joint/", {"uscc": db["entities"][0], "item_codes": ["440113-0002", "440113-0025"]})
    assert r.status_code == 201 and "区税务局" in r.content.decode()
    assert set(Application.objects.values_list("department", flat=True)) == {"区市场监督管理局", "区税务局"}


@pytest.mark.parametrize("form, text", [
    ({"uscc": "91440113MA59XXXX0A", "item_codes": ["440113-0002", "440113-0025"]}, "校验位"),
    ({"uscc": "GOOD", "item_codes": ["440113-0002"]}, "至少选择两个"),
    ({"uscc": "GOOD", "item_codes": ["440113-0002", "440113-0009"]}, "不在一表通范围"),
])
def test_malformed_joint_form_writes_nothing(client, db, approval_upstream, form, text):
    from egov_apps.approval.models import Application, JointApplication

    form = {**form, "uscc": db["entities"][0] if form["uscc"] == "GOOD" else form["uscc"]}
    r = client.post("/joint/", form)
    assert r.status_code == 400 and text in r.content.decode()
    assert not Application.objects.exists() and not JointApplication.objects.exists()


def test_applying_for_an_unknown_item_is_audited(client):
    from egov_apps.common.models import AuditEntry

    assert client.post("/apply/440113-9999/", {"applicant_type": "person"}).status_code == 404
    assert AuditEntry.objects.filter(action="apply", target="440113-9999", outcome="refused").exists()
