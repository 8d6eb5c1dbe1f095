"""cinder's volume driver for the embedded cloud: a volume is a file-backed disk on this machine.

`volume_driver = egov.cloud.cinderdriver.LabFileDriver` (in the backend's section of cinder.conf).
A volume is a sparse file `<egov_volumes_dir>/volume-<id>.img` holding an ext4 filesystem (made at
create, so a new volume is ready to mount, as a cloud image's data disk would be after first
format). The connection it hands to nova (`driver_volume_type = egov_lab`) names that file and the
mountpoint the volume's `egov_mount` metadata declares; nova's `LabDriver` attaches it to the lab
host (a loop device: a block device in the host, its filesystem mounted there). Only control path
here: no export, no target, no data copy (cinder's image/backup copies are not offered).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from cinder import exception
from cinder.volume import driver
from oslo_config import cfg
from oslo_log import log as logging

LOG = logging.getLogger(__name__)
OPTS = [cfg.StrOpt("egov_volumes_dir", help="egov: where the volumes' files live"),
        cfg.StrOpt("egov_default_mount", default="/srv/data",
                   help="egov: mountpoint of a volume whose metadata names none")]
CONNECTION_TYPE = "egov_lab"


def _run(argv: list[str]) -> None:
    r = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        msg = (r.stderr or r.stdout).strip().splitlines()
        raise exception.VolumeBackendAPIException(data=f"{argv[0]}: {msg[-1] if msg else r.returncode}")


class LabFileDriver(driver.VolumeDriver):
    VERSION = "1.0"
    CI_WIKI_NAME = "egov"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.configuration.append_config_values(OPTS)
        self.backend_name = self.configuration.safe_get("volume_backend_name") or "egov"

    # ------------------------------------------------------------------ files
    def _dir(self) -> Path:
        return Path(self.configuration.safe_get("egov_volumes_dir"))

    def _path(self, volume) -> Path:
        return self._dir() / f"volume-{volume.id}.img"

    def do_setup(self, context):
        self._dir().mkdir(parents=True, exist_ok=True)
        os.chmod(self._dir(), 0o700)

    def check_for_setup_error(self):
        for tool in ("mkfs.ext4", "losetup"):
            if not any((Path(d) / tool).exists() for d in os.environ.get("PATH", "/usr/sbin").split(":")
                       + ["/usr/sbin", "/sbin"]):
                raise exception.VolumeDriverException(message=f"egov: {tool} not found")

    # ------------------------------------------------------------------ volumes
    def create_volume(self, volume):
        path = self._path(volume)
        LOG.info("egov: volume %s as %s (%d GiB, sparse, ext4)", volume.id, path, volume.size)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.ftruncate(fd, volume.size * 1024 ** 3)
        finally:
            os.close(fd)
        try:
            _run(["mkfs.ext4", "-q", "-F", "-L", f"egov-{volume.id[:8]}",
                  "-E", "lazy_itable_init=1,lazy_journal_init=1", str(path)])
        except Exception:
            path.unlink(missing_ok=True)
            raise
        return {}

    def delete_volume(self, volume):
        self._path(volume).unlink(missing_ok=True)

    def extend_volume(self, volume, new_size):
        os.truncate(self._path(volume), new_size * 1024 ** 3)
        _run(["e2fsck", "-f", "-p", str(self._path(volume))])
        _run(["resize2fs", str(self._path(volume))])

    # ------------------------------------------------------------------ connections
    def ensure_export(self, context, volume):
        pass

    def create_export(self, context, volume, connector):
        pass

    def remove_export(self, context, volume):
        pass

    def initialize_connection(self, volume, connector, **kwargs):
        meta = dict(volume.metadata or {})
        return {"driver_volume_type": CONNECTION_TYPE,
                "data": {"path": str(self._path(volume)), "volume_id": volume.id,
                         "mount": meta.get("egov_mount") or self.configuration.safe_get("egov_default_mount")}}

    def terminate_connection(self, volume, connector, **kwargs):
        pass

    # ------------------------------------------------------------------ capacity
    def _update_volume_stats(self):
        st = os.statvfs(self._dir())
        total = st.f_blocks * st.f_frsize / 1024 ** 3
        free = st.f_bavail * st.f_frsize / 1024 ** 3
        self._stats = {"volume_backend_name": self.backend_name, "vendor_name": "egov",
                       "driver_version": self.VERSION, "storage_protocol": CONNECTION_TYPE,
                       # sparse files: the space is thin-provisioned like a real thin pool
                       "total_capacity_gb": round(total, 2), "free_capacity_gb": round(free, 2),
                       "thin_provisioning_support": True, "thick_provisioning_support": False,
                       "max_over_subscription_ratio": 20.0, "reserved_percentage": 0,
                       "provisioned_capacity_gb": sum(p.stat().st_size for p in self._dir().glob("*.img")) / 1024 ** 3,
                       "multiattach": False, "QoS_support": False}
