"""Fronts: HAProxy on the site's service address, every application answering through it."""

import json

import expect

testinfra_hosts = expect.hosts("lb")


def test_service_address_and_haproxy(host):
    hv = expect.hostvars(expect.host_id(host))
    assert hv["lb_vip"] in host.run("ip -4 -o addr show dev eth0").stdout
    assert host.process.filter(comm="haproxy")


def test_every_application_answers_through_the_front_over_https(host):
    """Verified against the host's trust store, where the baseline put the estate's CA."""
    hv = expect.hostvars(expect.host_id(host))
    vip = hv["lb_vip"].split("/")[0]
    for a in hv["lb_apps"]:
        r = host.run(f"curl -sS -m 5 https://{vip}:{a['tls_port']}{a['health_path']}")
        assert r.rc == 0 and json.loads(r.stdout)["status"] == "ok", (
            f"{a['id']} via https://{vip}:{a['tls_port']}: {r.stdout or r.stderr}"
        )


def test_plain_http_only_redirects_to_https(host):
    hv = expect.hostvars(expect.host_id(host))
    vip = hv["lb_vip"].split("/")[0]
    for a in hv["lb_apps"]:
        r = host.run(f"curl -s -m 5 -o /dev/null -w '%{{http_code}} %{{redirect_url}}' http://{vip}:{a['port']}/x?y=1")
        assert r.stdout == f"301 https://{vip}:{a['tls_port']}/x?y=1", f"{a['id']} on {vip}:{a['port']}: {r.stdout}"


def test_tls_is_1_2_or_newer(host):
    hv = expect.hostvars(expect.host_id(host))
    vip = hv["lb_vip"].split("/")[0]
    a = hv["lb_apps"][0]
    r = host.run(f"curl -s -m 5 -o /dev/null --tlsv1.1 --tls-max 1.1 https://{vip}:{a['tls_port']}/")
    assert r.rc != 0, "the front accepted TLS 1.1"
