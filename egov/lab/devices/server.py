"""Many emulated VRP/Comware devices in one twisted process, each on its own address and port,
reached over SSH like the real ones. Built on fake-switches without a fork: its SSH service and
line editor (per-character echo, history), its command-processor base class and its
`SwitchFactory(mapping=...)`, given one new core per dialect.

    python -m egov.lab.devices <spec.json>

The spec: {"credentials": "<0600 file with username/password>", "saved": "<dir>" (optional),
"devices": [{"name", "address", "port", "dialect": vrp5|vrpv8|comware7, "time_scale"}]}. A device
with a saved configuration in `saved/<name>.cfg` boots from it (`save` writes it). The process
prints `ready <n>` once every device listens.

Beyond fake-switches' own line editor: bytes above ASCII are taken as typed (estate text is
Chinese: banners, descriptions), and output is coalesced per reactor turn (one packet per line
typed rather than one per echoed character).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
from pathlib import Path

from fake_switches import switch_core, switch_factory
from fake_switches.cisco.command_processor.piping import PipingProcessor
from fake_switches.command_processing.base_command_processor import BaseCommandProcessor
from fake_switches.command_processing.shell_session import ShellSession
from fake_switches.terminal.ssh import SwitchSSHShell
from fake_switches.transports import ssh_service
from twisted.conch.insults import insults
from twisted.conch.ssh import factory, keys, session
from twisted.cred import checkers, portal

from egov.lab.devices import l3
from egov.lab.devices.device import Device, Reply, Session

log = logging.getLogger("egov.lab.devices")


# ---------------------------------------------------------------------------- the CLI


class DeviceProcessor(BaseCommandProcessor):
    """fake-switches' command processor around one `Session`: a question (save, leaving VRPv8
    with uncommitted changes) takes the next line through `continue_to`."""

    def __init__(self, sess: Session):
        self.sess = sess

    def get_prompt(self) -> str:
        return self.sess.prompt()

    def parse_and_execute_command(self, line: str) -> bool:
        self._reply(self.sess.handle(line))
        return True

    def _reply(self, r: Reply) -> None:
        if r.text:
            self.write(r.text)
        if r.close:
            self.is_done = True
        elif r.ask is not None:
            self.continue_to(lambda line: self._reply(r.ask(line)))


class EmulatedCore(switch_core.SwitchCore):
    dialect = ""

    def __init__(self, switch_configuration):
        super().__init__(switch_configuration)
        from twisted.internet import reactor

        self.device = Device(switch_configuration.name, self.dialect, schedule=reactor.callLater)

    def launch(self, protocol, terminal_controller):
        term = terminal_controller  # its terminal turns \n into \r\n
        term.write("\n" + self.device.login_banner() + "\n")
        proc = DeviceProcessor(Session(self.device))
        proc.init(self.switch_configuration, term, log, PipingProcessor(log))
        return ShellSession(proc)

    @staticmethod
    def get_default_ports():
        return []

    def get_netconf_protocol(self):
        return None


class Vrp5Core(EmulatedCore):
    dialect = "vrp5"


class Vrpv8Core(EmulatedCore):
    dialect = "vrpv8"


class Comware7Core(EmulatedCore):
    dialect = "comware7"


DIALECTS = {"vrp5": Vrp5Core, "vrpv8": Vrpv8Core, "comware7": Comware7Core}
MAPPING = {**switch_factory.DEFAULT_MAPPING, **DIALECTS}


# ---------------------------------------------------------------------------- SSH


class Shell(SwitchSSHShell):
    def keystrokeReceived(self, keyID, modifier):
        if isinstance(keyID, bytes) and keyID and keyID[0] >= 0x80:
            return self.characterReceived(keyID, False)
        return super().keystrokeReceived(keyID, modifier)

    def lineReceived(self, line):
        still = self.session.receive(line.decode("utf-8", "replace"))
        if not still:
            self.terminal.loseConnection()


class Coalescing:
    """Writes within one reactor turn leave as one SSH packet (a terminal that echoes every
    character in its own packet costs the client thousands of decryptions for a pasted change;
    a real device's line buffer does not). Also used by egov.lab.switches."""

    def __init__(self, transport):
        self._t = transport
        self._buf: list[bytes] = []

    def write(self, data):
        from twisted.internet import reactor

        if not self._buf:
            reactor.callLater(0, self._flush)
        self._buf.append(data)

    def writeSequence(self, seq):
        for d in seq:
            self.write(d)

    def _flush(self):
        if self._buf:
            data, self._buf = b"".join(self._buf), []
            self._t.write(data)

    def loseConnection(self):
        self._flush()
        self._t.loseConnection()

    def __getattr__(self, name):
        return getattr(self._t, name)


class _Avatar(ssh_service.SSHDemoAvatar):
    def openShell(self, protocol):
        server = insults.ServerProtocol(Shell, self, switch_core=self.switch_core)
        server.makeConnection(Coalescing(protocol))
        protocol.makeConnection(session.wrapProtocol(server))


class _Realm(ssh_service.SSHDemoRealm):
    def requestAvatar(self, avatarId, mind, *interfaces):
        return interfaces[0], _Avatar(avatarId, switch_core=self.switch_core), lambda: None


@functools.lru_cache(maxsize=1)
def _host_keys():
    pub, priv = ssh_service.getRSAKeys()
    return keys.Key.fromString(data=pub.encode()), keys.Key.fromString(data=priv.encode())


def listen(reactor, core: EmulatedCore, address: str, port: int, users: dict[str, bytes]):
    f = factory.SSHFactory()
    f.portal = portal.Portal(_Realm(core))
    f.portal.registerChecker(checkers.InMemoryUsernamePasswordDatabaseDontUse(**users))
    pub, priv = _host_keys()
    f.publicKeys, f.privateKeys = {b"ssh-rsa": pub}, {b"ssh-rsa": priv}
    return reactor.listenTCP(port=port, factory=f, interface=address)


# ---------------------------------------------------------------------------- layer 3 (FRR)


class Router:
    """A device whose layer 3 the lab carries out with FRR (l3.py): whenever its running
    configuration differs from what was last realised (a change typed, a commit, a revert, a
    rollback), FRR is brought to it, off the reactor thread; `display ospf peer` reads FRR."""

    def __init__(self, device: Device, frr_dir: str, interfaces: dict[str, str]):
        self.device = device
        self.frr = l3.Frr(frr_dir)
        self.interfaces = interfaces
        self.realised: tuple | None = None  # (running lines, FRR daemons' pids) FRR was last brought to
        self.busy = False
        self.error = ""
        self.retry_at = 0.0
        self.unrealised: list[str] = []
        device.ospf_peers = self.peers

    def _daemons(self) -> tuple[str, ...]:
        """The FRR daemons' pids: a restarted FRR (empty) is brought to the configuration again."""
        out = []
        for name in ("zebra", "ospfd", "staticd"):
            try:
                out.append(Path(self.frr.dir, f"{name}.pid").read_text().strip())
            except OSError:
                out.append("")
        return tuple(out)

    @property
    def in_sync(self) -> bool:
        return not self.error and self.realised is not None and self.realised[0] == self.device.running.lines()

    def tick(self, reactor) -> None:
        key = (self.device.running.lines(), self._daemons())
        if self.busy or key == self.realised or reactor.seconds() < self.retry_at:
            return
        self.busy = True
        from twisted.internet import threads

        want = l3.realise(self.device.running.copy(), self.interfaces)
        d = threads.deferToThread(self.frr.apply, want)

        def done(_):
            self.busy, self.realised, self.error, self.unrealised = False, key, "", want.unrealised

        def failed(f):
            self.busy, self.error, self.retry_at = False, str(f.value)[:300], reactor.seconds() + 2
            log.warning("%s: FRR not brought to the configuration: %s", self.device.name, self.error)

        d.addCallbacks(done, failed)

    def peers(self, brief: bool) -> str:
        node = self.device.running.child("ospf 1") or next(
            (c for c in self.device.running.children if c.text.split()[:1] == ["ospf"]), None)
        rid = node.text.split()[-1] if node is not None and "router-id" in node.text else "0.0.0.0"
        try:
            peers = self.frr.neighbors()
        except Exception as e:  # noqa: BLE001 - FRR down: the device shows no peers, as one whose OSPF died
            log.warning("%s: no OSPF neighbours from FRR: %s", self.device.name, e)
            peers = []
        return l3.ospf_peer_text(self.device.dialect, rid, peers, self.interfaces, brief=brief)


def _status(path: Path, routers: list[Router]) -> None:
    """What each router realises and what it does not, for `egov lab status` (0600 JSON)."""
    doc = {r.device.name: {"in_sync": r.in_sync, "error": r.error,
                           "unrealised": r.unrealised} for r in routers}
    _write_private(path, json.dumps(doc, indent=1))


# ---------------------------------------------------------------------------- the process


def build(spec: dict, reactor) -> list[EmulatedCore]:
    creds = json.loads(Path(spec["credentials"]).read_text())
    users = {creds["username"]: creds["password"].encode()}
    saved = Path(spec["saved"]) if spec.get("saved") else None
    if saved:
        saved.mkdir(parents=True, exist_ok=True)
    sf = switch_factory.SwitchFactory(mapping=MAPPING)
    cores = []
    for d in spec["devices"]:
        if d["dialect"] not in DIALECTS:
            raise ValueError(f"unknown dialect {d['dialect']!r} (known: {', '.join(DIALECTS)})")
        core = sf.get(d["dialect"], d["name"], creds["password"])
        dev = core.device
        dev.time_scale = float(d.get("time_scale", 1.0))
        if saved:
            path = saved / f"{d['name']}.cfg"
            if path.exists():
                bad = dev.load(path.read_text(encoding="utf-8"))
                if bad:
                    log.warning("%s: %d saved lines refused at boot (first: %s)", d["name"], len(bad), bad[0])
            dev.on_save = functools.partial(_write_private, path)
        if d.get("frr"):
            core.router = Router(dev, d["frr"]["dir"], d["frr"]["interfaces"])
        listen(reactor, core, d.get("address", "127.0.0.1"), int(d.get("port", 22)), users)
        cores.append(core)
    routers = [c.router for c in cores if getattr(c, "router", None) is not None]
    if routers:
        from twisted.internet import task

        status = Path(spec["status"]) if spec.get("status") else None
        every = [0]

        def tick():
            for r in routers:
                r.tick(reactor)
            every[0] += 1
            if status is not None and every[0] % 10 == 0:
                _status(status, routers)

        task.LoopingCall(tick).start(float(spec.get("realise_every", 0.2)))
    return cores


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    tmp.replace(path)


def main(argv: list[str]) -> int:
    from twisted.internet import reactor

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    if len(argv) != 1:
        print("usage: python -m egov.lab.devices <spec.json>", file=sys.stderr)
        return 2
    from twisted.internet.error import CannotListenError

    try:
        spec = json.loads(Path(argv[0]).read_text())
        cores = build(spec, reactor)
    except (OSError, ValueError, KeyError, CannotListenError) as e:
        print(f"egov.lab.devices: cannot start from {argv[0]}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1

    def ready():
        print(f"ready {len(cores)}", flush=True)
        fd = os.open(os.devnull, os.O_WRONLY)  # nobody reads the pipe after `ready`
        os.dup2(fd, 1)
        os.close(fd)

    reactor.callWhenRunning(ready)
    reactor.run()
    return 0
