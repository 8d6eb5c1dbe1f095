"""nova's compute driver for the embedded cloud: every server is a lab host.

`compute_driver = egov.cloud.novadriver.LabDriver`. On `spawn` the server becomes a lab host with
the lab's own host code (`egov.lab.host`): a network namespace, a private copy-on-write root,
sshd as PID 1, each port's fixed IP on the lab bridge of its network, the server's keypair as
root's authorized_keys. `power_off` is a power cut (`crash`), `power_on`/`reboot` boot it again,
`destroy` removes it. Names follow the lab's conventions (namespace `egov-h-<hostname>`, disk
`<lab>/hosts/<hostname>`), so `egov lab status|crash|start` and every playbook reach a server
exactly as they reach a host the lab made itself.

Which bridge serves which neutron network comes from `realise.json`, written by `egov cloud up`
from the lab's plan; the driver keeps its uuid -> host map in a registry file so a restarted
nova-compute still knows its servers.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from nova import exception
from nova.compute import power_state
from nova.virt import fake
from oslo_config import cfg
from oslo_log import log as logging

from egov.lab import host as hostmod
from egov.lab import netns

LOG = logging.getLogger(__name__)
CONF = cfg.CONF
CONF.register_opts([cfg.StrOpt("realise", help="egov: the lab map written by `egov cloud up`"),
                    cfg.StrOpt("registry", help="egov: uuid -> lab host registry")], group="egov")


class LabDriver(fake.FakeDriver):
    """FakeDriver's bookkeeping (resources, node) with lab hosts as the servers."""

    vcpus = 64
    memory_mb = 262144
    local_gb = 4096

    def __init__(self, virtapi, read_only=False):
        super().__init__(virtapi, read_only)
        self._registry_path = Path(CONF.egov.registry)

    # ------------------------------------------------------------------ state
    def _map(self) -> dict:
        return json.loads(Path(CONF.egov.realise).read_text())

    def _registry(self) -> dict:
        try:
            return json.loads(self._registry_path.read_text())
        except FileNotFoundError:
            return {}

    def _save(self, reg: dict) -> None:
        self._registry_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._registry_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(reg, indent=1))
        os.replace(tmp, self._registry_path)

    def _spec(self, entry: dict) -> hostmod.HostSpec:
        m = self._map()
        nics = tuple(hostmod.Nic(**n) for n in entry["nics"])
        return hostmod.HostSpec(id=entry["id"], netns=m["prefix"] + "h-" + entry["id"],
                                disk=Path(m["lab_dir"]) / "hosts" / entry["id"], nics=nics,
                                gateway=entry["gateway"], authorized_keys=entry["authorized_keys"],
                                mask=tuple(m.get("mask", ())), etc_hosts=m.get("etc_hosts", ""))

    def _entry(self, instance, network_info) -> dict:
        m = self._map()
        host_id = instance.hostname
        nics, gateway = [], None
        for i, vif in enumerate(network_info or []):
            net = vif["network"]
            bridge = m["bridges"].get(net["label"])
            if bridge is None:
                raise exception.NovaException(
                    f"egov lab: network {net['label']!r} has no lab bridge (known: {', '.join(sorted(m['bridges']))})")
            for subnet in net["subnets"]:
                for ip in subnet["ips"]:
                    prefix = subnet["cidr"].split("/")[1]
                    peer = netns.ifname("h-", host_id) if i == 0 else netns.ifname(f"h{i}-", host_id)
                    nics.append({"name": f"eth{i}", "address": f"{ip['address']}/{prefix}",
                                 "bridge_ns": bridge["ns"], "bridge": bridge["bridge"], "peer": peer})
                    if gateway is None and subnet.get("gateway") and subnet["gateway"].get("address"):
                        gateway = subnet["gateway"]["address"]
        if not nics:
            raise exception.NovaException(f"egov lab: server {host_id} has no fixed IP on a lab network")
        keys = instance.key_data or ""
        return {"id": host_id, "nics": nics, "gateway": gateway, "authorized_keys": keys.strip() + "\n"}

    # ------------------------------------------------------------------ driver API
    def init_host(self, host):
        super().init_host(host)
        for uuid, entry in self._registry().items():
            running = hostmod.running(self._spec(entry)) is not None
            self.instances[uuid] = fake.FakeInstance(entry["id"], power_state.RUNNING if running
                                                     else power_state.SHUTDOWN, uuid)

    def spawn(self, context, instance, image_meta, injected_files, admin_password, allocations,
              network_info=None, block_device_info=None, power_on=True, accel_info=None):
        entry = self._entry(instance, network_info)
        spec = self._spec(entry)
        LOG.info("egov lab: realising %s as lab host %s (%s)", instance.uuid, spec.id,
                 ", ".join(n.address for n in spec.nics))
        reg = self._registry()
        reg[instance.uuid] = entry
        self._save(reg)  # first: a half-made host is still found and removed by destroy
        hostmod.prepare(spec)
        hostmod.plug(spec)
        if power_on:
            hostmod.boot(spec)
            hostmod.wait_ready(spec, timeout=30)
        super().spawn(context, instance, image_meta, injected_files, admin_password, allocations,
                      network_info, block_device_info, power_on, accel_info)

    def destroy(self, context, instance, network_info, block_device_info=None, destroy_disks=True,
                destroy_secrets=True):
        reg = self._registry()
        entry = reg.pop(instance.uuid, None)
        if entry is not None:
            hostmod.destroy(self._spec(entry), wipe_disk=destroy_disks)
            self._save(reg)
        if instance.uuid in self.instances:
            super().destroy(context, instance, network_info, block_device_info, destroy_disks, destroy_secrets)

    def power_off(self, instance, timeout=0, retry_interval=0):
        entry = self._registry().get(instance.uuid)
        if entry is None:
            raise exception.InstanceNotFound(instance_id=instance.uuid)
        hostmod.crash(self._spec(entry))
        super().power_off(instance, timeout, retry_interval)

    def power_on(self, context, instance, network_info, block_device_info=None, accel_info=None,
                 share_info=None):
        entry = self._registry().get(instance.uuid)
        if entry is None:
            raise exception.InstanceNotFound(instance_id=instance.uuid)
        spec = self._spec(entry)
        hostmod.plug(spec)
        hostmod.boot(spec)
        hostmod.wait_ready(spec, timeout=30)
        super().power_on(context, instance, network_info, block_device_info, accel_info, share_info)

    def reboot(self, context, instance, network_info, reboot_type, block_device_info=None,
               bad_volumes_callback=None, accel_info=None, share_info=None):
        entry = self._registry().get(instance.uuid)
        if entry is not None:
            hostmod.crash(self._spec(entry))
        self.power_on(context, instance, network_info, block_device_info)

    def get_info(self, instance, use_cache=True):
        entry = self._registry().get(instance.uuid)
        if entry is None:
            raise exception.InstanceNotFound(instance_id=instance.uuid)
        state = power_state.RUNNING if hostmod.running(self._spec(entry)) else power_state.SHUTDOWN
        return fake.hardware.InstanceInfo(state=state)
