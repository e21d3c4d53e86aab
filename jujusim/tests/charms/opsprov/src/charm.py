#!/usr/bin/env python3
"""Provider side of the simtest interface, written against the plain ops API."""

import logging

import ops

logger = logging.getLogger(__name__)


class OpsProv(ops.CharmBase):
    def __init__(self, framework):
        super().__init__(framework)
        for event in (
            self.on.install,
            self.on.config_changed,
            self.on.leader_elected,
            self.on.data_relation_joined,
            self.on.data_relation_changed,
            self.on.peers_relation_changed,
        ):
            framework.observe(event, self._reconcile)
        framework.observe(self.on.greet_action, self._on_greet)
        framework.observe(self.on.fail_me_action, self._on_fail_me)

    def _reconcile(self, event):
        port = int(self.config["port"])
        self.unit.open_port("tcp", port)
        for rel in self.model.relations["data"]:
            rel.data[self.unit]["port"] = str(port)
            if self.unit.is_leader():
                rel.data[self.app]["name"] = str(self.config["name"])
            seen = sorted(u.name for u in rel.units)
            logger.info("data relation %s sees %s", rel.id, seen)
        peers = self.model.get_relation("peers")
        if peers is not None:
            if self.unit.is_leader():
                peers.data[self.app]["leader"] = self.unit.name
            peer_leader = peers.data[self.app].get("leader", "")
        else:
            peer_leader = ""
        self.unit.set_workload_version("1.2.3")
        self.unit.status = ops.ActiveStatus(f"port {port} leader {peer_leader}")

    def _on_greet(self, event):
        who = event.params["who"]
        event.log(f"greeting {who}")
        event.set_results({"greeting": f"hello {who}", "times": event.params["times"]})

    def _on_fail_me(self, event):
        event.fail("deliberate failure")


if __name__ == "__main__":
    ops.main(OpsProv)
