"""The lab's access tier: every village switch as an emulated Cisco 2960 (fake-switches), all in
one twisted process, each on its own management address, reached over SSH like a real switch.

Run as `python -m egov.lab.switches <spec.json>` inside the lab's management namespace; the
spec lists {name, address, model} per switch and names a 0600 credentials file. The process
prints `ready <n>` once every switch listens.

fake-switches 1.5.0 predates Python 3 netmiko sessions; the shims below fix what breaks a real
push (measured in lab-facts): the enable password compared as bytes, no `end` in config mode,
re-applying an interface's primary address raising IndexError, an identical static route
stored twice, and `ip route` typed after an interface block swallowed by the interface.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path


def _shim() -> None:
    from fake_switches import switch_configuration as sc
    from fake_switches.cisco.command_processor import config, config_interface, config_vlan

    # `end` leaves configuration mode from any depth (netmiko's exit_config_mode sends it)
    def do_end(self, *_):
        self.is_done = True
        parent = getattr(self, "_egov_parent", None)
        if parent is not None:
            parent.is_done = True

    config.ConfigCommandProcessor.do_end = do_end

    orig_move_to = config.ConfigCommandProcessor.move_to

    def move_to(self, new_processor, *args):
        orig_move_to(self, new_processor, *args)
        new_processor._egov_parent = self

    config.ConfigCommandProcessor.move_to = move_to
    config_interface.ConfigInterfaceCommandProcessor.do_end = do_end
    config_vlan.ConfigVlanCommandProcessor.do_end = do_end

    # re-applying the primary address is a no-op, not an IndexError
    orig_ip = config_interface.ConfigInterfaceCommandProcessor.do_ip

    def do_ip(self, *args):
        if len(args) >= 3 and "address".startswith(args[0]) and len(args) == 3 and self.port.ips:
            from netaddr import IPNetwork
            if self.port.ips[0] == IPNetwork(f"{args[1]}/{args[2]}"):
                return
        return orig_ip(self, *args)

    config_interface.ConfigInterfaceCommandProcessor.do_ip = do_ip

    # a global line typed inside a block leaves the block and runs globally, as on IOS
    def exits_on(proc_cls, is_global) -> None:
        orig = proc_cls.parse_and_execute_command

        def parse_and_execute_command(self, line):
            if is_global(line.split()):
                self.is_done = True
                return False
            return orig(self, line)

        proc_cls.parse_and_execute_command = parse_and_execute_command

    exits_on(config_interface.ConfigInterfaceCommandProcessor,
             lambda w: w[:2] == ["ip", "route"] or w[:3] == ["no", "ip", "route"] or w[:1] in (["vlan"], ["interface"]))
    exits_on(config_vlan.ConfigVlanCommandProcessor, lambda w: w[:1] in (["vlan"], ["interface"], ["ip"]))

    # an identical static route is stored once
    orig_add_route = sc.SwitchConfiguration.add_static_route

    def add_static_route(self, route):
        if any(r.dest == route.dest and str(r.next_hop) == str(route.next_hop) for r in self.static_routes):
            return
        orig_add_route(self, route)

    sc.SwitchConfiguration.add_static_route = add_static_route

    # the terminal echoes every character in its own SSH packet; a pasted 100-line change then
    # costs the client thousands of packets to decrypt. Coalesce output per reactor turn, as a
    # real switch's line buffer does.
    from fake_switches.transports import ssh_service

    from egov.lab.devices.server import Coalescing

    orig_open = ssh_service.SSHDemoAvatar.openShell

    def openShell(self, protocol):
        return orig_open(self, Coalescing(protocol))

    ssh_service.SSHDemoAvatar.openShell = openShell

    # every switch parses the same built-in RSA host key; RSA private-key loading is checked
    # and slow (~40 ms), so 270 switches took 12 s to start. Parse each key text once.
    import functools

    from twisted.conch.ssh import keys

    cached = functools.lru_cache(maxsize=8)(keys.Key.fromString)
    ssh_service.keys = type("keys", (), {"Key": type("Key", (), {"fromString": staticmethod(
        lambda data, *a, **k: cached(data, *a, **k))})})


_SAVE_TO: dict[int, Path] = {}


def _install_persistence() -> None:
    """`write memory` saves a switch's configuration (pickled) to its file; a restarted process
    loads it, as a real switch boots from its startup config."""
    import pickle

    from fake_switches import switch_configuration as sc

    orig_commit = sc.SwitchConfiguration.commit

    def commit(self):
        orig_commit(self)
        path = _SAVE_TO.get(id(self))
        if path is None:
            return
        try:
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(pickle.dumps(self))
            tmp.replace(path)
        except Exception:  # noqa: BLE001 - never break the session over the emulator's own save
            logging.exception("%s: could not save the configuration", self.name)

    sc.SwitchConfiguration.commit = commit


def _load_saved(core, path: Path) -> None:
    import pickle

    if path.exists():
        try:
            core.switch_configuration = pickle.loads(path.read_bytes())
        except Exception:  # noqa: BLE001 - a damaged save boots the switch at factory state
            logging.exception("%s: saved configuration unreadable; starting empty", path.stem)
    _SAVE_TO[id(core.switch_configuration)] = path


def main(argv: list[str]) -> int:
    from fake_switches import switch_factory
    from fake_switches.transports.ssh_service import SwitchSshService
    from twisted.internet import reactor

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    spec = json.loads(Path(argv[0]).read_text())
    creds = json.loads(Path(spec["credentials"]).read_text())
    user, password = creds["username"], creds["password"]
    _shim()
    factory = switch_factory.SwitchFactory()
    saved = Path(spec["saved"]) if spec.get("saved") else None
    if saved:
        saved.mkdir(parents=True, exist_ok=True)
        _install_persistence()
    for sw in spec["switches"]:
        core = factory.get(sw.get("model", "cisco_2960_24TT_L"), sw["name"], password)
        if saved:
            _load_saved(core, saved / f"{sw['name']}.pickle")
        core.switch_configuration.privileged_passwords = [password]
        SwitchSshService(ip=sw["address"], port=sw.get("port", 22), switch_core=core,
                         users={user: password.encode()}).hook_to_reactor(reactor)
    def ready():
        print(f"ready {len(spec['switches'])}", flush=True)
        # nobody reads this pipe after `ready`: point stdout elsewhere so it can never fill
        import os

        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, 1)
        os.close(fd)

    reactor.callWhenRunning(ready)
    reactor.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
