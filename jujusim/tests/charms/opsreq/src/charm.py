#!/usr/bin/env python3
"""Requirer side of the simtest interface, written against the plain ops API."""

import logging

import ops

logger = logging.getLogger(__name__)


class OpsReq(ops.CharmBase):
    def __init__(self, framework):
        super().__init__(framework)
        framework.observe(self.on.start, self._reconcile)
        framework.observe(self.on.data_relation_changed, self._reconcile)
        framework.observe(self.on.data_relation_departed, self._reconcile)
        framework.observe(self.on.data_relation_broken, self._on_broken)

    def _reconcile(self, event):
        rel = self.model.get_relation("data")
        if rel is None or rel.app is None:
            self.unit.status = ops.WaitingStatus("no provider")
            return
        name = rel.data[rel.app].get("name", "")
        ports = sorted(
            f"{u.name}={rel.data[u].get('port', '')}@{rel.data[u].get('ingress-address', '')}"
            for u in rel.units
        )
        rel.data[self.unit]["seen"] = f"{name}:{','.join(ports)}"
        if name:
            self.unit.status = ops.ActiveStatus(f"got {name} from {len(ports)} units")
        else:
            self.unit.status = ops.WaitingStatus("waiting for provider data")

    def _on_broken(self, event):
        self.unit.status = ops.BlockedStatus("provider gone")


if __name__ == "__main__":
    ops.main(OpsReq)
