"""Fronts: HAProxy on the site's service address, every application answering through it."""

import json

import expect

testinfra_hosts = expect.hosts("lb")


def test_service_address_and_haproxy(host):
    hv = expect.hostvars(expect.host_id(host))
    assert hv["lb_vip"] in host.run("ip -4 -o addr show dev eth0").stdout
    assert host.process.filter(comm="haproxy")


def test_every_application_answers_through_the_front(host):
    hv = expect.hostvars(expect.host_id(host))
    vip = hv["lb_vip"].split("/")[0]
    for a in hv["lb_apps"]:
        r = host.run(f"curl -s -m 5 http://{vip}:{a['port']}{a['health_path']}")
        assert r.rc == 0 and json.loads(r.stdout)["status"] == "ok", (
            f"{a['id']} via {vip}:{a['port']}: {r.stdout or r.stderr}"
        )
