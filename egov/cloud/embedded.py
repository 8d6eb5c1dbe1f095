"""`egov cloud up|down`: a real OpenStack control plane on this machine, no systemd.

keystone, glance, placement, nova and neutron (from PyPI, in egov's virtualenv) run under uWSGI or
as plain processes; MariaDB and RabbitMQ (Debian packages) are started by hand with their data
under `<state dir>/cloud/embedded/`. Everything listens on 127.0.0.1 only. nova's compute driver
is `egov.cloud.novadriver.LabDriver`: every server becomes a lab host. neutron binds every port
with `egov.cloud.binding` (there are no agents: the lab's bridges are the data plane).

Every step is idempotent (a second `up` finds everything running and changes nothing); generated
passwords live in `secrets.json` (0600) and `clouds.yaml` (0600) next to the data, never in logs.
"""

from __future__ import annotations

import json
import os
import secrets as _rnd
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from egov.core import paths
from egov.core.errors import EgovError
from egov.lab.host import alive as _alive
from egov.lab.host import write_if_changed

CLOUD_NAME = "egov-embedded"
REGION = "RegionOne"
COMPUTE_HOST = "egov-compute"
IMAGE_NAME = "debian-12-lab"
PORTS = {"keystone": 5000, "glance": 9292, "placement": 8778, "nova": 8774, "neutron": 9696}
RABBIT_PORT = 5672
SERVICE_TYPES = {"keystone": "identity", "glance": "image", "placement": "placement",
                 "nova": "compute", "neutron": "network"}
MYSQL_DBS = {"nova_api": "nova", "nova": "nova", "nova_cell0": "nova", "placement": "placement",
             "neutron": "neutron"}
WSGI_MODULE = {"keystone": "keystone.wsgi.api:application", "glance": "glance.wsgi.api:application",
               "placement": "placement.wsgi.api:application", "nova": "nova.wsgi.osapi_compute:application",
               "neutron": "neutron.wsgi.api:application"}
DAEMONS = ("nova-conductor", "nova-scheduler", "nova-compute")
# every process `up` starts that `down` stops by its pid file (rabbitmq is stopped through rabbitmqctl)
PROCESSES = (*(f"{s}-api" for s in PORTS), *DAEMONS, "mariadb")

Progress = Callable[[str], None]


def _members(pgids: list[int]) -> list[int]:
    """The live (not zombie) processes of these process groups."""
    if not pgids:
        return []
    want, out = set(pgids), []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, _ppid, pgrp = stat.read_text().rsplit(") ", 1)[1].split()[:3]
        except (OSError, IndexError, ValueError):
            continue
        if int(pgrp) in want and state != "Z":
            out.append(int(stat.parent.name))
    return out


class CloudError(EgovError):
    """The embedded cloud could not be started or stopped."""


def _venv_bin(name: str) -> str:
    p = Path(sys.executable).parent / name
    return str(p) if p.exists() else (shutil.which(name) or name)


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _write(path: Path, text: str, mode: int = 0o600) -> bool:
    return write_if_changed(path, text, mode)  # the cloud's files hold passwords: 0600 unless said


