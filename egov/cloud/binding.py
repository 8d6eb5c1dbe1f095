"""neutron's ML2 mechanism driver for the embedded cloud: binds every port on every segment.

There are no agents in the embedded cloud: the lab's bridges are the data plane and nova's
`LabDriver` plugs each server's interface into them. This driver only tells neutron the port is
bound (vif_type `ovs`: nova no longer accepts `bridge`, and
`LabDriver` plugs nothing through os-vif), so ports go ACTIVE and nova gets its network info.
"""

from neutron_lib.api.definitions import portbindings
from neutron_lib.plugins.ml2 import api


class LabMechanismDriver(api.MechanismDriver):
    def initialize(self):
        pass

    @property
    def connectivity(self):
        return portbindings.CONNECTIVITY_L2

    def bind_port(self, context):
        for segment in context.segments_to_bind:
            context.set_binding(segment[api.ID], portbindings.VIF_TYPE_OVS,
                                {portbindings.CAP_PORT_FILTER: False, portbindings.OVS_HYBRID_PLUG: False},
                                status="ACTIVE")
            return
