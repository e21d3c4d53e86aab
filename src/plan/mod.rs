//! The load-balancer plan: one interface-agnostic, validated description of what HAProxy serves.
//!
//! Interfaces (`crate::interfaces::*`) and the charm config turn their input into
//! [`ServiceRequest`]s; only [`build`] sees all of them at once, resolves conflicts between them
//! (a port or a backend name claimed twice) in precedence order and produces the
//! [`LoadBalancerPlan`] that `crate::render` prints. Every value in the plan is a validated type
//! from [`types`] or [`directive`], so a plan cannot describe a config that injects directives.
//! Building is deterministic: the same requests give the same plan, hence the same bytes.
//!
//! This module never reads Juju or touches HAProxy processes.

pub mod build;
pub mod directive;
pub mod types;

pub use build::build;
pub use directive::{Directive, Placement, ServerOption};
pub use types::*;

use serde::Serialize;
use std::fmt;

/// Who asked for something: used in every rejection and log line, and to order requests.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Source {
    /// The operator's charm config (an option name, e.g. `services`).
    Config { option: String },
    /// A remote unit on a relation, e.g. `reverseproxy:3` / `web/1`.
    Unit { relation: String, unit: String },
    /// A remote application's bag on a relation, e.g. `lb-consumers:4` / `kubernetes-control-plane`,
    /// with the request name inside the bag when there is one.
    App {
        relation: String,
        app: String,
        request: Option<String>,
    },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Config { option } => write!(f, "config {option}"),
            Source::Unit { unit, .. } => write!(f, "{unit}"),
            Source::App {
                app,
                request: Some(request),
                ..
            } => write!(f, "{app} request {request}"),
            Source::App { app, .. } => write!(f, "{app}"),
        }
    }
}

/// A request or part of one that was refused. It names the source, the field and the problem;
/// it never holds a secret (callers pass `show`n values only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    pub source: Source,
    /// The service or request the problem is in, when known.
    pub service: Option<String>,
    /// The field, e.g. `port`, `services[0].service_options`.
    pub field: String,
    /// What is wrong, e.g. `'http' is not a port number 1-65535`.
    pub reason: String,
}

impl fmt::Display for Rejection {
    /// `<unit or config>: [<service>: ]<field> <problem>`, the form `spec/http.md` §9 item 25
    /// and §8 D show (`web/2: port 'http' is not a number 1-65535`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The service name and the field can be raw requester text: a control character in
        // them would split the status line or forge a log line (issue 10 item 2), so such a
        // name is shown escaped.
        let safe = types::one_line;
        write!(f, "{}: ", self.source)?;
        if let Some(service) = &self.service {
            write!(f, "{}: ", safe(service))?;
        }
        write!(f, "{} {}", safe(&self.field), safe(&self.reason))
    }
}

/// Which interface a request came from; also its precedence in [`build`] (config first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Origin {
    Config,
    Http,
    LoadBalancer,
    SslTermination,
}

/// A proposal for one service: the frontends that accept its traffic and the backends behind
/// them. Requests are given to [`build`] in precedence order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceRequest {
    pub origin: Origin,
    pub source: Source,
    /// The name the requester knows the service by (classic `service_name`, loadbalancer
    /// request name); used in messages and answers.
    pub service: String,
    pub frontends: Vec<Frontend>,
    pub backends: Vec<Backend>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Mode {
    Http,
    Tcp,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Http => "http",
            Mode::Tcp => "tcp",
        })
    }
}

/// Where a frontend listens. `None` host = every address (`bind :port`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Bind {
    pub host: Option<std::net::IpAddr>,
    pub port: Port,
}

impl fmt::Display for Bind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.host {
            None => write!(f, ":{}", self.port),
            Some(std::net::IpAddr::V6(ip)) => write!(f, "[{ip}]:{}", self.port),
            Some(std::net::IpAddr::V4(ip)) => write!(f, "{ip}:{}", self.port),
        }
    }
}

/// TLS on a bind line: certificates the charm wrote itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum TlsBind {
    /// One or more PEM files (chain + key), `crt <file>` each.
    Certificates(Vec<FilePath>),
    /// A generated crt-list (`crt-list <file>`), for SNI across many certificates.
    CrtList(FilePath),
}

