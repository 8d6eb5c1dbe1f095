"""The estate model: what the district owns, as pydantic v2 types.

One estate is a directory of YAML files; each file has a model here
(`EstateFile`, `SitesFile`, `NetworkFile`, `DatabasesFile`, `AppsFile`) and
`Estate` is their union. These types check the *shape* of each file (types,
ranges, allowed values); the cross-file rules (uniqueness, IPAM, references,
the network tree) live in `egov.rules`.

Ids are ASCII (they become host names, namespace names and file names);
display names (`name`) are free text and Chinese is first class.
"""

from __future__ import annotations

import re
from datetime import timedelta
from enum import StrEnum
from ipaddress import IPv4Address, IPv4Network
from typing import Annotated, Iterator

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

ID_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$"
Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=120, strip_whitespace=True)]
VlanId = Annotated[int, Field(ge=1, le=4094)]
Port = Annotated[int, Field(ge=1, le=65535)]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def parse_duration(value: object) -> timedelta:
    """'5s', '30s', '2m', '1h', '500ms' or a number of seconds."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("a duration like '30s', '2m' or '1h' is required")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        seconds = float(m.group(1)) * _UNIT[m.group(2)]
    else:
        raise ValueError(f"not a duration: {value!r} (use e.g. '30s', '2m', '1h')")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return timedelta(seconds=seconds)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def parse_network(value: object) -> IPv4Network:
    """An IPv4 CIDR; host bits set is an error that suggests the right network."""
    if isinstance(value, IPv4Network):
        return value
    if not isinstance(value, str) or "/" not in value:
        raise ValueError(f"not a CIDR like 10.20.1.0/24: {value!r}")
    try:
        return IPv4Network(value)
    except ValueError as e:
        try:
            loose = IPv4Network(value, strict=False)
        except ValueError:
            raise ValueError(f"not an IPv4 CIDR: {value!r} ({e})") from None
        raise ValueError(f"{value} has host bits set (did you mean {loose}?)") from None


Cidr = Annotated[IPv4Network, BeforeValidator(parse_network)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --------------------------------------------------------------------------- IPAM
class Pool(Model):
    """A block the district's address plan hands subnets out of."""

    id: Id
    name: Name
    cidr: Cidr
    purpose: Name = "general"


class SubnetPurpose(StrEnum):
    mgmt = "mgmt"
    db = "db"
    app = "app"
    front = "front"
    service = "service"
    storage = "storage"
    replication = "replication"
    transit = "transit"


class Subnet(Model):
    id: Id
    name: Name | None = None
    cidr: Cidr
    pool: Id
    purpose: SubnetPurpose
    vlan: VlanId | None = None
    gateway: IPv4Address | None = None


# --------------------------------------------------------------------------- estate.yaml
HttpUrl = Annotated[str, StringConstraints(pattern=r"^https?://[^/\s]+(/\S*)?$")]
FINGERPRINT = re.compile(r"^[0-9A-Fa-f]{40}$")


class AptMirror(Model):
    """The estate's Debian mirror: hosts take every package from it and from nothing else.

    `key` is the mirror's signing key: a path (relative to the estate directory) of an
    OpenPGP public key file, or its 40-hex-digit fingerprint. A mirror the lab builds
    (`Mirrors.served_by` set) may leave it out: egov generates that key in the state dir."""

    url: HttpUrl
    suite: Id = "bookworm"
    components: list[Id] = Field(default_factory=lambda: ["main"], min_length=1)
    key: Annotated[str, StringConstraints(min_length=1)] | None = None


class PypiMirror(Model):
    """The estate's Python package index (PEP 503 simple API), for the applications' wheels."""

    url: HttpUrl


class Mirrors(Model):
    """The internal mirrors a government network installs from (no host reaches the internet).

    `served_by`: the lab host that serves a mirror egov builds (`egov lab mirror build`);
    a real estate's own mirror leaves it out and gives its key."""

    served_by: Id | None = None
    apt: AptMirror
    pypi: PypiMirror | None = None
class Tls(Model):
    """The fronts' certificates from the estate's own CA (paths relative to the estate directory).
    Without it, egov generates an estate CA and the fronts' certificates (the lab's case)."""

    ca: str  # the CA certificate clients trust (PEM)
    fronts: dict[Id, str]  # per site with a service address: certificate chain + private key (PEM)


