//! `haproxy.cfg` from a `LoadBalancerPlan`, through the askama template `templates/haproxy.cfg`.
//!
//! askama cannot escape for HAProxy (`spec/haproxy.md` §5, §9.11: `escape = "none"`), so the
//! template only prints validated plan types, enums and integers; the small view structs here
//! decide *which* lines appear (mode, log format, check parameters) and never build text from
//! anything that is not already validated. Rendering is pure: the same plan and files give the
//! same bytes. This module never touches files or processes.

use crate::plan::{
    Backend, Balance, Fqdn, Frontend, HealthCheck, Host, HostPort, HttpPath, LoadBalancerPlan,
    Mode, Port, Probe, ProbeKind, ProxyOption, Route, Server, Stickiness, TlsBind,
};
use crate::plan::{FilePath, ProxyName, StatsListener, UserName};
use askama::Template;
use std::fmt;

/// Files and identities the `global` section names. Built by `haproxy::Paths::runtime_files`,
/// validated as [`FilePath`]s so a temp-dir path in a test is as safe as a Debian one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeFiles {
    /// `stats socket <path> mode 600 level admin` (the worker runtime API).
    pub admin_socket: FilePath,
    /// `server-state-file` (`haproxy.md` §4).
    pub server_state: FilePath,
    /// `chroot <dir>`; `None` only where chroot is impossible.
    pub chroot: Option<FilePath>,
    /// `user` / `group` the worker drops to; `None` keeps the master's.
    pub user: Option<UserName>,
    pub group: Option<UserName>,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("rendering haproxy.cfg failed: {0}")]
    Template(#[from] askama::Error),
}

/// Render the whole configuration.
pub fn render(plan: &LoadBalancerPlan, files: &RuntimeFiles) -> Result<String, RenderError> {
    let default_mode = plan.global.default_mode;
    let template = HaproxyCfg {
        plan,
        files,
        default_options: plan
            .global
            .default_option_names
            .iter()
            .copied()
            .filter(|o| default_mode == Mode::Http || !o.http_only())
            .map(|o| match (o, default_mode) {
                (ProxyOption::Tcplog, Mode::Http) => ProxyOption::Httplog,
                (other, _) => other,
            })
            .collect(),
        frontends: plan
            .frontends
            .iter()
            .map(|fe| FrontendView::new(fe, plan))
            .collect(),
        backends: plan
            .backends
            .iter()
            .map(|be| BackendView::new(be, default_mode))
            .collect(),
        stats: plan.stats.as_ref().map(|s| StatsView {
            name: StatsListener::frontend_name(),
            listener: s,
            show_mode: default_mode != Mode::Http,
        }),
    };
    let mut text = template.render()?;
    // askama drops the template's final newline; HAProxy refuses a last line without one.
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

#[derive(Template)]
#[template(path = "haproxy.cfg", escape = "none")]
struct HaproxyCfg<'a> {
    plan: &'a LoadBalancerPlan,
    files: &'a RuntimeFiles,
    default_options: Vec<ProxyOption>,
    frontends: Vec<FrontendView<'a>>,
    backends: Vec<BackendView<'a>>,
    stats: Option<StatsView<'a>>,
}

struct FrontendView<'a> {
    fe: &'a Frontend,
    /// `mode` is written only when it differs from `defaults`.
    show_mode: bool,
    /// `option tcplog` on a tcp frontend when `defaults` logs http (`haproxy.md` §8), and the
    /// other way round.
    log_option: Option<ProxyOption>,
    is_http: bool,
    /// `alpn h2,http/1.1` only where HAProxy speaks HTTP.
    tls: Option<TlsView<'a>>,
    routes: Vec<RouteView<'a>>,
}