/// How a frontend picks a backend beyond its default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Route {
    /// `use_backend <backend> if { req.hdr(host),field(1,:),lower -m str <fqdn> }`.
    Host { fqdn: Fqdn, backend: ProxyName },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Frontend {
    pub name: ProxyName,
    pub bind: Bind,
    pub mode: Mode,
    pub tls: Option<TlsBind>,
    /// Allow-listed directives that belong in the frontend (classic placement, `http.md` §3).
    pub directives: Vec<Directive>,
    pub routes: Vec<Route>,
    pub default_backend: Option<ProxyName>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Balance {
    RoundRobin,
    LeastConn,
    Source,
}

impl fmt::Display for Balance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Balance::RoundRobin => "roundrobin",
            Balance::LeastConn => "leastconn",
            Balance::Source => "source",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Stickiness {
    /// HTTP: `cookie <name> insert indirect nocache httponly` + `cookie <server>` per server.
    Cookie(CookieName),
    /// TCP: a stick table on the source address.
    SourceIp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthCheck {
    /// `option httpchk GET <path>` in http mode (or when a path is set); plain `check` otherwise.
    pub path: Option<HttpPath>,
    /// Seconds between checks (`inter`), failures to mark down (`fall`), successes to mark up.
    pub interval_s: u32,
    pub fall: u32,
    pub rise: u32,
    /// Explicit probes, each on its own port, all of which must pass for the server to be up
    /// (loadbalancer `health_checks`, `spec/loadbalancer.md` §2; HAProxy 2.2+ `tcp-check` /
    /// `http-check connect port <p> [ssl]` sequences). Empty: the single check described by
    /// `path` on the server's own port.
    pub probes: Vec<Probe>,
}

/// One health probe of a server, on a port that may differ from the traffic port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Probe {
    pub port: Port,
    pub kind: ProbeKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum ProbeKind {
    /// A TCP connect (L4) check.
    Connect,
    /// `GET <path>` over plain HTTP; any 2xx/3xx status passes.
    Http { path: HttpPath },
    /// `GET <path>` over TLS without certificate verification (`ssl verify none`): backends
    /// such as kube-apiserver serve only TLS on the checked port (`spec/loadbalancer.md` §7).
    Https { path: HttpPath },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Backend {
    pub name: ProxyName,
    pub mode: Mode,
    /// `None`: leave the choice to allow-listed directives or HAProxy's default (roundrobin).
    pub balance: Option<Balance>,
    pub stickiness: Option<Stickiness>,
    pub health_check: Option<HealthCheck>,
    /// Allow-listed directives that belong in backends (classic placement).
    pub directives: Vec<Directive>,
    /// Raw HTTP error responses the charm wrote to files (`errorfile <status> <file>`).
    pub errorfiles: Vec<(u16, FilePath)>,
    pub servers: Vec<Server>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Server {
    pub name: ServerName,
    pub host: Host,
    pub port: Port,
    /// 0-256 (`weight`); `None` = HAProxy's default of 1.
    pub weight: Option<u16>,
    /// Health-check the server (`check`).
    pub check: bool,
    /// Allow-listed server options (classic `server_options`, `servers[][3]`).
    pub options: Vec<ServerOption>,
}

/// A userlist for basic auth; passwords only as SHA-512 crypt hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Userlist {
    pub name: ProxyName,
    pub users: Vec<(UserName, CryptHash)>,
}

/// Settings from the charm config that shape `global` and `defaults`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GlobalSettings {
    pub maxconn: u32,
    pub hard_stop_after: TimeValue,
    /// `defaults` timeouts: (name, value), e.g. ("connect", "5s"); names allow-listed.
    pub timeouts: Vec<(TimeoutName, TimeValue)>,
    pub default_mode: Mode,
    /// Allow-listed `option ...` lines for `defaults`.
    pub default_options: Vec<Directive>,
    /// `option <name>` lines for `defaults` from the `default_options` charm option: the names
    /// are an enum, so nothing else can be printed (`option httplog`, `option redispatch`...).
    pub default_option_names: Vec<ProxyOption>,
    /// `retries` in `defaults` (connection attempts to a server before giving up).
    pub retries: u32,
    /// TLS bind options added after `ssl-min-ver TLSv1.2` in `ssl-default-bind-options`.
    pub bind_options: Vec<TlsBindOption>,
}

impl Default for GlobalSettings {
    /// The classic charm's defaults (`config.yaml`): maxconn 4096, `hard-stop-after 5m`,
    /// `queue 20000, client 50000, connect 5000, server 50000`, httplog/dontlognull/redispatch.
    fn default() -> Self {
        let time = |t: &str| {
            TimeValue::new(t).unwrap_or_else(|e| unreachable!("built-in time value {t}: {e}"))
        };
        GlobalSettings {
            maxconn: 4096,
            hard_stop_after: time("5m"),
            timeouts: vec![
                (TimeoutName::Queue, time("20000")),
                (TimeoutName::Client, time("50000")),
                (TimeoutName::Connect, time("5000")),
                (TimeoutName::Server, time("50000")),
            ],
            default_mode: Mode::Http,
            default_options: Vec::new(),
            default_option_names: vec![
                ProxyOption::Httplog,
                ProxyOption::Dontlognull,
                ProxyOption::Redispatch,
            ],
            retries: 3,
            bind_options: vec![TlsBindOption::NoTlsTickets],
        }
    }
}

/// The `option` names the `default_options` charm option may list (an allow-list, no free
/// text). `httplog`/`tcplog` follow the proxy's mode when rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum ProxyOption {
    Httplog,
    Tcplog,
    Dontlognull,
    Redispatch,
    Forwardfor,
    HttpServerClose,
    HttpKeepAlive,
    Abortonclose,
    LogHealthChecks,
    Tcpka,
    Clitcpka,
    Srvtcpka,
    DontlogNormal,
}

impl ProxyOption {
    pub const ALL: [ProxyOption; 13] = [
        ProxyOption::Httplog,
        ProxyOption::Tcplog,
        ProxyOption::Dontlognull,
        ProxyOption::Redispatch,
        ProxyOption::Forwardfor,
        ProxyOption::HttpServerClose,
        ProxyOption::HttpKeepAlive,
        ProxyOption::Abortonclose,
        ProxyOption::LogHealthChecks,
        ProxyOption::Tcpka,
        ProxyOption::Clitcpka,
        ProxyOption::Srvtcpka,
        ProxyOption::DontlogNormal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProxyOption::Httplog => "httplog",
            ProxyOption::Tcplog => "tcplog",
            ProxyOption::Dontlognull => "dontlognull",
            ProxyOption::Redispatch => "redispatch",
            ProxyOption::Forwardfor => "forwardfor",
            ProxyOption::HttpServerClose => "http-server-close",
            ProxyOption::HttpKeepAlive => "http-keep-alive",
            ProxyOption::Abortonclose => "abortonclose",
            ProxyOption::LogHealthChecks => "log-health-checks",
            ProxyOption::Tcpka => "tcpka",
            ProxyOption::Clitcpka => "clitcpka",
            ProxyOption::Srvtcpka => "srvtcpka",
            ProxyOption::DontlogNormal => "dontlog-normal",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        ProxyOption::ALL.into_iter().find(|o| o.as_str() == text)
    }

    /// Options that only make sense on an HTTP proxy (HAProxy warns about them in tcp mode).
    pub fn http_only(self) -> bool {
        matches!(
            self,
            ProxyOption::Httplog
                | ProxyOption::Forwardfor
                | ProxyOption::HttpServerClose
                | ProxyOption::HttpKeepAlive
        )
    }
}

impl fmt::Display for ProxyOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// TLS options an operator may add to `ssl-default-bind-options` (`global_default_bind_options`);
/// `ssl-min-ver TLSv1.2` is always there, so none of these can weaken it. (`strict-sni` is a
/// per-bind keyword: HAProxy 2.6 refuses it in `ssl-default-bind-options`.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum TlsBindOption {
    NoTlsTickets,
    NoTlsv10,
    NoTlsv11,
    NoSslv3,
    PreferClientCiphers,
}

