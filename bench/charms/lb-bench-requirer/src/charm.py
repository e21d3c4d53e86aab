#!/usr/bin/env python3
"""lb-bench-requirer: `count` kubernetes-control-plane-like requests through LBProvider.

Used only by `make bench`: the same requirer stands in front of haproxy-lb and of the Python
baseline provider, so the provider hooks being timed see the same bags.
"""

import ops
from loadbalancer_interface import LBProvider

ENDPOINT = "lb-provider"


def request_name(i):
    return "request-{:03d}".format(i)


class LbBenchRequirerCharm(ops.CharmBase):
    def __init__(self, framework):
        super().__init__(framework)
        self.lb = LBProvider(self, ENDPOINT)
        for event in (
            self.on.config_changed,
            self.on.leader_elected,
            self.on[ENDPOINT].relation_created,
            self.on[ENDPOINT].relation_joined,
            self.on[ENDPOINT].relation_changed,
            self.lb.on.available,
        ):
            self.framework.observe(event, self._reconcile)

    def _reconcile(self, event):
        if not self.lb.is_available or not self.lb.can_request:
            self.unit.status = ops.WaitingStatus("waiting for a loadbalancer provider")
            return
        cfg = self.config
        count = int(cfg["count"])
        base = int(cfg["port_base"])
        backend_port = int(cfg["backend_port"])
        wanted = {request_name(i) for i in range(count)}
        for key in list(self.lb.relation.data[self.app].keys()):
            if key.startswith("request_") and key[len("request_"):] not in wanted:
                self.lb.remove_request(key[len("request_"):])
        for i in range(count):
            req = self.lb.get_request(request_name(i))
            req.protocol = req.protocols.tcp
            port = base + i
            if i == 0 and int(cfg["variant"]) % 2 == 1:
                port = base + 500
            req.port_mapping = {port: backend_port}
            req.public = True
            req.health_checks = []
            req.add_health_check(protocol=req.protocols.http, port=backend_port, path="/livez")
            self.lb.send_request(req)
        self.unit.status = ops.ActiveStatus("{} requests".format(count))


if __name__ == "__main__":
    ops.main(LbBenchRequirerCharm)
