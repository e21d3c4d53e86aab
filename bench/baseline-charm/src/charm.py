#!/usr/bin/env python3
"""haproxy-baseline: the Python provider `make bench` measures haproxy-lb against.

Written the way a Python charm developer would write a loadbalancer provider: ops, the
`LBConsumers` class of loadbalancer-interface 1.2.1 (which parses and validates requests with
its marshmallow schema), a Jinja2 template of an haproxy.cfg equivalent to haproxy-lb's, the
same checks on every value that reaches the file (names, ports, hosts, paths, port clashes),
`haproxy -c` on a candidate, an atomic install, and a master-worker reload verified on the
master CLI exactly as spec/haproxy.md §3 prescribes (poll every 100 ms until the reload count
rises, then settle 1 s and look for a fresh worker). Every hook reconciles (the holistic
pattern, like haproxy-lb), and nothing is rewritten or reloaded when the rendered bytes equal
the installed file.
"""

import ipaddress
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import jinja2
import ops
from loadbalancer_interface import LBConsumers

log = logging.getLogger(__name__)

ENDPOINT = "lb-consumers"
HAPROXY = "/usr/sbin/haproxy"
CONFIG = Path("/etc/haproxy/haproxy.cfg")
CANDIDATE = Path("/etc/haproxy/.haproxy.cfg.new")
PIDFILE = Path("/run/haproxy.pid")
MASTER_SOCKET = Path("/run/haproxy-master.sock")
ADMIN_SOCKET = Path("/run/haproxy/admin.sock")
SERVER_STATE = Path("/run/haproxy/server-state")
CHROOT = Path("/var/lib/haproxy")
LOG_FILE = Path("/var/log/haproxy-baseline/haproxy.log")

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
HOSTNAME_RE = re.compile(
    r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
PATH_RE = re.compile(r"^/[A-Za-z0-9._~/-]{0,254}(\?[A-Za-z0-9._~=&-]{0,255})?$")
ALGORITHMS = {"leastconn": "leastconn", "roundrobin": "roundrobin", "source": "source"}


class Invalid(Exception):
    """A request field we cannot serve: (field, reason)."""

    def __init__(self, field, reason):
        super().__init__("{} {}".format(field, reason))
        self.field = field
        self.reason = reason


def valid_port(value, field):
    if not isinstance(value, int) or not 1 <= value <= 65535:
        raise Invalid(field, "port {} is outside 1-65535".format(value))
    return value


def valid_host(value, field):
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        pass
    if len(value) > 253 or not HOSTNAME_RE.match(value) or value.replace(".", "").isdigit():
        raise Invalid(field, "{!r} is not an IP address or a host name".format(value))
    return value


def service_from(request, taken_ports):
    """The template's view of one request, or Invalid."""
    if str(request.protocol) not in ("tcp", "http", "https"):
        raise Invalid("protocol", "{} is not supported".format(request.protocol))
    if request.tls_termination:
        raise Invalid("tls_termination", "not supported")
    if not request.port_mapping:
        raise Invalid("port_mapping", "is empty")
    name = "lb-{}".format(request.name)
    if not NAME_RE.match(name):
        raise Invalid("name", "{!r} cannot name an HAProxy proxy".format(request.name))
    balance = None
    for algorithm in request.algorithm:
        if algorithm in ALGORITHMS:
            balance = ALGORITHMS[algorithm]
            break
    checks = []
    for hc in request.health_checks:
        port = valid_port(hc.port, "health_checks")
        path = None
        if str(hc.protocol) in ("http", "https"):
            path = hc.path or "/"
            if not PATH_RE.match(path):
                raise Invalid("health_checks", "path {!r} is not allowed".format(path))
        checks.append({"port": port, "path": path, "ssl": str(hc.protocol) == "https"})
    interval = min((hc.interval for hc in request.health_checks), default=30)
    retries = min((hc.retries for hc in request.health_checks), default=3)
    servers = [valid_host(b, "backends") for b in request.backends]
    frontends = []
    for frontend_port, backend_port in sorted(request.port_mapping.items()):
        fport = valid_port(int(frontend_port), "port_mapping")
        bport = valid_port(int(backend_port), "port_mapping")
        if fport in taken_ports:
            raise Invalid(None, "frontend port {} is already in use".format(fport))
        frontends.append({"port": fport, "backend_port": bport})
    for fe in frontends:
        taken_ports.add(fe["port"])
    return {
        "name": name,
        "mode": "http" if str(request.protocol) == "http" else "tcp",
        "balance": balance,
        "sticky": bool(request.sticky),
        "checks": checks,
        "interval": interval,
        "retries": retries,
        "frontends": frontends,
        "servers": [
            {"name": "{}-{}".format(request.name, i), "host": host} for i, host in enumerate(servers)
        ],
    }


class MasterCli:
    """`show proc` on the master CLI (spec/haproxy.md §3)."""

    @staticmethod
    def show_proc():
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(str(MASTER_SOCKET))
            s.sendall(b"show proc\n")
            s.shutdown(socket.SHUT_WR)
            chunks = []
            while True:
                data = s.recv(65536)
                if not data:
                    break
                chunks.append(data)
        text = b"".join(chunks).decode()
        master, workers, section = None, [], None
        for line in text.splitlines():
            if line.startswith("#"):
                section = line.strip("# ").split(" ")[0]
                continue
            fields = line.split()
            if len(fields) < 3:
                continue
            if fields[1] == "master":
                failed = 0
                m = re.search(r"\[failed: (\d+)\]", line)
                if m:
                    failed = int(m.group(1))
                master = {"pid": int(fields[0]), "reloads": int(fields[2]), "failed": failed}
            elif fields[1] == "worker" and section == "workers":
                workers.append({"pid": int(fields[0]), "reloads": int(fields[2])})
        if master is None:
            raise RuntimeError("no master in show proc: {!r}".format(text))
        master["workers"] = workers
        return master


def admin_command(command):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(str(ADMIN_SOCKET))
        s.sendall(command.encode() + b"\n")
        chunks = []
        while True:
            data = s.recv(65536)
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks).decode()