impl TlsBindOption {
    pub const ALL: [TlsBindOption; 5] = [
        TlsBindOption::NoTlsTickets,
        TlsBindOption::NoTlsv10,
        TlsBindOption::NoTlsv11,
        TlsBindOption::NoSslv3,
        TlsBindOption::PreferClientCiphers,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TlsBindOption::NoTlsTickets => "no-tls-tickets",
            TlsBindOption::NoTlsv10 => "no-tlsv10",
            TlsBindOption::NoTlsv11 => "no-tlsv11",
            TlsBindOption::NoSslv3 => "no-sslv3",
            TlsBindOption::PreferClientCiphers => "prefer-client-ciphers",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        TlsBindOption::ALL.into_iter().find(|o| o.as_str() == text)
    }
}

impl fmt::Display for TlsBindOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `timeout` kinds the `defaults` section may set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum TimeoutName {
    Connect,
    Client,
    Server,
    HttpRequest,
    HttpKeepAlive,
    Queue,
    Check,
    Tunnel,
    ClientFin,
    ServerFin,
}

impl TimeoutName {
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "connect" => TimeoutName::Connect,
            "client" => TimeoutName::Client,
            "server" => TimeoutName::Server,
            "http-request" => TimeoutName::HttpRequest,
            "http-keep-alive" => TimeoutName::HttpKeepAlive,
            "queue" => TimeoutName::Queue,
            "check" => TimeoutName::Check,
            "tunnel" => TimeoutName::Tunnel,
            "client-fin" => TimeoutName::ClientFin,
            "server-fin" => TimeoutName::ServerFin,
            _ => return None,
        })
    }
}

