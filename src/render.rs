//! `haproxy.cfg` from a `LoadBalancerPlan`, through the askama template `templates/haproxy.cfg`.
//!
//! askama cannot escape for HAProxy (`spec/haproxy.md` §5, §9.11: `escape = "none"`), so the
//! template only prints validated plan types, enums and integers; the small view structs here
//! decide *which* lines appear (mode, log format, check parameters) and never build text from
//! anything that is not already validated. Rendering is pure: the same plan and files give the
//! same bytes. This module never touches files or processes.

use crate::plan::{
    Backend, Balance, Fqdn, Frontend, HealthCheck, Host, HostPort, HttpPath, LoadBalancerPlan,
    Mode, Port, ProbeKind, ProxyOption, Route, Server, Stickiness, TlsBind,
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
    httpchk: Option<&'a HttpPath>,
    /// Explicit probes (`HealthCheck::probes`): a `tcp-check` sequence that must pass entirely.
    probes: Vec<ProbeView<'a>>,
    servers: Vec<ServerLine<'a>>,
}

/// One step of a `tcp-check` sequence: connect to `port` (over TLS when `ssl`), and for HTTP
/// probes send `GET <path>` and expect a 2xx/3xx status line. The path is a validated
/// [`HttpPath`] (no quote, `$`, `%` or backslash), so it is safe inside the double quotes.
struct ProbeView<'a> {
    port: Port,
    ssl: bool,
    path: Option<&'a HttpPath>,
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
        let probes: Vec<ProbeView<'a>> = be
            .health_check
            .iter()
            .flat_map(|hc| hc.probes.iter())
            .map(|probe| match &probe.kind {
                ProbeKind::Connect => ProbeView {
                    port: probe.port,
                    ssl: false,
                    path: None,
                },
                ProbeKind::Http { path } => ProbeView {
                    port: probe.port,
                    ssl: false,
                    path: Some(path),
                },
                ProbeKind::Https { path } => ProbeView {
                    port: probe.port,
                    ssl: true,
                    path: Some(path),
                },
            })
            .collect();
        // TLS probes do not verify (`spec/loadbalancer.md` §7: kube-apiserver's /livez over
        // TLS); without `verify none` HAProxy refuses a server with no CA file.
        let check_tls_unverified = probes.iter().any(|p| p.ssl);
        BackendView {
            be,
            show_mode: be.mode != default_mode,
            balance: be.balance,
            cookie,
            stick_table,
            // Probes replace the single check on the traffic port.
            httpchk: be
                .health_check
                .as_ref()
                .filter(|hc| hc.probes.is_empty())
                .and_then(|hc| hc.path.as_ref()),
            probes,
            servers: be
                .servers
                .iter()
                .map(|server| ServerLine {
                    server,
                    check: be.health_check.as_ref(),
                    cookie: cookie.is_some(),
                    check_tls_unverified,
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
    check_tls_unverified: bool,
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
            }
        }
        if let Some(weight) = weight {
            write!(f, " weight {weight}")?;
        }
        if self.cookie {
            write!(f, " cookie {name}")?;
        }
        if self.check_tls_unverified {
            f.write_str(" verify none")?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::*;

    fn files() -> RuntimeFiles {
        RuntimeFiles {
            admin_socket: FilePath::new("/run/haproxy/admin.sock").unwrap(),
            server_state: FilePath::new("/run/haproxy/server-state").unwrap(),
            chroot: None,
            user: None,
            group: None,
        }
    }

    fn plan_with(mode: Mode, stickiness: Option<Stickiness>) -> LoadBalancerPlan {
        let be = Backend {
            name: ProxyName::new("be_x").unwrap(),
            mode,
            balance: None,
            stickiness,
            health_check: None,
            directives: vec![],
            errorfiles: vec![],
            servers: vec![Server {
                name: ServerName::new("x-0").unwrap(),
                host: Host::parse("x.internal").unwrap(),
                port: Port::new(80).unwrap(),
                weight: Some(0),
                check: false,
                options: vec![],
            }],
        };
        LoadBalancerPlan {
            global: GlobalSettings::default(),
            frontends: vec![Frontend {
                name: ProxyName::new("fe_x").unwrap(),
                bind: Bind {
                    host: None,
                    port: Port::new(80).unwrap(),
                },
                mode,
                tls: None,
                directives: vec![],
                routes: vec![],
                default_backend: Some(be.name.clone()),
            }],
            backends: vec![be],
            userlists: vec![],
            stats: None,
            services: vec![],
        }
    }

    fn lines(plan: &LoadBalancerPlan) -> Vec<String> {
        render(plan, &files())
            .unwrap()
            .lines()
            .map(|l| l.trim().to_owned())
            .collect()
    }

    #[test]
    fn tcp_proxies_say_mode_tcp_and_log_with_tcplog() {
        let l = lines(&plan_with(Mode::Tcp, None));
        assert!(l.contains(&"mode tcp".to_owned()));
        assert!(l.contains(&"option tcplog".to_owned()));
        assert!(!l.contains(&"option forwardfor".to_owned()));
    }

    #[test]
    fn http_proxies_in_http_defaults_repeat_nothing() {
        let l = lines(&plan_with(Mode::Http, None));
        assert_eq!(
            l.iter().filter(|x| *x == "mode http").count(),
            1,
            "only in defaults"
        );
        assert!(l.contains(&"option forwardfor".to_owned()));
    }

    #[test]
    fn cookie_stickiness_in_tcp_mode_falls_back_to_a_stick_table() {
        let cookie = Some(Stickiness::Cookie(CookieName::new("SRV").unwrap()));
        let l = lines(&plan_with(Mode::Tcp, cookie.clone()));
        assert!(l.contains(&"stick on src".to_owned()));
        assert!(!l.iter().any(|x| x.starts_with("cookie ")));
        let l = lines(&plan_with(Mode::Http, cookie));
        assert!(l.contains(&"cookie SRV insert indirect nocache httponly".to_owned()));
        assert!(l
            .iter()
            .any(|x| x.starts_with("server x-0 ") && x.contains(" cookie x-0")));
    }

    #[test]
    fn server_names_get_init_addr_and_unchecked_servers_no_check() {
        let l = lines(&plan_with(Mode::Http, None));
        assert!(
            l.contains(&"server x-0 x.internal:80 weight 0 init-addr last,libc,none".to_owned()),
            "{l:?}"
        );
    }

    #[test]
    fn tcp_defaults_drop_http_only_options() {
        let mut plan = plan_with(Mode::Tcp, None);
        plan.global.default_mode = Mode::Tcp;
        plan.global.default_option_names = vec![ProxyOption::Httplog, ProxyOption::Forwardfor];
        let l = lines(&plan);
        assert!(!l.contains(&"option httplog".to_owned()));
        assert!(!l.contains(&"option forwardfor".to_owned()));
    }

    #[test]
    fn stats_without_allowed_networks_rejects_everyone() {
        let mut plan = plan_with(Mode::Http, None);
        plan.stats = Some(StatsListener {
            bind: Bind {
                host: None,
                port: Port::new(10000).unwrap(),
            },
            userlist: ProxyName::new("ul_stats").unwrap(),
            allowed: vec![],
            refresh_s: None,
        });
        let l = lines(&plan);
        assert!(l.contains(&"tcp-request connection reject".to_owned()));
        assert!(!l.iter().any(|x| x.starts_with("stats refresh")));
    }

    #[test]
    fn output_ends_with_a_newline() {
        assert!(render(&plan_with(Mode::Http, None), &files())
            .unwrap()
            .ends_with("\n"));
    }
}
