#!/usr/bin/env python3
"""lb-requirer: the requirer side of the `loadbalancer` interface, through the real library.

Everything that touches the relation goes through `loadbalancer_interface.LBProvider` (PyPI
1.2.1), exactly as kubernetes-control-plane uses it, except the `bad-protocol` scenario: the
library refuses to serialise an invalid protocol, so that one request is written as raw JSON.
Each unit runs `unit_server.py` on its own address so traffic through the load balancer can be
traced to the unit that answered.
"""

import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import ops
from loadbalancer_interface import LBProvider

log = logging.getLogger(__name__)

ENDPOINT = "lb-provider"
SCENARIO_NAMES = {
    "kcp": "api-server-external",
    "http": "web",
    "bad-protocol": "bad-protocol",
    "udp": "dns",
    "conflict": "conflict",
    "bad-cert": "bad-cert",
}
BAD_CERT = "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n"
BAD_KEY = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
PID_FILE = ".unit-server.pid"


class LbRequirerCharm(ops.CharmBase):
    def __init__(self, framework):
        super().__init__(framework)
        self.lb = LBProvider(self, ENDPOINT)
        for event in (
            self.on.install,
            self.on.start,
            self.on.config_changed,
            self.on.leader_elected,
            self.on.update_status,
            self.on[ENDPOINT].relation_created,
            self.on[ENDPOINT].relation_joined,
            self.on[ENDPOINT].relation_changed,
            self.on[ENDPOINT].relation_departed,
            self.on[ENDPOINT].relation_broken,
            self.lb.on.available,
            self.lb.on.response_changed,
        ):
            self.framework.observe(event, self._reconcile)
        self.framework.observe(self.on.stop, self._stop)
        self.framework.observe(self.on.remove, self._stop)
        self.framework.observe(self.on.get_responses_action, self._get_responses)

    # --- configuration -------------------------------------------------------------------

    def _scenarios(self):
        wanted = [s.strip() for s in str(self.config["requests"]).split(",") if s.strip()]
        return [s for s in wanted if s in SCENARIO_NAMES]

    def _names(self):
        return [SCENARIO_NAMES[s] for s in self._scenarios()]

    def _server_ports(self):
        return sorted({int(self.config["kcp_backend_port"]), int(self.config["http_backend_port"])})

    # --- the unit server ----------------------------------------------------------------

    def _address(self):
        try:
            binding = self.model.get_binding(ENDPOINT)
            if binding is not None and binding.network.ingress_address is not None:
                return str(binding.network.ingress_address)
        except Exception as e:  # network-get may be unavailable; fall back to unit-get
            log.info("network-get failed (%s); using unit-get private-address", e)
        out = subprocess.run(
            ["unit-get", "private-address", "--format=json"],
            check=True,
            capture_output=True,
            text=True,
        )
        return json.loads(out.stdout)

    def _pid_file(self):
        return Path(self.charm_dir) / PID_FILE

    def _running(self):
        """(pid, spec) of the server this unit started, if it is still alive."""
        try:
            pid_text, spec = self._pid_file().read_text().split(" ", 1)
            pid = int(pid_text)
            os.kill(pid, 0)
            return pid, spec
        except (OSError, ValueError):
            return None, None

    def _ensure_server(self):
        if not self.config["serve"]:
            return None
        address = self._address()
        spec = "{} {}".format(address, ",".join(map(str, self._server_ports())))
        pid, running_spec = self._running()
        if pid is not None and running_spec == spec:
            return address
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
        server = Path(__file__).with_name("unit_server.py")
        args = [sys.executable, str(server), address, str(self.config["server_lifetime"]), self.unit.name]
        args += [str(p) for p in self._server_ports()]
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
        )
        self._pid_file().write_text("{} {}".format(proc.pid, spec))
        log.info("unit server pid %s on %s", proc.pid, spec)
        return address

    def _stop(self, event):
        pid, _ = self._running()
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
        self._pid_file().unlink(missing_ok=True)

    # --- requests -----------------------------------------------------------------------

    def _send(self, scenario):
        cfg = self.config
        name = SCENARIO_NAMES[scenario]
        if scenario == "bad-protocol":
            raw = {"id": "b0", "name": name, "protocol": "TCP", "port_mapping": {"80": 80}}
            self.lb.relation.data[self.app]["request_" + name] = json.dumps(raw, sort_keys=True)
            return
        req = self.lb.get_request(name)
        req.health_checks = []
        if scenario in ("kcp", "conflict"):
            req.protocol = req.protocols.tcp
            req.port_mapping = {int(cfg["kcp_frontend_port"]): int(cfg["kcp_backend_port"])}
            req.public = bool(cfg["public"])
            if scenario == "kcp":
                # As kubernetes-control-plane does: an http check of /livez on the API port.
                req.add_health_check(
                    protocol=req.protocols.http, port=int(cfg["kcp_backend_port"]), path="/livez"
                )
        elif scenario == "http":
            req.protocol = req.protocols.http
            req.port_mapping = {int(cfg["http_frontend_port"]): int(cfg["http_backend_port"])}
            req.backends = []
            req.public = bool(cfg["public"])
        elif scenario == "udp":
            req.protocol = req.protocols.udp
            req.port_mapping = {int(cfg["udp_port"]): int(cfg["udp_port"])}
        elif scenario == "bad-cert":
            req.protocol = req.protocols.https
            req.port_mapping = {int(cfg["bad_cert_port"]): int(cfg["kcp_backend_port"])}
            req.tls_termination = True
            req.tls_cert = BAD_CERT
            req.tls_key = BAD_KEY
        self.lb.send_request(req)

    def _sync_requests(self):
        if not self.lb.can_request:
            return
        wanted = self._names()
        for key in list(self.lb.relation.data[self.app].keys()):
            if key.startswith("request_") and key[len("request_"):] not in wanted:
                self.lb.remove_request(key[len("request_"):])
        for scenario in self._scenarios():
            self._send(scenario)

    # --- reporting ----------------------------------------------------------------------

    def _report(self):
        """What the library reads back, per configured request name."""
        self._fresh_reads()
        report = {"available": bool(self.lb.is_available), "leader": self.unit.is_leader()}
        try:
            report["all_responses"] = sorted(r.name for r in self.lb.all_responses)
        except Exception as e:  # the library raising on our bytes is what tests look for
            report["all_responses_exception"] = repr(e)
        complete = None
        if self.unit.is_leader():
            try:
                complete = {r.name for r in self.lb.complete_responses}
            except Exception as e:
                report["complete_exception"] = repr(e)
        responses = {}
        for name in self._names():
            entry = {}
            try:
                resp = self.lb.get_response(name)
            except Exception as e:
                entry["exception"] = repr(e)
                resp = None
            entry["present"] = resp is not None
            if resp is not None:
                entry["success"] = not resp.error
                entry["error"] = resp.error.name if resp.error else None
                entry["error_fields"] = dict(resp.error_fields)
                entry["error_message"] = resp.error_message
                entry["address"] = resp.address
                entry["received_hash"] = resp.received_hash
            if self.unit.is_leader() and self.lb.relation is not None and name != "bad-protocol":
                req = self.lb.get_request(name)
                entry["sent_hash"] = req.sent_hash
                entry["hash_matches"] = resp is not None and resp.received_hash == req.sent_hash
                entry["complete"] = complete is not None and name in complete
            responses[name] = entry
        report["responses"] = responses
        return report

    def _status(self, report):
        parts = []
        for name, entry in report["responses"].items():
            if not entry["present"]:
                parts.append("{}: none".format(name))
            elif entry.get("success"):
                ok = "" if entry.get("hash_matches", True) else " (stale)"
                parts.append("{}: {}{}".format(name, entry["address"], ok))
            else:
                parts.append("{}: {}".format(name, entry["error"]))
        if not report["available"]:
            return ops.WaitingStatus("waiting for a loadbalancer provider")
        return ops.ActiveStatus("; ".join(parts) or "no requests")

    def _fresh_reads(self):
        # The library caches these per instance; one hook is one instance under Juju, but ops'
        # Harness keeps the charm across events, so start from fresh reads.
        for cached in ("relations", "all_responses", "complete_responses"):
            self.lb.__dict__.pop(cached, None)

    def _reconcile(self, event):
        self._fresh_reads()
        self._ensure_server()
        if self.lb.is_available:
            self._sync_requests()
        self.unit.status = self._status(self._report())

    def _get_responses(self, event):
        event.set_results({"responses": json.dumps(self._report(), sort_keys=True)})


if __name__ == "__main__":
    ops.main(LbRequirerCharm)