impl fmt::Display for TimeoutName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeoutName::Connect => "connect",
            TimeoutName::Client => "client",
            TimeoutName::Server => "server",
            TimeoutName::HttpRequest => "http-request",
            TimeoutName::HttpKeepAlive => "http-keep-alive",
            TimeoutName::Queue => "queue",
            TimeoutName::Check => "check",
            TimeoutName::Tunnel => "tunnel",
            TimeoutName::ClientFin => "client-fin",
            TimeoutName::ServerFin => "server-fin",
        })
    }
}

/// The local stats page and Prometheus metrics (`haproxy.md` §8 `fe_stats`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsListener {
    pub bind: Bind,
    pub userlist: ProxyName,
    /// Source networks allowed to reach it (`monitoring_allowed_cidr`), already validated.
    pub allowed: Vec<Cidr>,
    /// `stats refresh` in seconds (`monitoring_stats_refresh`); `None` = no auto-refresh.
    pub refresh_s: Option<u32>,
}

impl StatsListener {
    /// The frontend name the stats listener is rendered under; `build` reserves it.
    pub fn frontend_name() -> ProxyName {
        ProxyName::new("fe_stats").unwrap_or_else(|e| unreachable!("built-in name: {e}"))
    }
}

/// An IPv4 or IPv6 network in CIDR form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Cidr {
    pub addr: std::net::IpAddr,
    pub prefix: u8,
}

impl Cidr {
    pub const EXPECTED: &'static str = "an address or network such as 10.0.0.0/8 or ::1/128";

    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        let bad = || InvalidValue::new(text, Cidr::EXPECTED);
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr: std::net::IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().map_err(|_| bad())?
            }
            Some(_) => return Err(bad()),
        };
        if prefix > max {
            return Err(bad());
        }
        Ok(Cidr { addr, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Everything HAProxy will serve, validated and conflict-free.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadBalancerPlan {
    pub global: GlobalSettings,
    /// Sorted by name.
    pub frontends: Vec<Frontend>,
    /// Sorted by name.
    pub backends: Vec<Backend>,
    pub userlists: Vec<Userlist>,
    pub stats: Option<StatsListener>,
    /// The services that made it into the plan, with their source, for answers and status.
    pub services: Vec<PlannedService>,
}

/// A request that was accepted, and where it is served.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedService {
    pub origin: Origin,
    pub source: Source,
    pub service: String,
    pub frontends: Vec<ProxyName>,
    pub binds: Vec<Bind>,
    pub backends: Vec<ProxyName>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_parses_networks_and_hosts() {
        assert_eq!(
            Cidr::parse("10.0.0.0/8").map(|c| c.to_string()),
            Ok("10.0.0.0/8".to_string())
        );
        assert_eq!(Cidr::parse("127.0.0.1").map(|c| c.prefix), Ok(32));
        assert_eq!(Cidr::parse("::1").map(|c| c.prefix), Ok(128));
        for bad in [
            "10.0.0.0/33",
            "10.0.0.0/",
            "x/8",
            "10.0.0.0/8 ",
            "10.0.0.0/+8",
            "",
        ] {
            assert!(Cidr::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bind_renders_wildcard_v4_and_v6() {
        let port = Port::new(80).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(Bind { host: None, port }.to_string(), ":80");
        let v6 = Bind {
            host: Some("::1".parse().unwrap_or_else(|e| panic!("{e}"))),
            port,
        };
        assert_eq!(v6.to_string(), "[::1]:80");
    }

    #[test]
    fn rejection_names_source_service_and_field() {
        let r = Rejection {
            source: Source::Unit {
                relation: "reverseproxy:1".into(),
                unit: "web/2".into(),
            },
            service: None,
            field: "port".into(),
            reason: "'http' is not a number 1-65535".into(),
        };
        assert_eq!(r.to_string(), "web/2: port 'http' is not a number 1-65535");
    }
}