impl<'a> FrontendView<'a> {
    fn new(fe: &'a Frontend, plan: &LoadBalancerPlan) -> Self {
        let default_mode = plan.global.default_mode;
        let defaults_log_http = plan
            .global
            .default_option_names
            .iter()
            .any(|o| matches!(o, ProxyOption::Httplog | ProxyOption::Tcplog));
        let log_option = match (fe.mode, default_mode) {
            (Mode::Tcp, Mode::Http) if defaults_log_http => Some(ProxyOption::Tcplog),
            (Mode::Http, Mode::Tcp) if defaults_log_http => Some(ProxyOption::Httplog),
            _ => None,
        };
        FrontendView {
            fe,
            show_mode: fe.mode != default_mode,
            log_option,
            is_http: fe.mode == Mode::Http,
            tls: fe.tls.as_ref().map(|tls| TlsView {
                tls,
                alpn: fe.mode == Mode::Http,
            }),
            routes: fe
                .routes
                .iter()
                .map(|r| match r {
                    Route::Host { fqdn, backend } => RouteView {
                        backend,
                        host: HostMatch(fqdn),
                    },
                })
                .collect(),
        }
    }
}

/// The TLS words of a `bind` line: `ssl crt <file>...` or `ssl crt-list <file>`.
struct TlsView<'a> {
    tls: &'a TlsBind,
    alpn: bool,
}

impl fmt::Display for TlsView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(" ssl")?;
        match self.tls {
            TlsBind::Certificates(files) => {
                for file in files {
                    write!(f, " crt {file}")?;
                }
            }
            TlsBind::CrtList(file) => write!(f, " crt-list {file}")?,
        }
        if self.alpn {
            f.write_str(" alpn h2,http/1.1")?;
        }
        Ok(())
    }
}

struct RouteView<'a> {
    backend: &'a ProxyName,
    host: HostMatch<'a>,
}

/// The ACL words matching a `Host` header against an [`Fqdn`]: exact, or by suffix for
/// `*.example.com` (the suffix is a slice of the validated name, so still safe).
struct HostMatch<'a>(&'a Fqdn);

impl fmt::Display for HostMatch<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.0.as_str();
        match name.strip_prefix('*') {
            Some(suffix) => write!(f, "-m end {suffix}"),
            None => write!(f, "-m str {name}"),
        }
    }
}

struct BackendView<'a> {
    be: &'a Backend,
    show_mode: bool,
    balance: Option<Balance>,
    cookie: Option<&'a crate::plan::CookieName>,
    stick_table: bool,
    httpchk: Option<&'a crate::plan::HttpPath>,
    /// Explicit probe sequence (`HealthCheck::probes`), one line each.
    probe_lines: Vec<ProbeLine<'a>>,
    servers: Vec<ServerLine<'a>>,
}

/// One line of an explicit health-check sequence, always a `tcp-check` ruleset (verified on
/// 2.6: `tcp-check connect` steps may follow each other, each must succeed, and a failed step
/// marks the server down "at step N"; `http-check` refuses a bare connect step before another
/// connect, "missing expect rule"). Only ports and validated paths are printed; a path has no
/// `"`, `$`, `%` or `\` (`HttpPath`), so it is inert inside the double-quoted request.
enum ProbeLine<'a> {
    OptionTcpCheck,
    Connect { port: Port, ssl: bool },
    SendGet(&'a HttpPath),
    ExpectHttpSuccess,
}

impl fmt::Display for ProbeLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProbeLine::OptionTcpCheck => f.write_str("option tcp-check"),
            ProbeLine::Connect { port, ssl } => {
                write!(f, "tcp-check connect port {port}")?;
                if *ssl {
                    f.write_str(" ssl")?;
                }
                Ok(())
            }
            ProbeLine::SendGet(path) => {
                write!(f, "tcp-check send \"GET {path} HTTP/1.0\\r\\n\\r\\n\"")
            }
            // Any 2xx or 3xx status line.
            ProbeLine::ExpectHttpSuccess => {
                f.write_str("tcp-check expect rstring ^HTTP/1\\.[01]\\ [23]")
            }
        }
    }
}

