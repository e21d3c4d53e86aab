//! The HAProxy shape of the ssl-termination sites (`spec/ssl-termination.md` §4.4, §5): one
//! plan request holding the shared `ssl-termination-http` / `-https` frontends, the 421
//! backend and one backend per routed site, the userlists, and the crt-list text.
//!
//! A site is *routed* when a certificate for it is on disk (ACME, or the self-signed
//! fallback); the caller decides that. Pure: no files, no processes.

use super::Site;
use crate::plan::{
    Backend, Balance, Bind, CryptHash, Directive, FilePath, Frontend, Mode, Origin, Port,
    ProxyName, Server, ServerName, ServiceRequest, Source, TlsBind, UserName, Userlist,
};

/// Where things are and how the frontends look (options of §4.2, files of §4.3).
#[derive(Debug, Clone)]
pub struct ProxySettings {
    pub http_port: Port,
    pub https_port: Port,
    /// `0` = no HSTS.
    pub hsts_max_age: u32,
    pub crt_list: FilePath,
    pub challenge_map: FilePath,
    pub default_cert: FilePath,
    /// `None`: every address (`bind :80`), as in production.
    pub bind_host: Option<std::net::IpAddr>,
}

/// A site with a certificate file to serve, and its userlist entry when it has credentials.
pub struct RoutedSite<'a> {
    pub site: &'a Site,
    pub cert: FilePath,
    pub user: Option<(UserName, CryptHash)>,
}

pub const HTTP_FRONTEND: &str = "ssl-termination-http";
pub const HTTPS_FRONTEND: &str = "ssl-termination-https";
pub const NO_SITE_BACKEND: &str = "sslterm-no-site";
/// The service name the plan and messages know the whole ssl-termination request by.
pub const SERVICE: &str = "ssl-termination";

fn name(text: &str) -> ProxyName {
    ProxyName::new(text).unwrap_or_else(|e| unreachable!("built-in name {text}: {e}"))
}

/// `<prefix><primary>`, or, when that exceeds a proxy name's 63 characters, a cut name with
/// a hash of the whole primary so two long names never collide.
pub fn site_name(prefix: &str, primary: &str) -> ProxyName {
    let full = format!("{prefix}{primary}");
    if let Ok(n) = ProxyName::new(&full) {
        return n;
    }
    // FNV-1a: stable across builds and platforms.
    let hash = primary.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let keep = 63 - prefix.len() - 17;
    let cut = primary[..keep].trim_end_matches(['.', '-']);
    name(&format!("{prefix}{cut}-{hash:016x}"))
}

pub fn backend_name(site: &Site) -> ProxyName {
    site_name("sslterm-", site.primary().as_str())
}

/// Userlists share a namespace with proxies in `plan::build`, so they get their own prefix.
pub fn userlist_name(site: &Site) -> ProxyName {
    site_name("sslterm-users-", site.primary().as_str())
}

/// The plan request for every site (routed or not) and the userlists of the routed ones.
/// `None` when there is no site at all: the frontends exist only while a site does (§4.4).
pub fn service_request(
    settings: &ProxySettings,
    sites: &[Site],
    routed: &[RoutedSite],
) -> Option<(ServiceRequest, Vec<Userlist>)> {
    if sites.is_empty() {
        return None;
    }
    let mut http_directives = Directive::acme_challenges(&settings.challenge_map);
    let mut https_directives = vec![Directive::set_real_ip()];
    if settings.hsts_max_age > 0 {
        https_directives.push(Directive::hsts(settings.hsts_max_age));
    }
    let no_site = name(NO_SITE_BACKEND);
    let mut backends = vec![Backend {
        name: no_site.clone(),
        mode: Mode::Http,
        balance: None,
        stickiness: None,
        health_check: None,
        directives: vec![Directive::return_status(421)],
        errorfiles: Vec::new(),
        servers: Vec::new(),
    }];
    let mut userlists = Vec::new();
    for routed_site in routed {
        let site = routed_site.site;
        let backend = backend_name(site);
        http_directives.extend(Directive::redirect_https(&site.request.fqdns));
        https_directives.extend(Directive::use_backend_for_hosts(
            &backend,
            &site.request.fqdns,
        ));
        let mut directives = Vec::new();
        if let Some(t) = &site.request.connect_timeout {
            directives.push(Directive::backend_timeout(true, t));
        }
        if let Some(t) = &site.request.server_timeout {
            directives.push(Directive::backend_timeout(false, t));
        }
        if let Some(bytes) = site.request.body_limit {
            directives.push(Directive::body_limit(bytes));
        }
        if let Some((user, hash)) = &routed_site.user {
            let list = userlist_name(site);
            directives.extend(Directive::basic_auth(&list));
            userlists.push(Userlist {
                name: list,
                users: vec![(user.clone(), hash.clone())],
            });
        }
        backends.push(Backend {
            name: backend,
            mode: Mode::Http,
            balance: Some(Balance::RoundRobin),
            stickiness: None,
            health_check: None,
            directives,
            errorfiles: Vec::new(),
            servers: site
                .request
                .upstreams
                .iter()
                .enumerate()
                .map(|(i, u)| Server {
                    name: ServerName::new(&format!("u{i}"))
                        .unwrap_or_else(|e| unreachable!("server name u{i}: {e}")),
                    host: u.host(),
                    port: u.port,
                    weight: None,
                    check: true,
                    options: Vec::new(),
                })
                .collect(),
        });
    }
    http_directives.push(Directive::return_status(404));
    let frontends = vec![
        Frontend {
            name: name(HTTP_FRONTEND),
            bind: Bind {
                host: settings.bind_host,
                port: settings.http_port,
            },
            mode: Mode::Http,
            tls: None,
            directives: http_directives,
            routes: Vec::new(),
            default_backend: None,
        },
        Frontend {
            name: name(HTTPS_FRONTEND),
            bind: Bind {
                host: settings.bind_host,
                port: settings.https_port,
            },
            mode: Mode::Http,
            tls: Some(TlsBind::CrtList(settings.crt_list.clone())),
            directives: https_directives,
            routes: Vec::new(),
            default_backend: Some(no_site),
        },
    ];
    let request = ServiceRequest {
        origin: Origin::SslTermination,
        source: Source::Config {
            option: SERVICE.into(),
        },
        service: SERVICE.into(),
        frontends,
        backends,
    };
    Some((request, userlists))
}

/// The crt-list (§4.3): `default.pem` first, then one line per routed site with its names as
/// SNI filters.
pub fn crt_list(settings: &ProxySettings, routed: &[RoutedSite]) -> String {
    let mut text = format!("{}\n", settings.default_cert);
    for r in routed {
        text.push_str(r.cert.as_str());
        for fqdn in &r.site.request.fqdns {
            text.push(' ');
            text.push_str(fqdn.as_str());
        }
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_primaries_get_a_short_distinct_name() {
        let a = format!("{}.example.com", "a".repeat(60));
        let b = format!("{}.example.org", "a".repeat(60));
        let na = site_name("sslterm-", &a);
        let nb = site_name("sslterm-", &b);
        assert_ne!(na, nb);
        assert!(na.as_str().len() <= 63);
        assert_eq!(
            site_name("sslterm-", "jenkins.example.com").as_str(),
            "sslterm-jenkins.example.com"
        );
    }
}
