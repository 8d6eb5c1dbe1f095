"""The Pulumi program over egov's resource graph (`egov.cloud.graph`): one Pulumi resource per node.

`declare(graph, cloud=...)` registers every resource with pulumi_openstack and returns them by graph
key. The layout is decided in the graph, not here; this file only maps kinds to provider types.
Servers and volumes live in department projects, so each project gets its own provider scoped to
it (a server cannot be placed in another project by attribute, unlike neutron's `tenant_id`).
"""

from __future__ import annotations

import pulumi
import pulumi_openstack as openstack

from egov.cloud.graph import Graph


def declare(graph: Graph, *, cloud: str | None = None) -> dict[str, pulumi.CustomResource]:
    made: dict[str, pulumi.CustomResource] = {}
    tags = [graph.tag]
    providers: dict[str, openstack.Provider] = {}

    def dep(r):
        return pulumi.ResourceOptions(depends_on=[made[k] for k in r.after if k in made])

    def in_project(r):
        if r.project not in providers:
            providers[r.project] = openstack.Provider(f"project-{r.project}", cloud=cloud, tenant_name=r.project,
                                                      opts=pulumi.ResourceOptions(depends_on=[made[f"project/{r.project}"]]))
        return pulumi.ResourceOptions(provider=providers[r.project],
                                      depends_on=[made[k] for k in r.after if k in made])

    def pid(name):
        return made[f"project/{name}"].id

    def rid(kind, name):
        return made[f"{kind}/{name}"].id

    images = {}
    for r in graph.resources:
        p, k, n = r.props, r.kind, r.name
        if k == "image":
            images[n] = openstack.images.get_image_output(name=p["name"], most_recent=True)
            continue
        if k == "flavor":
            res = openstack.compute.Flavor(n, name=n, vcpus=p["vcpus"], ram=p["ram"], disk=p["disk"], is_public=True)
        elif k == "keypair":
            res = openstack.compute.Keypair(n, name=n, public_key=p["public_key"])
        elif k == "project":
            res = openstack.identity.Project(n, name=n, description=p["description"], tags=tags)
        elif k == "network":
            res = openstack.networking.Network(n, name=n, description=p["description"], tenant_id=pid(r.project),
                                               tags=tags, opts=dep(r))
        elif k == "rbac":
            res = openstack.networking.RbacPolicyV2(n, action="access_as_shared", object_type="network",
                                                    object_id=rid("network", p["network"]),
                                                    target_tenant=pid(p["target"]), opts=dep(r))
        elif k == "subnet":
            res = openstack.networking.Subnet(n, name=n, network_id=rid("network", p["network"]), cidr=p["cidr"],
                                              gateway_ip=p["gateway_ip"], enable_dhcp=p["enable_dhcp"],
                                              tenant_id=pid(r.project), tags=tags, opts=dep(r))
        elif k == "router":
            res = openstack.networking.Router(n, name=n, description=p["description"], tenant_id=pid(r.project),
                                              tags=tags, opts=dep(r))
        elif k == "router_interface":
            res = openstack.networking.RouterInterface(n.replace(":", "-"), router_id=rid("router", p["router"]),
                                                       subnet_id=rid("subnet", p["subnet"]), opts=dep(r))
        elif k == "security_group":
            res = openstack.networking.SecGroup(n, name=n, description=p["description"], tenant_id=pid(r.project),
                                                tags=tags, opts=dep(r))
            for i, rule in enumerate(p["rules"]):
                openstack.networking.SecGroupRule(
                    f"{n}-{i}", security_group_id=res.id, direction=rule["direction"], ethertype=rule["ethertype"],
                    protocol=rule["protocol"], port_range_min=rule["port_min"], port_range_max=rule["port_max"],
                    remote_ip_prefix=rule["remote_ip_prefix"], description=rule["description"],
                    tenant_id=pid(r.project), opts=pulumi.ResourceOptions(parent=res))
        elif k == "port":
            res = openstack.networking.Port(
                n, name=n, description=p["description"], network_id=rid("network", p["network"]),
                tenant_id=pid(r.project), tags=tags,
                fixed_ips=[openstack.networking.PortFixedIpArgs(subnet_id=rid("subnet", p["subnet"]),
                                                                ip_address=p["fixed_ip"])],
                security_group_ids=[rid("security_group", g) for g in p["security_groups"]],
                allowed_address_pairs=[openstack.networking.PortAllowedAddressPairArgs(ip_address=ip)
                                       for ip in p["allowed_address_pairs"]], opts=dep(r))
        elif k == "server":
            res = openstack.compute.Instance(
                n, name=n, flavor_name=p["flavor"], image_id=images[p["image"]].id, key_pair=p["key_name"],
                networks=[openstack.compute.InstanceNetworkArgs(port=rid("port", p["port"]))],
                metadata=p["metadata"], tags=tags, opts=in_project(r))
        elif k == "volume":
            res = openstack.blockstorage.Volume(n, name=n, size=p["size"], description=p["description"],
                                                metadata={"egov": graph.estate}, opts=in_project(r))
        elif k == "volume_attachment":
            res = openstack.compute.VolumeAttach(n.replace("@", "-on-"), instance_id=rid("server", p["server"]),
                                                 volume_id=rid("volume", p["volume"]), opts=in_project(r))
        else:
            raise ValueError(f"no Pulumi type for graph kind {k!r}")
        made[r.key] = res
    return made