class Embedded:
    """The control plane of one state dir (one per machine: it owns the standard ports)."""

    def __init__(self, state_dir: Path, realise: dict | None = None, images: list[str] | None = None):
        self.dir = paths.at(state_dir).embedded_cloud
        self.etc = self.dir / "etc"
        self.log = self.dir / "log"
        self.run = self.dir / "run"
        self.done = self.dir / "done"
        self.mysql_sock = self.run / "mysqld.sock"
        self.realise = realise  # what the compute driver needs to realise servers as lab hosts
        self.images = images or [IMAGE_NAME]  # registered in glance (the estate's image name)
        self._secrets: dict | None = None

    # ------------------------------------------------------------------ secrets
    def secrets(self) -> dict:
        if self._secrets is not None:
            return self._secrets
        p = self.dir / "secrets.json"
        data = json.loads(p.read_text()) if p.exists() else {}
        want = ["admin", "rabbit", "mysql_nova", "mysql_placement", "mysql_neutron",
                "svc_nova", "svc_glance", "svc_placement", "svc_neutron"]
        if any(k not in data for k in want):
            for k in want:
                data.setdefault(k, _rnd.token_urlsafe(18))
            _write(p, json.dumps(data, indent=1))
        self._secrets = data
        return data

    def clouds_yaml(self) -> Path:
        return self.dir / "clouds.yaml"

    # ------------------------------------------------------------------ helpers
    def _run(self, argv: list[str], what: str, *, env: dict | None = None, input: str | None = None,
             timeout: float = 600) -> str:
        """Run a setup tool; secrets go through `input` or `env`, never argv (`ps` shows argv)."""
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, input=input,
                           env={**os.environ, **(env or {})})
        if r.returncode != 0:
            tail = (r.stderr or r.stdout).strip().splitlines()[-3:]
            raise CloudError(f"embedded cloud: {what} failed (exit {r.returncode}): {' | '.join(tail)}")
        return r.stdout

    def _once(self, step: str, fn: Callable[[], None]) -> bool:
        marker = self.done / step
        if marker.exists():
            return False
        fn()
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(f"{time.time()}\n")
        return True

    def _pid(self, name: str) -> int | None:
        try:
            return int((self.run / f"{name}.pid").read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def _spawn(self, name: str, argv: list[str], env: dict | None = None) -> None:
        logf = open(self.log / f"{name}.log", "ab")
        p = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True, env={**os.environ, **(env or {})}, cwd=self.dir)
        (self.run / f"{name}.pid").write_text(f"{p.pid}\n")

    def _wait(self, what: str, ok: Callable[[], bool], timeout: float, log: str | None = None) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if ok():
                return
            time.sleep(0.2)
        hint = f" (see {self.log / log})" if log else ""
        raise CloudError(f"embedded cloud: {what} did not come up within {timeout:.0f}s{hint}")

    # ------------------------------------------------------------------ MariaDB
    def _mysql(self, sql: str) -> None:
        self._run(["mariadb", f"--socket={self.mysql_sock}", "-uroot"], "mariadb", input=sql)

    def _mariadb(self) -> list[str]:
        changes: list[str] = []
        data = self.dir / "mysql"
        if not (data / "mysql").exists():
            data.mkdir(parents=True, exist_ok=True)
            self._run(["mariadb-install-db", f"--datadir={data}", "--user=root", "--skip-test-db",
                       "--auth-root-authentication-method=socket"], "mariadb-install-db")
            changes.append("mariadb: data directory")
        if not _alive(self._pid("mariadb")):
            self._spawn("mariadb", ["mariadbd", "--no-defaults", f"--datadir={data}", "--user=root",
                                    f"--socket={self.mysql_sock}", "--skip-networking",
                                    f"--pid-file={self.run / 'mariadbd.pid'}", "--max-connections=500",
                                    "--innodb-buffer-pool-size=128M", "--innodb-flush-log-at-trx-commit=2",
                                    "--skip-log-bin", "--character-set-server=utf8mb4"])
            self._wait("mariadb", self.mysql_sock.exists, 60, "mariadb.log")
            changes.append("started mariadb")
        s = self.secrets()
        self._mysql("".join(
            f"CREATE DATABASE IF NOT EXISTS {db} CHARACTER SET utf8mb4;"
            f"CREATE USER IF NOT EXISTS '{user}'@'localhost' IDENTIFIED BY '{s['mysql_' + user]}';"
            f"GRANT ALL PRIVILEGES ON {db}.* TO '{user}'@'localhost';" for db, user in MYSQL_DBS.items()))
        return changes

    def _db_url(self, db: str) -> str:
        user = MYSQL_DBS[db]
        return (f"mysql+pymysql://{user}:{self.secrets()['mysql_' + user]}@localhost/{db}"
                f"?unix_socket={self.mysql_sock}&charset=utf8mb4")

    # ------------------------------------------------------------------ RabbitMQ
    def _rabbit_env(self) -> dict:
        base = self.dir / "rabbitmq"
        return {"RABBITMQ_MNESIA_BASE": str(base / "mnesia"), "RABBITMQ_LOG_BASE": str(self.log / "rabbitmq"),
                "RABBITMQ_NODENAME": "egov@localhost", "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
                "RABBITMQ_NODE_PORT": str(RABBIT_PORT), "RABBITMQ_PID_FILE": str(self.run / "rabbitmq.pid"),
                "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq"), "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "plugins"),
                "RABBITMQ_DIST_PORT": "25672", "ERL_EPMD_ADDRESS": "127.0.0.1", "HOME": str(base)}

    def _rabbitmq(self) -> list[str]:
        changes: list[str] = []
        base = self.dir / "rabbitmq"
        base.mkdir(parents=True, exist_ok=True)
        (self.log / "rabbitmq").mkdir(parents=True, exist_ok=True)
        _write(base / "plugins", "[].\n", 0o644)
        _write(
            base / "rabbitmq.conf", f"listeners.tcp.default = 127.0.0.1:{RABBIT_PORT}\nloopback_users = none\n", 0o644
        )
        cookie = base / ".erlang.cookie"
        if not cookie.exists():
            _write(cookie, _rnd.token_hex(16), 0o400)
        env = self._rabbit_env()
        if not _alive(self._pid("rabbitmq-server")) or not _listening(RABBIT_PORT):
            # Erlang's port mapper first, our own way: on loopback, and stoppable by `down`
            # even while some node is still registered
            subprocess.run(["epmd", "-daemon", "-relaxed_command_check", "-address", "127.0.0.1"],
                           capture_output=True, timeout=10)
            self._spawn("rabbitmq-server", ["/usr/lib/rabbitmq/bin/rabbitmq-server"], env)
            self._wait("rabbitmq", lambda: _listening(RABBIT_PORT), 90, "rabbitmq-server.log")
            changes.append("started rabbitmq")
        ctl = ["/usr/lib/rabbitmq/bin/rabbitmqctl", "-n", "egov@localhost"]
        users = self._run(ctl + ["list_users", "-q"], "rabbitmqctl list_users", env=env)
        pw = self.secrets()["rabbit"]
        if not any(line.split()[:1] == ["egov"] for line in users.splitlines()):
            self._run(ctl + ["add_user", "egov"], "rabbitmqctl add_user", env=env, input=pw + "\n")
            self._run(ctl + ["set_permissions", "egov", ".*", ".*", ".*"], "rabbitmqctl set_permissions", env=env)
            changes.append("rabbitmq user egov")
        return changes

    def _transport(self) -> str:
        return f"rabbit://egov:{self.secrets()['rabbit']}@127.0.0.1:{RABBIT_PORT}/"

    # ------------------------------------------------------------------ config files
    def _authtoken(self, user: str) -> str:
        """An API's own token validation (keystonemiddleware)."""
        return self._svc_auth("keystone_authtoken", user,
                              f"www_authenticate_uri = http://127.0.0.1:{PORTS['keystone']}/v3\n"
                              "service_token_roles_required = true\n")

    def _svc_auth(self, section: str, user: str, extra: str = "") -> str:
        """A service user's credentials in one section of a config file."""
        return f"""
[{section}]
{extra}auth_url = http://127.0.0.1:{PORTS['keystone']}/v3
auth_type = password
project_domain_name = Default
user_domain_name = Default
region_name = {REGION}
project_name = service
username = {user}
password = {self.secrets()['svc_' + user]}
"""

    def configs(self) -> dict[Path, str]:
        e, lg, st = self.etc, self.log, self.dir / "state"
        venv_etc = Path(sys.executable).parent.parent / "etc"
        lock = self.dir / "lock"
        files: dict[Path, str] = {}
        files[e / "keystone" / "keystone.conf"] = f"""[DEFAULT]
log_file = {lg}/keystone-app.log
[database]
connection = sqlite:///{st}/keystone.sqlite
[token]
provider = fernet
[fernet_tokens]
key_repository = {self.dir}/keys/fernet
[fernet_receipts]
key_repository = {self.dir}/keys/fernet
[credential]
key_repository = {self.dir}/keys/credential
"""
        files[e / "glance" / "glance-api.conf"] = f"""[DEFAULT]
log_file = {lg}/glance-app.log
enabled_backends = fs:file
[database]
connection = sqlite:///{st}/glance.sqlite
[glance_store]
default_backend = fs
[fs]
filesystem_store_datadir = {st}/images
[os_glance_staging_store]
filesystem_store_datadir = {st}/images-staging
[os_glance_tasks_store]
filesystem_store_datadir = {st}/images-tasks
[paste_deploy]
flavor = keystone
config_file = {e}/glance/glance-api-paste.ini
[oslo_concurrency]
lock_path = {lock}
""" + self._authtoken("glance")
        files[e / "glance" / "glance-api-paste.ini"] = (venv_etc / "glance" / "glance-api-paste.ini").read_text()
        files[e / "placement" / "placement.conf"] = f"""[DEFAULT]
log_file = {lg}/placement-app.log
[placement_database]
connection = {self._db_url('placement')}
[api]
auth_strategy = keystone
""" + self._authtoken("placement")
        files[e / "nova" / "nova.conf"] = (
            f"""[DEFAULT]
state_path = {st}/nova
instances_path = {st}/nova/instances
transport_url = {self._transport()}
compute_driver = egov_lab.LabDriver
host = {COMPUTE_HOST}
my_ip = 127.0.0.1
vif_plugging_is_fatal = false
vif_plugging_timeout = 0
heal_instance_info_cache_interval = -1
sync_power_state_interval = -1
update_resources_interval = 60
max_concurrent_builds = 20
osapi_compute_workers = 2
metadata_workers = 1
default_log_levels = amqp=WARN,amqplib=WARN,oslo.messaging=WARN,sqlalchemy=WARN,keystonemiddleware=WARN,routes.middleware=WARN,stevedore=WARN,urllib3.connectionpool=WARN,oslo_policy=WARN
[api]
auth_strategy = keystone
[api_database]
connection = {self._db_url("nova_api")}
[database]
connection = {self._db_url("nova")}
[wsgi]
api_paste_config = {e}/nova/api-paste.ini
[oslo_concurrency]
lock_path = {lock}
[oslo_messaging_notifications]
driver = noop
[conductor]
workers = 1
[scheduler]
workers = 1
discover_hosts_in_cells_interval = -1
[filter_scheduler]
enabled_filters = ComputeFilter
[vnc]
enabled = false
[glance]
region_name = {REGION}
[cinder]
catalog_info = volumev3::publicURL
[egov]
realise = {self.dir}/realise.json
registry = {st}/nova/lab-instances.json
"""
            + self._authtoken("nova")
            + self._svc_auth("placement", "placement")
            + self._svc_auth("neutron", "neutron")
            + self._svc_auth("service_user", "nova", "send_service_user_token = false\n")
        )
        files[e / "nova" / "api-paste.ini"] = (venv_etc / "nova" / "api-paste.ini").read_text()
        files[e / "neutron" / "neutron.conf"] = f"""[DEFAULT]
log_file = {lg}/neutron-app.log
state_path = {st}/neutron
core_plugin = ml2
service_plugins = router
auth_strategy = keystone
transport_url = {self._transport()}
notify_nova_on_port_status_changes = false
notify_nova_on_port_data_changes = false
api_workers = 1
rpc_workers = 0
rpc_state_report_workers = 0
api_paste_config = {e}/neutron/api-paste.ini
[database]
connection = {self._db_url('neutron')}
[oslo_concurrency]
lock_path = {lock}
[agent]
root_helper = sudo
""" + self._authtoken("neutron") + self._svc_auth("nova", "nova")
        files[e / "neutron" / "plugins" / "ml2" / "ml2_conf.ini"] = """[ml2]
type_drivers = flat,vxlan
tenant_network_types = vxlan
mechanism_drivers = egov_lab
extension_drivers = port_security
[ml2_type_vxlan]
vni_ranges = 1:10000
[ml2_type_flat]
flat_networks = *
"""
        files[e / "neutron" / "api-paste.ini"] = (venv_etc / "neutron" / "api-paste.ini").read_text()
        for svc in PORTS:
            files[e / "uwsgi" / f"{svc}.ini"] = f"""[uwsgi]
http = 127.0.0.1:{PORTS[svc]}
module = {WSGI_MODULE[svc]}
master = true
processes = {2 if svc in ('nova', 'neutron', 'placement') else 1}
threads = 1
enable-threads = true
lazy-apps = true
die-on-term = true
add-header = Connection: close
buffer-size = 65535
thunder-lock = true
daemonize2 = {lg}/{svc}-api.log
pidfile = {self.run}/{svc}-api.pid
"""
        return files

    def _env(self, svc: str) -> dict:
        return {"keystone": {"OS_KEYSTONE_CONFIG_FILES": str(self.etc / "keystone" / "keystone.conf")},
                "glance": {"OS_GLANCE_CONFIG_DIR": str(self.etc / "glance")},
                "placement": {"OS_PLACEMENT_CONFIG_DIR": str(self.etc / "placement")},
                "nova": {"OS_NOVA_CONFIG_DIR": str(self.etc / "nova")},
                "neutron": {"OS_NEUTRON_CONFIG_DIR": str(self.etc / "neutron"),
                            "OS_NEUTRON_CONFIG_FILES": "neutron.conf;plugins/ml2/ml2_conf.ini"}}[svc]

    # ------------------------------------------------------------------ databases
    def _sync(self, svc: str) -> None:
        b, e = _venv_bin, self.etc
        if svc == "keystone":
            cf = ["--config-file", str(e / "keystone" / "keystone.conf")]
            for d in ("keys/fernet", "keys/credential"):
                (self.dir / d).mkdir(parents=True, exist_ok=True)
                os.chmod(self.dir / d, 0o700)
            self._run([b("keystone-manage"), *cf, "db_sync"], "keystone db_sync")
            self._run([b("keystone-manage"), *cf, "fernet_setup", "--keystone-user", "root",
                       "--keystone-group", "root"], "keystone fernet_setup")
            self._run([b("keystone-manage"), *cf, "credential_setup", "--keystone-user", "root",
                       "--keystone-group", "root"], "keystone credential_setup")
            url = f"http://127.0.0.1:{PORTS['keystone']}/v3"
            self._run([b("keystone-manage"), *cf, "bootstrap",
                       "--bootstrap-admin-url", url, "--bootstrap-internal-url", url, "--bootstrap-public-url", url,
                       "--bootstrap-region-id", REGION], "keystone bootstrap",
                      env={"OS_BOOTSTRAP_PASSWORD": self.secrets()["admin"]})
        elif svc == "glance":
            self._run([b("glance-manage"), "--config-dir", str(e / "glance"), "db_sync"], "glance db_sync")
        elif svc == "placement":
            self._run([b("placement-manage"), "--config-dir", str(e / "placement"), "db", "sync"], "placement db sync")
        elif svc == "nova":
            cf = ["--config-file", str(e / "nova" / "nova.conf")]
            self._run([b("nova-manage"), *cf, "api_db", "sync"], "nova api_db sync")
            self._run([b("nova-manage"), *cf, "cell_v2", "map_cell0", "--database_connection",
                       self._db_url("nova_cell0")], "nova map_cell0")
            cells = self._run([b("nova-manage"), *cf, "cell_v2", "list_cells"], "nova list_cells")
            if " cell1 " not in cells:
                self._run([b("nova-manage"), *cf, "cell_v2", "create_cell", "--name", "cell1"], "nova create_cell")
            self._run([b("nova-manage"), *cf, "db", "sync"], "nova db sync")
        elif svc == "neutron":
            self._run([b("neutron-db-manage"), "--config-file", str(e / "neutron" / "neutron.conf"),
                       "--config-file", str(e / "neutron" / "plugins" / "ml2" / "ml2_conf.ini"), "upgrade", "heads"],
                      "neutron-db-manage upgrade")

    # ------------------------------------------------------------------ services
    def _api(self, svc: str) -> list[str]:
        if _alive(self._pid(f"{svc}-api")) and _listening(PORTS[svc]):
            return []
        if _listening(PORTS[svc]):
            raise CloudError(f"embedded cloud: port {PORTS[svc]} ({svc}) is taken by another program on this machine")
        self._run([_venv_bin("uwsgi"), "--ini", str(self.etc / "uwsgi" / f"{svc}.ini")], f"uwsgi {svc}",
                  env=self._env(svc))
        return [f"started {svc} API on 127.0.0.1:{PORTS[svc]}"]

    def _wait_api(self, svc: str) -> None:
        path = {"keystone": "/v3", "glance": "/", "placement": "/", "nova": "/", "neutron": "/"}[svc]

        def ok() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{PORTS[svc]}{path}", timeout=2):
                    return True
            except urllib.error.HTTPError as e:
                return e.code < 500
            except OSError:
                return False
        self._wait(f"the {svc} API", ok, 120, f"{svc}-api.log")

    def _daemon(self, name: str) -> list[str]:
        if _alive(self._pid(name)):
            return []
        argv = [sys.executable, "-m", "egov.cloud.compute"] if name == "nova-compute" else [_venv_bin(name)]
        self._spawn(name, [*argv, "--config-file", str(self.etc / "nova" / "nova.conf"),
                           "--log-file", str(self.log / f"{name}.log")])
        return [f"started {name}"]

    def connection(self, project: str = "admin"):
        """A new admin connection (`up` keeps one for its own steps)."""
        import openstack

        return openstack.connect(auth_url=f"http://127.0.0.1:{PORTS['keystone']}/v3", username="admin",
                                 password=self.secrets()["admin"], project_name=project,
                                 user_domain_name="Default", project_domain_name="Default",
                                 region_name=REGION, identity_api_version="3")

    def _catalog(self, conn) -> list[str]:
        changes: list[str] = []
        idp = conn.identity
        service_project = idp.find_project("service") or idp.create_project(name="service", domain_id="default")
        # service users hold admin and 'service' (the role service tokens are checked for)
        roles = [idp.find_role("admin"), idp.find_role("service") or idp.create_role(name="service")]
        for svc, stype in SERVICE_TYPES.items():
            if svc == "keystone":  # bootstrap made its user, service and endpoints
                continue
            user = idp.find_user(svc, domain_id="default")
            if user is None:
                user = idp.create_user(name=svc, password=self.secrets()["svc_" + svc], domain_id="default")
                changes.append(f"keystone user {svc}")
            for role in roles:
                idp.assign_project_role_to_user(service_project, user, role)
            if not any(True for _ in idp.services(type=stype)):
                changes.append(f"keystone service {svc}")
                service = idp.create_service(name=svc, type=stype)
                for iface in ("public", "internal", "admin"):
                    idp.create_endpoint(service_id=service.id, interface=iface, region_id=REGION,
                                        url=f"http://127.0.0.1:{PORTS[svc]}")
        return changes

    def _clouds(self) -> list[str]:
        text = json.dumps({"clouds": {CLOUD_NAME: {
            "auth": {"auth_url": f"http://127.0.0.1:{PORTS['keystone']}/v3", "username": "admin",
                     "password": self.secrets()["admin"], "project_name": "admin",
                     "user_domain_name": "Default", "project_domain_name": "Default"},
            "region_name": REGION, "identity_api_version": 3}}}, indent=1)
        return [f"clouds.yaml {self.clouds_yaml()}"] if _write(self.clouds_yaml(), text) else []

    def _image(self, conn) -> list[str]:
        changes = []
        # the lab's hosts share the machine's OS through overlays: the image is a marker, not a disk
        path = self.dir / "state" / "lab-image.raw"
        for name in self.images:
            if conn.image.find_image(name) is None:
                if not path.exists():
                    path.write_bytes(b"egov lab host: the machine's root through an overlay\n".ljust(1024, b"\0"))
                conn.image.create_image(name=name, filename=str(path), disk_format="raw", container_format="bare",
                                        visibility="public", os_distro="debian", os_version="12")
                changes.append(f"image {name}")
        return changes

    def _compute_ready(self, conn) -> list[str]:

        def ok() -> bool:
            return any(s.binary == "nova-compute" and s.state == "up" for s in conn.compute.services())
        self._wait("nova-compute", ok, 120, "nova-compute.log")
        out = self._run([_venv_bin("nova-manage"), "--config-file", str(self.etc / "nova" / "nova.conf"),
                         "cell_v2", "discover_hosts"], "nova discover_hosts")
        self._wait("the compute node in placement",
                   lambda: any(True for _ in conn.placement.resource_providers()), 60, "nova-compute.log")
        return ["mapped compute host"] if "Creating host mapping" in out else []

    # ------------------------------------------------------------------ up / down
    def up(self, progress: Progress = lambda _m: None) -> list[str]:
        for tool in ("mariadbd", "mariadb-install-db"):
            if shutil.which(tool) is None:
                raise CloudError(f"embedded cloud: {tool} not found (Debian package mariadb-server; "
                                 "run scripts/install-deps)")
        if not Path("/usr/lib/rabbitmq/bin/rabbitmq-server").exists():
            raise CloudError("embedded cloud: rabbitmq-server not found (Debian package rabbitmq-server; "
                             "run scripts/install-deps)")
        for d in (self.dir, self.etc, self.log, self.run, self.done, self.dir / "state", self.dir / "lock",
                  self.dir / "state" / "nova" / "instances", self.dir / "state" / "neutron"):
            d.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)
        changes: list[str] = []
        self.secrets()
        if self.realise is not None and _write(self.dir / "realise.json", json.dumps(self.realise, indent=1)):
            changes.append("compute driver's lab map")
        progress("mariadb, rabbitmq")
        with ThreadPoolExecutor(2) as pool:
            a, b = pool.submit(self._mariadb), pool.submit(self._rabbitmq)
            changes += a.result() + b.result()
        for path, text in self.configs().items():
            if _write(path, text):
                changes.append(f"config {path.relative_to(self.dir)}")
        progress("databases")
        with ThreadPoolExecutor(3) as pool:
            synced = dict(zip(PORTS, pool.map(lambda s: self._once(f"db-{s}", lambda: self._sync(s)), PORTS)))
        changes += [f"{s} database" for s, did in synced.items() if did]
        progress("APIs")
        for svc in PORTS:
            changes += self._api(svc)
        for svc in PORTS:
            self._wait_api(svc)
        progress("catalog")
        changes += self._catalog(self.connection()) + self._clouds()
        progress("nova services")
        for d in DAEMONS:
            changes += self._daemon(d)
        conn = self.connection()  # a new token: its catalog has the services just registered
        changes += self._image(conn)
        changes += self._compute_ready(conn)
        return changes

    def down(self) -> list[str]:
        changes: list[str] = []
        pids = {n: self._pid(n) for n in PROCESSES}
        # the daemons' process groups: a worker that ignores SIGTERM outlives its leader (seen: a
        # nova-conductor worker still running after `lab down`), so the whole group is waited for
        groups = [pid for name, pid in pids.items() if not name.endswith("-api") and _alive(pid)]
        for name, pid in pids.items():
            if _alive(pid):
                # uWSGI's master stops its workers itself; the others lead their own session
                kill = os.kill if name.endswith("-api") else os.killpg
                try:
                    kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
                changes.append(f"stopped {name}")
        if _alive(self._pid("rabbitmq-server")):
            subprocess.run(["/usr/lib/rabbitmq/bin/rabbitmqctl", "-n", "egov@localhost", "stop"],
                           env={**os.environ, **self._rabbit_env()}, capture_output=True, timeout=60)
            changes.append("stopped rabbitmq")
            # Erlang's port mapper (started by `up`) outlives rabbitmq
            subprocess.run(["epmd", "-kill"], capture_output=True, timeout=10,
                           env={**os.environ, **self._rabbit_env()})
        end = time.monotonic() + 30
        while time.monotonic() < end and (any(_alive(p) for p in pids.values()) or _members(groups)):
            time.sleep(0.2)
        for name, pid in pids.items():
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        for pid in _members(groups):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for f in self.run.glob("*.pid") if self.run.exists() else []:
            f.unlink()
        return changes

    def status(self) -> dict:
        procs = {n: _alive(self._pid(n)) for n in (*PROCESSES, "rabbitmq-server")}
        return {"dir": str(self.dir), "up": all(procs.values()), "processes": procs,
                "endpoints": {s: f"http://127.0.0.1:{p}" for s, p in PORTS.items()},
                "clouds_yaml": str(self.clouds_yaml()), "cloud": CLOUD_NAME}
