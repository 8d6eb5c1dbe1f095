"""The applications in a real browser (Debian's chromium + chromium-driver through Selenium), served
by gunicorn as on a host, each application its own process and database settings: a citizen finds
an item and applies, staff log in with password + TOTP and approve, e-supervision shows the red
card of an overdue case. Screenshots of every step are kept in $EGOV_TEST_ARTIFACTS (default
<checkout>/.artifacts/browser)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from egov.lab.devices.process import free_ports
from tests.conftest import ROOT
from tests.unit.apps_deploy.conftest import BASE_SQL, ENTITIES, PERSONS, SRC, _uscc

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="chromium and chromium-driver not installed")

ARTIFACTS = Path(os.environ.get("EGOV_TEST_ARTIFACTS", ROOT / ".artifacts")) / "browser"
ITEM = "440113-0005"
PASSWORD = "Browser-Test-Pw-71"
SERVED = {"service-hall": "hall", "one-stop-approval": "approval", "e-supervision": "supervision"}


def _wait(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: gunicorn exited {proc.returncode}: {log.read_text()[-800:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not come up: {log.read_text()[-800:]}")


@pytest.fixture(scope="module")
def served(pg_cluster, tmp_path_factory):
    """hall, approval and e-supervision under gunicorn on loopback, on a database of their own."""
    import psycopg

    d = tmp_path_factory.mktemp("browser")
    with psycopg.connect(pg_cluster, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS browser")
        conn.execute("CREATE DATABASE browser")
    dsn = pg_cluster.replace("/egov?", "/browser?")
    sys.path.insert(0, str(SRC))
    from egov_apps.common.masking import check_digit

    persons = [p[:17] + check_digit(p[:17]) for p in PERSONS]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(BASE_SQL)
        for p in persons:
            conn.execute("INSERT INTO persons VALUES (%s, '测试')", (p,))
        for e in ENTITIES:
            conn.execute("INSERT INTO entities VALUES (%s, '测试公司')", (_uscc(e[:17]),))
    ports = dict(zip(SERVED, free_ports(len(SERVED))))
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGOV_")}
    env |= {f"EGOV_DB_{n}": dsn for n in ("APP", "POPULATION", "LEGAL_ENTITIES", "MACRO_ECONOMY")}
    env |= {"PYTHONPATH": str(SRC), "EGOV_SECRET_KEY": "browser-test-key-not-a-secret",
            "EGOV_UPSTREAM_ONE_STOP_APPROVAL": f"http://127.0.0.1:{ports['one-stop-approval']}",
            "DJANGO_SETTINGS_MODULE": "egov_apps.settings"}
    subprocess.run([sys.executable, "-c", "from egov_apps import migrate; migrate.run('')"], env=env, check=True,
                   capture_output=True, cwd=SRC)
    procs = []
    try:
        for app, port in ports.items():
            log = d / f"{app}.log"
            procs.append(p := subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4",
                 "--chdir", str(SRC), "egov_apps.wsgi:application"],
                env={**env, "EGOV_APP_ID": app}, stdout=log.open("w"), stderr=subprocess.STDOUT))
            _wait(f"http://127.0.0.1:{port}/healthz", p, log)
        yield {"urls": {app: f"http://127.0.0.1:{port}" for app, port in ports.items()}, "env": env, "dsn": dsn,
               "persons": persons}
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=20)


def _staff(served, app: str, username: str, department: str, role: str = "clerk") -> bytes:
    """A staff account made with the shipped createstaff command; returns its TOTP key."""
    r = subprocess.run([sys.executable, "-m", "egov_apps", "createstaff", username, "--department", department,
                        "--role", role], env={**served["env"], "EGOV_APP_ID": app, "EGOV_STAFF_PASSWORD": PASSWORD},
                       capture_output=True, text=True, cwd=SRC)
    assert r.returncode == 0, r.stderr
    assert PASSWORD not in r.stdout + r.stderr
    uri = next(line for line in r.stdout.splitlines() if line.startswith("otpauth://"))
    secret = urllib.parse.parse_qs(urllib.parse.urlparse(uri).query)["secret"][0]
    return base64.b32decode(secret + "=" * (-len(secret) % 8))


def _code(key: bytes) -> str:
    from django_otp.oath import totp

    return f"{totp(key):06d}"


def _apply_by_api(served, person: str) -> dict:
    req = urllib.request.Request(served["urls"]["one-stop-approval"] + "/applications", method="POST",
                                 data=json.dumps({"applicant_type": "person", "applicant_id": person,
                                                  "item_code": ITEM, "town_id": "shiqiao"}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


@pytest.fixture
def browser(request):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--lang=zh-CN",
              "--window-size=1280,900", "--no-first-run", "--disable-extensions"):
        opts.add_argument(a)
    drv = webdriver.Chrome(service=Service(DRIVER), options=opts)
    drv.implicitly_wait(5)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shots = []

    def shot(name: str) -> None:
        p = ARTIFACTS / f"{request.node.name}-{len(shots) + 1:02d}-{name}.png"
        drv.save_screenshot(str(p))
        shots.append(p)

    drv.shot = shot
    yield drv
    drv.quit()
    assert all(p.stat().st_size > 1000 for p in shots)


def _click(drv, by, what) -> None:
    """Click something that loads a new page, and wait until the old one is gone (no stale reads)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    old = drv.find_element(By.TAG_NAME, "html")
    drv.find_element(by, what).click()
    WebDriverWait(drv, 20).until(ec.staleness_of(old))