class EstateFile(Model):
    """estate.yaml: who the estate belongs to and its address pools."""

    name: Id
    display_name: Name
    region: Name | None = None
    description: str | None = None
    pools: list[Pool] = Field(min_length=1)
    ntp_servers: list[IPv4Address] = []
    login_banner: str | None = None
    mirrors: Mirrors | None = None
    tls: Tls | None = None


# --------------------------------------------------------------------------- sites.yaml
class HostRole(StrEnum):
    db = "db"
    app = "app"
    lb = "lb"
    mgmt = "mgmt"
    monitor = "monitor"
    witness = "witness"


class SiteRole(StrEnum):
    primary = "primary"
    backup = "backup"
    witness = "witness"


class Host(Model):
    id: Id
    name: Name
    role: HostRole
    subnet: Id
    address: IPv4Address
    flavor: Id = "m1-medium"
    volume_gb: Annotated[int, Field(ge=0, le=65536)] = 0


class DrTargets(Model):
    """Disaster-recovery targets a site promises; every drill checks them."""

    rpo: Duration
    rto: Duration
    first_write_rto: Duration | None = None
    switchover_interruption: Duration | None = None
    gbt20988_level: Annotated[int, Field(ge=1, le=6)] | None = None


class Site(Model):
    id: Id
    name: Name
    role: SiteRole
    backup_of: Id | None = None
    location: Name | None = None
    service_address: IPv4Address | None = None
    subnets: list[Subnet] = Field(min_length=1)
    hosts: list[Host] = []
    dr: DrTargets


class SitesFile(Model):
    sites: list[Site] = Field(min_length=1)


# --------------------------------------------------------------------------- network.yaml
class Platform(StrEnum):
    huawei_vrp = "huawei_vrp"
    hp_comware = "hp_comware"
    cisco_ios = "cisco_ios"
    frr = "frr"


class DeviceRole(StrEnum):
    city_uplink = "city_uplink"
    core = "core"
    town_aggregation = "town_aggregation"
    village_access = "village_access"


class Vlan(Model):
    id: VlanId
    name: Id
    display_name: Name | None = None


class Device(Model):
    id: Id
    name: Name
    role: DeviceRole
    platform: Platform
    mgmt_ip: IPv4Address
    uplink: Id | None = None
    vlans: list[VlanId] = []
    location: Name | None = None
    model: str | None = None


class TownKind(StrEnum):
    street = "street"  # 街道
    town = "town"  # 镇


class Town(Model):
    id: Id
    name: Name
    kind: TownKind
    subnets: list[Subnet] = Field(min_length=1)
    router: Device
    villages: list[Device] = []


class NetworkFile(Model):
    vlans: list[Vlan] = []
    subnets: list[Subnet] = []
    city: Device
    core: Device
    towns: list[Town] = []


# --------------------------------------------------------------------------- databases.yaml
class ReplicationMode(StrEnum):
    synchronous = "synchronous"
    asynchronous = "asynchronous"
    none = "none"


class Replication(Model):
    mode: ReplicationMode
    standby_hosts: list[Id] = []


class Database(Model):
    id: Id
    name: Name
    owner_site: Id
    primary_host: Id
    replication: Replication
    port: Port = 5432
    description: str | None = None


CRON_FIELD = r"(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*"
Cron = Annotated[str, StringConstraints(pattern=rf"^{CRON_FIELD}( {CRON_FIELD}){{4}}$")]


class BackupSchedule(Model):
    """When the repository host takes each kind of backup (cron: minute hour day month weekday)."""

    full: Cron = "0 1 * * 0"
    diff: Cron | None = "0 1 * * 1-6"
    incr: Cron | None = None


class BackupRetention(Model):
    """How many backups the repository keeps (older ones, and the WAL only they need, expire)."""

    full: Annotated[int, Field(ge=1, le=100)] = 2
    diff: Annotated[int, Field(ge=1, le=100)] | None = 7


class Backup(Model):
    """databases.yaml `backup:`: pgBackRest for every cluster, its repository at another site.

    The repository host keeps an encrypted repository (key generated into the secrets file);
    every primary archives its WAL there continuously; the schedule and retention are the
    estate's. `scratch_port` is where restores into a scratch cluster listen on the repository host.
    """

    repository_host: Id
    repository_path: str = Field("/var/lib/pgbackrest", pattern=r"^/[A-Za-z0-9._/-]+$")
    schedule: BackupSchedule = Field(default_factory=BackupSchedule)
    retention: BackupRetention = Field(default_factory=BackupRetention)
    archive_timeout: Duration = timedelta(seconds=60)
    restore_rto: Duration = timedelta(minutes=30)  # a restore from the repository takes at most this
    scratch_port: Port = 5433