class HAProxy:
    def running_master(self):
        try:
            pid = int(PIDFILE.read_text().strip())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        try:
            table = MasterCli.show_proc()
        except OSError:
            return None
        return table if table["pid"] == pid else None

    def prepare(self):
        for d in (PIDFILE.parent, ADMIN_SOCKET.parent, CHROOT, LOG_FILE.parent, CONFIG.parent):
            d.mkdir(parents=True, exist_ok=True)
        if not SERVER_STATE.exists():
            SERVER_STATE.write_text("1\n")

    def check(self, path):
        proc = subprocess.run([HAPROXY, "-c", "-f", str(path)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError("haproxy -c refused the config: {}".format(proc.stdout + proc.stderr))
        return [line for line in (proc.stdout + proc.stderr).splitlines() if "WARNING" in line]

    def start(self):
        self.prepare()
        with open(LOG_FILE, "ab") as out:
            subprocess.Popen(
                [HAPROXY, "-W", "-f", str(CONFIG), "-p", str(PIDFILE), "-S", "{},mode,600".format(MASTER_SOCKET)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            table = self.running_master()
            if table and table["workers"]:
                log.info("HAProxy started (master %s)", table["pid"])
                return
            time.sleep(0.1)
        raise RuntimeError("HAProxy did not start within 10 s")

    def reload(self, before):
        try:
            SERVER_STATE.write_text(admin_command("show servers state"))
        except OSError as e:
            log.warning("could not dump the server state: %s", e)
        os.kill(before["pid"], signal.SIGUSR2)
        deadline = time.monotonic() + 10
        while True:
            time.sleep(0.1)
            try:
                after = MasterCli.show_proc()
                if after["reloads"] > before["reloads"]:
                    break
            except OSError:
                pass  # the master CLI refuses connections while it re-executes (§3)
            if time.monotonic() > deadline:
                raise RuntimeError("HAProxy did not reload within 10 s")
        if after["failed"]:
            raise RuntimeError("HAProxy refused the reload (failed: {})".format(after["failed"]))
        time.sleep(1)
        table = MasterCli.show_proc()
        if not any(w["reloads"] == 0 for w in table["workers"]):
            raise RuntimeError("no fresh worker after the reload")
        log.info("HAProxy reloaded (%s reloads)", table["reloads"])

    def apply(self, text):
        """Install and serve `text`; False when it was already served."""
        master = self.running_master()
        current = CONFIG.read_text() if CONFIG.exists() else None
        if current == text and master is not None:
            return False
        self.prepare()
        CANDIDATE.write_text(text)
        for warning in self.check(CANDIDATE):
            log.warning("haproxy -c: %s", warning)
        with open(CANDIDATE, "rb") as f:
            os.fsync(f.fileno())
        os.replace(CANDIDATE, CONFIG)
        if master is None:
            self.start()
        else:
            self.reload(master)
        return True


class HaproxyBaselineCharm(ops.CharmBase):
    def __init__(self, framework):
        super().__init__(framework)
        self.lb_consumers = LBConsumers(self, ENDPOINT)
        self.haproxy = HAProxy()
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(Path(self.charm_dir) / "templates")),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            autoescape=False,
        )
        for event in (
            self.on.install,
            self.on.start,
            self.on.config_changed,
            self.on.upgrade_charm,
            self.on.leader_elected,
            self.on.update_status,
            self.on[ENDPOINT].relation_created,
            self.on[ENDPOINT].relation_joined,
            self.on[ENDPOINT].relation_changed,
            self.on[ENDPOINT].relation_departed,
            self.on[ENDPOINT].relation_broken,
        ):
            self.framework.observe(event, self._reconcile)

    def _address(self):
        binding = self.model.get_binding(ENDPOINT)
        return str(binding.network.ingress_address)

    def _reconcile(self, event):
        if shutil.which("haproxy") is None and not Path(HAPROXY).exists():
            subprocess.run(["apt-get", "install", "-y", "haproxy"], check=True)
        requests = self.lb_consumers.all_requests
        taken_ports = set()
        services, failures = [], {}
        for request in requests:
            try:
                services.append(service_from(request, taken_ports))
            except Invalid as e:
                log.warning("request %s: %s", request.name, e)
                failures[request.id] = e
        services = [s for s in services if s["servers"]]
        text = self.templates.get_template("haproxy.cfg.j2").render(
            maxconn=int(self.config["global_maxconn"]),
            admin_socket=ADMIN_SOCKET,
            server_state=SERVER_STATE,
            chroot=CHROOT,
            services=services,
        )
        try:
            changed = self.haproxy.apply(text)
        except RuntimeError as e:
            log.error("%s", e)
            self.unit.status = ops.BlockedStatus(str(e).splitlines()[0][:120])
            return
        if changed:
            log.info("haproxy.cfg changed: %d services", len(services))
        address = self._address()
        for request in self.lb_consumers.new_requests:
            response = request.response
            failure = failures.get(request.id)
            if failure is None:
                response.address = address
            elif failure.field is None:
                response.error = response.error_types.provider_error
                response.error_message = failure.reason
            else:
                response.error = response.error_types.unsupported
                response.error_fields = {failure.field: failure.reason}
            self.lb_consumers.send_response(request)
        for request in self.lb_consumers.removed_requests:
            self.lb_consumers.revoke_response(request)
        message = "{} services".format(len(services))
        if failures:
            message += "; {} requests refused".format(len(failures))
        self.unit.status = ops.ActiveStatus(message)


if __name__ == "__main__":
    ops.main(HaproxyBaselineCharm)