def _login(drv, base: str, username: str, key: bytes) -> None:
    from selenium.webdriver.common.by import By

    drv.get(base + "/staff/login/")
    drv.find_element(By.NAME, "username").send_keys(username)
    drv.find_element(By.NAME, "password").send_keys(PASSWORD)
    drv.find_element(By.NAME, "otp_token").send_keys(_code(key))
    drv.shot("login")
    _click(drv, By.CSS_SELECTOR, "form.form button[type=submit]")


def test_a_citizen_finds_an_item_applies_and_tracks_it(served, browser):
    from selenium.webdriver.common.by import By

    from egov_apps.catalogue import BY_CODE

    name = BY_CODE[ITEM]["name"]
    hall = served["urls"]["service-hall"]
    browser.get(hall + "/")
    assert "百项服务事项" in browser.page_source
    browser.find_element(By.NAME, "q").send_keys(name)
    _click(browser, By.CSS_SELECTOR, "form.search button")
    assert "?q=" in browser.current_url
    browser.shot("search")
    _click(browser, By.LINK_TEXT, name)
    assert BY_CODE[ITEM]["department"] in browser.page_source
    browser.shot("guide")
    _click(browser, By.LINK_TEXT, "在线申办")
    browser.find_element(By.NAME, "applicant_id").send_keys(served["persons"][1])
    browser.find_element(By.NAME, "applicant_phone").send_keys("13800138000")
    browser.find_element(By.NAME, "town_id").send_keys("shiqiao")
    _click(browser, By.CSS_SELECTOR, "form.form button[type=submit]")
    number = browser.find_element(By.ID, "number").text
    secret = browser.find_element(By.ID, "secret").text
    assert number.isdigit() and len(secret) >= 8
    browser.shot("applied")
    browser.get(hall + "/track/")
    browser.find_element(By.NAME, "number").send_keys(number)
    browser.find_element(By.NAME, "secret").send_keys(secret)
    _click(browser, By.CSS_SELECTOR, "form button[type=submit]")
    assert "待受理" in browser.page_source
    browser.shot("tracked")
    browser.get(hall + "/track/")
    browser.find_element(By.NAME, "number").send_keys(number)
    browser.find_element(By.NAME, "secret").send_keys("WRONG123")
    _click(browser, By.CSS_SELECTOR, "form button[type=submit]")
    assert "待受理" not in browser.page_source  # the number alone reveals nothing


def test_staff_log_in_with_totp_and_approve(served, browser):
    from selenium.webdriver.common.by import By

    from egov_apps.catalogue import BY_CODE

    app = _apply_by_api(served, served["persons"][0])
    key = _staff(served, "one-stop-approval", "clerk-b1", BY_CODE[ITEM]["department"])
    base = served["urls"]["one-stop-approval"]
    browser.get(base + "/staff/")
    assert "/staff/login/" in browser.current_url  # no page without logging in
    _login(browser, base, "clerk-b1", key)
    assert "审批工作台" in browser.page_source
    browser.shot("workbench")
    _click(browser, By.LINK_TEXT, str(app["id"]))
    _click(browser, By.CSS_SELECTOR, "button[value=accept]")
    assert browser.find_element(By.ID, "status").text == "已受理"
    _click(browser, By.CSS_SELECTOR, "button[value=approve]")
    assert browser.find_element(By.ID, "status").text.startswith("已办结")
    browser.shot("approved")


def test_e_supervision_shows_the_red_card_of_an_overdue_case(served, browser):
    import psycopg
    from selenium.webdriver.common.by import By

    app = _apply_by_api(served, served["persons"][2])
    with psycopg.connect(served["dsn"], autocommit=True) as conn:
        conn.execute("UPDATE applications SET submitted_at = now() - interval '30 days', "
                     "due_at = now() - interval '1 day' WHERE id = %s", (app["id"],))
    key = _staff(served, "e-supervision", "sup-b1", "区政务服务数据管理局", role="supervisor")
    base = served["urls"]["e-supervision"]
    _login(browser, base, "sup-b1", key)
    browser.get(base + "/staff/")
    red = browser.find_element(By.ID, "red-count").text
    assert red.startswith("红牌 ") and int(red.split()[1]) >= 1
    row = browser.find_element(By.XPATH, f"//tr[@class='row-red'][td[2][normalize-space()='{app['id']}']]")
    assert "红牌" in row.text and "超期" in row.text
    browser.shot("red-card")