class DatabasesFile(Model):
    databases: list[Database] = Field(min_length=1)
    backup: Backup | None = None


# --------------------------------------------------------------------------- apps.yaml
class Module(Model):
    id: Id
    name: Name


class Application(Model):
    id: Id
    name: Name
    description: str | None = None
    databases: list[Id] = []
    port: Port  # plain HTTP at the front: redirects to https_port
    https_port: Port | None = None  # HTTPS at the front (TLS ends there); default port + 1000
    health_path: str = "/healthz"
    modules: list[Module] = []
    runs_on: dict[Id, list[Id]] = Field(min_length=1)

    @property
    def tls_port(self) -> int:
        return self.https_port if self.https_port is not None else self.port + 1000


class AppsFile(Model):
    applications: list[Application] = Field(min_length=1)


# --------------------------------------------------------------------------- cloud.yaml (optional)
class Flavor(Model):
    id: Id
    vcpus: Annotated[int, Field(ge=1, le=512)]
    ram_mb: Annotated[int, Field(ge=64)]
    disk_gb: Annotated[int, Field(ge=0)]


class Department(Model):
    """A department owns one OpenStack project per site and the servers of its roles or hosts."""

    id: Id
    name: Name
    roles: list[HostRole] = []
    hosts: list[Id] = []


DEFAULT_FLAVORS = [Flavor(id="m1-small", vcpus=1, ram_mb=2048, disk_gb=20),
                   Flavor(id="m1-medium", vcpus=2, ram_mb=4096, disk_gb=40),
                   Flavor(id="m1-large", vcpus=4, ram_mb=8192, disk_gb=80)]


class CloudFile(Model):
    """cloud.yaml: how the estate maps onto OpenStack (all optional; defaults suit one department)."""

    image: Name = "debian-12"
    flavors: list[Flavor] = Field(default_factory=lambda: list(DEFAULT_FLAVORS), min_length=1)
    departments: list[Department] = Field(
        default_factory=lambda: [Department(id="egov", name="电子政务", roles=list(HostRole))], min_length=1)
    # who may log in (SSH) and ping; empty: the site's mgmt subnets, else the estate's management pools
    management_cidrs: list[Cidr] = []
    # who may reach the public front (the service address); the only rules open to them
    public_cidrs: list[Cidr] = Field(default_factory=lambda: [IPv4Network("0.0.0.0/0")])
    # clouds.yaml cloud per site (default: the embedded cloud for every site)
    clouds: dict[Id, Name] = {}
    # the operators' public key every server trusts (keypair egov-<estate>); default: the lab's key
    public_key_file: str | None = None


# --------------------------------------------------------------------------- the estate
FILES: dict[str, type[Model]] = {
    "estate.yaml": EstateFile,
    "sites.yaml": SitesFile,
    "network.yaml": NetworkFile,
    "databases.yaml": DatabasesFile,
    "apps.yaml": AppsFile,
}
OPTIONAL_FILES: dict[str, type[Model]] = {"cloud.yaml": CloudFile}


class Estate(Model):
    """A whole estate, with look-ups the rest of egov uses."""

    meta: EstateFile
    sites: list[Site]
    network: NetworkFile
    databases: list[Database]
    applications: list[Application]
    backup: Backup | None = None
    cloud: CloudFile = Field(default_factory=CloudFile)
    digest: str = ""
    source: str = ""

    # -- look-ups -----------------------------------------------------------
    def site(self, site_id: str) -> Site:
        for s in self.sites:
            if s.id == site_id:
                return s
        raise KeyError(site_id)

    def hosts(self) -> Iterator[tuple[Site, Host]]:
        for s in self.sites:
            for h in s.hosts:
                yield s, h

    def host(self, host_id: str) -> tuple[Site, Host]:
        for s, h in self.hosts():
            if h.id == host_id:
                return s, h
        raise KeyError(host_id)

    def devices(self) -> Iterator[tuple[Town | None, Device]]:
        """Every network device, top-down: city, core, then each town's router and villages."""
        yield None, self.network.city
        yield None, self.network.core
        for t in self.network.towns:
            yield t, t.router
            for v in t.villages:
                yield t, v

    @property
    def primary_site(self) -> Site:
        return next(s for s in self.sites if s.role == SiteRole.primary)
