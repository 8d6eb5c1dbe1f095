"""How each platform names its interfaces: logical kind (loopback, uplink, downlink <n>, site <n>,
lan/svi <vlan>, access <n>, ...) -> the interface name format. Data shared by the network's
platforms (egov.network.platforms, which render and diff) and the lab (which wires each emulated
router's interfaces to its namespace's Linux interfaces, named as the `frr` platform names them).
"""

from __future__ import annotations

PORTS: dict[str, dict[str, str]] = {
    "huawei_vrp": {
        "loopback": "LoopBack0",
        "uplink": "GigabitEthernet0/0/1",
        "downlink": "GigabitEthernet1/0/{n}",
        "site": "GigabitEthernet2/0/{n}",
        "lan": "Vlanif{vlan}",
        "lan_trunk": "GigabitEthernet0/0/2",
        "access": "GigabitEthernet0/0/{n}",
        "access_uplink": "XGigabitEthernet0/0/1",
        "svi": "Vlanif{vlan}",
    },
    "hp_comware": {
        "loopback": "LoopBack0",
        "uplink": "GigabitEthernet1/0/1",
        "downlink": "GigabitEthernet2/0/{n}",
        "site": "GigabitEthernet3/0/{n}",
        "lan": "Vlan-interface{vlan}",
        "lan_trunk": "GigabitEthernet1/0/2",
        "access": "GigabitEthernet1/0/{n}",
        "access_uplink": "Ten-GigabitEthernet1/0/25",
        "svi": "Vlan-interface{vlan}",
    },
    "cisco_ios": {
        "access": "FastEthernet0/{n}",
        "access_uplink": "GigabitEthernet0/1",
        "access_spare": "GigabitEthernet0/2",
        "svi": "Vlan{vlan}",
    },
    # FRR in the lab's namespaces: the lab's own veth names; a LAN is named by its kind (service, mgmt)
    "frr": {"loopback": "lo", "uplink": "uplink", "downlink": "down{n}", "site": "dc{n}", "lan": "{kind}"},
}


def port(platform: str, kind: str, n: int = 0, vlan: int = 0) -> str:
    try:
        fmt = PORTS[platform][kind]
    except KeyError:
        raise KeyError(f"platform {platform} has no port kind {kind!r}") from None
    return fmt.format(n=n, vlan=vlan)