/// The rules for a probe list: a connect step per probe, plus a GET and a status check for
/// HTTP(S) probes.
fn probe_lines(probes: &[Probe]) -> Vec<ProbeLine<'_>> {
    if probes.is_empty() {
        return Vec::new();
    }
    let mut lines = vec![ProbeLine::OptionTcpCheck];
    for probe in probes {
        let (ssl, path) = match &probe.kind {
            ProbeKind::Connect => (false, None),
            ProbeKind::Http { path } => (false, Some(path)),
            ProbeKind::Https { path } => (true, Some(path)),
        };
        lines.push(ProbeLine::Connect {
            port: probe.port,
            ssl,
        });
        if let Some(path) = path {
            lines.push(ProbeLine::SendGet(path));
            lines.push(ProbeLine::ExpectHttpSuccess);
        }
    }
    lines
}

impl<'a> BackendView<'a> {
    fn new(be: &'a Backend, default_mode: Mode) -> Self {
        // Cookies need HTTP; a tcp backend asked to stick gets the source-address table
        // (`haproxy.md` §8: sticky HTTP -> cookie, sticky TCP -> stick table).
        let (cookie, stick_table) = match (&be.stickiness, be.mode) {
            (Some(Stickiness::Cookie(name)), Mode::Http) => (Some(name), false),
            (Some(_), _) => (None, true),
            (None, _) => (None, false),
        };
        BackendView {
            be,
            show_mode: be.mode != default_mode,
            balance: be.balance,
            cookie,
            stick_table,
            httpchk: be
                .health_check
                .as_ref()
                .filter(|hc| hc.probes.is_empty())
                .and_then(|hc| hc.path.as_ref()),
            probe_lines: be
                .health_check
                .as_ref()
                .map(|hc| probe_lines(&hc.probes))
                .unwrap_or_default(),
            servers: be
                .servers
                .iter()
                .map(|server| ServerLine {
                    server,
                    check: be.health_check.as_ref(),
                    cookie: cookie.is_some(),
                })
                .collect(),
        }
    }
}

/// One `server` line: name, address, then check, weight, cookie, resolver and allow-listed
/// options, each only when it applies.
struct ServerLine<'a> {
    server: &'a Server,
    check: Option<&'a HealthCheck>,
    cookie: bool,
}

impl fmt::Display for ServerLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Server {
            name,
            host,
            port,
            weight,
            check,
            options,
        } = self.server;
        write!(f, "server {name} {}", HostPort(host, *port))?;
        if *check {
            f.write_str(" check")?;
            if let Some(hc) = self.check {
                write!(
                    f,
                    " inter {}s fall {} rise {}",
                    hc.interval_s, hc.fall, hc.rise
                )?;
                // TLS probes skip verification (backends such as kube-apiserver use their own
                // CA); HAProxy refuses the config without it (`verify is enabled by default`).
                if hc
                    .probes
                    .iter()
                    .any(|p| matches!(p.kind, ProbeKind::Https { .. }))
                {
                    f.write_str(" verify none")?;
                }
            }
        }
        if let Some(weight) = weight {
            write!(f, " weight {weight}")?;
        }
        if self.cookie {
            write!(f, " cookie {name}")?;
        }
        if let Host::Name(_) = host {
            // A name that does not resolve must not fail the whole config (`haproxy.md` §2, §5).
            f.write_str(" init-addr last,libc,none")?;
        }
        for option in options {
            write!(f, " {option}")?;
        }
        Ok(())
    }
}

struct StatsView<'a> {
    name: ProxyName,
    listener: &'a StatsListener,
    show_mode: bool,
}

/// The source networks of the stats listener, space separated.
struct CidrList<'a>(&'a [crate::plan::Cidr]);

impl fmt::Display for CidrList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, cidr) in self.0.iter().enumerate() {
            if n > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{cidr}")?;
        }
        Ok(())
    }
}

impl StatsView<'_> {
    fn allowed(&self) -> CidrList<'_> {
        CidrList(&self.listener.allowed)
    }
}
