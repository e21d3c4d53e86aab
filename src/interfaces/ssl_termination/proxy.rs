//! The HAProxy shape of the ssl-termination sites (`spec/ssl-termination.md` §4.4, §5): one
//! plan request holding the shared `ssl-termination-http` / `-https` frontends, the 421
//! backend and one backend per routed site, the userlists, and the crt-list text.
//!
//! A site is *routed* when a certificate for it is on disk (ACME, or the self-signed
//! fallback); the caller decides that. Pure: no files, no processes.

use super::Site;
use crate::plan::{
    Backend, Balance, Bind, CryptHash, Directive, FilePath, Frontend, Host, Mode, Origin, Port,
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
    /// The other units of our application ([`super::relay_peers`]): ACME challenges this unit
    /// does not know are relayed to them on the same HTTP port.
    pub peers: Vec<Host>,
    /// [`RELAY_NOT_FOUND`]'s file: what the relay answers when no peer could be asked.
    pub relay_not_found: FilePath,
}

/// A raw HTTP answer for HAProxy's `errorfile`: an unknown token stays a 404 (checklist 10)
/// even when no peer answers (HAProxy's own 502/503/504).
pub const RELAY_NOT_FOUND: &str =
    "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

/// A site with a certificate file to serve, and its userlist entry when it has credentials.
pub struct RoutedSite<'a> {
    pub site: &'a Site,
    pub cert: FilePath,
    pub user: Option<(UserName, CryptHash)>,
}

pub const HTTP_FRONTEND: &str = "ssl-termination-http";
pub const HTTPS_FRONTEND: &str = "ssl-termination-https";
pub const NO_SITE_BACKEND: &str = "sslterm-no-site";
/// Not a possible site backend: a primary name has at least two labels.
pub const ACME_RELAY_BACKEND: &str = "sslterm-acme-relay";
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
    let relay = !settings.peers.is_empty();
    let mut http_directives = Directive::acme_challenges(&settings.challenge_map, relay);
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
        http_directives.extend(Directive::redirect_https(&site.request.fqdns, relay));
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
                .map(|(i, u)| numbered_server("u", i, u.host(), u.port, true))
                .collect(),
        });
    }
    if relay {
        let relay_backend = name(ACME_RELAY_BACKEND);
        http_directives.push(Directive::not_found_except_acme());
        http_directives.push(Directive::acme_relay_route(&relay_backend));
        backends.push(relay_backend_for(settings, relay_backend));
    } else {
        http_directives.push(Directive::return_status(404));
    }
    let frontends = vec![
        Frontend {
            name: name(HTTP_FRONTEND),
            bind: Bind {
                host: None,
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
                host: None,
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

/// Server `<prefix><i>` (names the charm makes, always valid).
fn numbered_server(prefix: &str, i: usize, host: Host, port: Port, check: bool) -> Server {
    Server {
        name: ServerName::new(&format!("{prefix}{i}"))
            .unwrap_or_else(|e| unreachable!("server name {prefix}{i}: {e}")),
        host,
        port,
        weight: None,
        check,
        options: Vec::new(),
    }
}

/// Round-robin over the peers' HTTP ports, retrying the next peer on a 404 or a failure.
fn relay_backend_for(settings: &ProxySettings, name: ProxyName) -> Backend {
    Backend {
        name,
        mode: Mode::Http,
        balance: Some(Balance::RoundRobin),
        stickiness: None,
        health_check: None,
        directives: Directive::acme_relay_backend(settings.peers.len()),
        errorfiles: [502, 503, 504]
            .into_iter()
            .map(|status| (status, settings.relay_not_found.clone()))
            .collect(),
        servers: settings
            .peers
            .iter()
            .enumerate()
            .map(|(i, host)| numbered_server("peer", i, host.clone(), settings.http_port, false))
            .collect(),
    }
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
    use crate::interfaces::ssl_termination::request;
    use crate::plan::{build::PlanInputs, GlobalSettings};
    use crate::render::{render, RuntimeFiles};

    const JENKINS: &str = r#"{"contact-email": "ops@example.com", "credentials": "admin s3cret", "fqdn": ["jenkins.example.com", "www.jenkins.example.com"], "nginx-config": ["client_max_body_size 10G"], "upstreams": [{"hostname": "10.0.0.5", "port": "8080", "private-address": "10.0.0.5"}, {"hostname": "10.0.0.6", "port": "8080", "private-address": "10.0.0.6"}]}"#;

    fn path(p: &str) -> FilePath {
        FilePath::new(p).unwrap()
    }

    fn settings(hsts_max_age: u32, peers: Vec<Host>) -> ProxySettings {
        ProxySettings {
            http_port: Port::new(80).unwrap(),
            https_port: Port::new(443).unwrap(),
            hsts_max_age,
            crt_list: path("/D/certs/crt-list"),
            challenge_map: path("/D/acme-challenges.map"),
            default_cert: path("/D/certs/default.pem"),
            peers,
            relay_not_found: path("/D/acme-relay-404.http"),
        }
    }

    /// `haproxy.cfg` for the request alone (`plan::build` must accept it).
    fn rendered(request: ServiceRequest, userlists: Vec<Userlist>) -> String {
        let (plan, rejections) = crate::plan::build(
            PlanInputs {
                global: GlobalSettings::default(),
                userlists,
                stats: None,
            },
            vec![request],
        );
        assert!(rejections.is_empty(), "{rejections:?}");
        let files = RuntimeFiles {
            admin_socket: path("/run/haproxy/admin.sock"),
            server_state: path("/run/haproxy/server-state"),
            chroot: None,
            user: None,
            group: None,
        };
        render(&plan, &files).unwrap()
    }

    fn jenkins() -> Site {
        let request::Parsed::Request(request) = request::parse(Some(JENKINS)) else {
            panic!("the reference request parses");
        };
        Site {
            relation_id: 7,
            units: vec!["jenkins-fqdn/0".into()],
            request,
        }
    }

    #[test]
    fn the_worked_example_renders_the_spec_shape() {
        let site = jenkins();
        let settings = settings(63_072_000, Vec::new());
        let hash = crate::charm_config::sha512_crypt("s3cret", "abcdefghabcdefgh").unwrap();
        let routed = [RoutedSite {
            site: &site,
            cert: path("/D/certs/jenkins.example.com.pem"),
            user: Some((UserName::new("admin").unwrap(), hash)),
        }];
        let sites = [site.clone()];
        let (request, userlists) = service_request(&settings, &sites, &routed).unwrap();
        let cfg = rendered(request, userlists);
        for line in [
            "frontend ssl-termination-http\n    bind :80\n",
            "    acl acme_path path_reg ^/\\.well-known/acme-challenge/[A-Za-z0-9_-]+$\n",
            "    acl acme_known path,field(4,/),map(/D/acme-challenges.map) -m found\n",
            "    http-request return status 200 content-type text/plain lf-string \"%[path,field(4,/),map(/D/acme-challenges.map)]\" if acme_path acme_known\n    http-request return status 404 if acme_path\n",
            "    http-request redirect scheme https code 301 if { req.hdr(host),lower,field(1,:) -m str jenkins.example.com www.jenkins.example.com }\n    http-request return status 404\n",
            "    bind :443 ssl crt-list /D/certs/crt-list alpn h2,http/1.1\n",
            "    http-request set-header X-Real-IP %[src]\n",
            "    http-after-response set-header Strict-Transport-Security \"max-age=63072000\"\n",
            "    use_backend sslterm-jenkins.example.com if { req.hdr(host),lower,field(1,:) -m str jenkins.example.com www.jenkins.example.com }\n",
            "    default_backend sslterm-no-site\n",
            "backend sslterm-no-site\n    http-request return status 421\n",
            "userlist sslterm-users-jenkins.example.com\n    user admin password $6$abcdefghabcdefgh$",
            "    balance roundrobin\n",
            "    http-request deny deny_status 413 if { req.hdr(content-length) -m int gt 10737418240 }\n    acl auth_ok http_auth(sslterm-users-jenkins.example.com)\n    http-request auth realm \"Restricted Content\" unless auth_ok || METH_OPTIONS\n    http-request del-header Authorization\n",
            "    server u0 10.0.0.5:8080 check\n    server u1 10.0.0.6:8080 check\n",
        ] {
            assert!(cfg.contains(line), "missing {line:?} in\n{cfg}");
        }
        assert!(!cfg.contains("s3cret"));
        assert_eq!(
            crt_list(&settings, &routed),
            "/D/certs/default.pem\n/D/certs/jenkins.example.com.pem jenkins.example.com www.jenkins.example.com\n"
        );
    }

    #[test]
    fn sites_without_certificates_get_frontends_but_no_route() {
        let sites = [jenkins()];
        let settings = settings(0, Vec::new());
        let (request, userlists) = service_request(&settings, &sites, &[]).unwrap();
        assert_eq!(request.frontends.len(), 2);
        assert_eq!(request.backends.len(), 1, "only the 421 backend");
        assert!(userlists.is_empty());
        assert!(service_request(&settings, &[], &[]).is_none());
    }

    #[test]
    fn with_peers_unknown_challenges_are_relayed_and_the_rest_is_unchanged() {
        let site = jenkins();
        let peers = vec![
            Host::parse("10.0.0.11").unwrap(),
            Host::parse("fd00::12").unwrap(),
        ];
        let routed = [RoutedSite {
            site: &site,
            cert: path("/D/certs/jenkins.example.com.pem"),
            user: None,
        }];
        let sites = [site.clone()];
        let (request, userlists) = service_request(&settings(0, peers), &sites, &routed).unwrap();
        let cfg = rendered(request, userlists);
        for text in [
            "    acl acme_relayed req.hdr(x-haproxy-lb-acme-relay) -m found\n    http-request return status 404 if acme_path acme_relayed\n",
            "    http-request redirect scheme https code 301 if !acme_path { req.hdr(host),lower,field(1,:) -m str jenkins.example.com www.jenkins.example.com }\n    http-request return status 404 if !acme_path\n    use_backend sslterm-acme-relay if acme_path\n",
            "backend sslterm-acme-relay\n    balance roundrobin\n",
            "    http-request set-header X-Haproxy-Lb-Acme-Relay 1\n    retry-on 404 conn-failure empty-response response-timeout\n    retries 6\n    option redispatch 1\n",
            "    errorfile 502 /D/acme-relay-404.http\n    errorfile 503 /D/acme-relay-404.http\n    errorfile 504 /D/acme-relay-404.http\n",
            "    server peer0 10.0.0.11:80\n    server peer1 [fd00::12]:80\n",
        ] {
            assert!(cfg.contains(text), "missing {text:?} in\n{cfg}");
        }
        // The https side does not change with peers.
        let (alone, _) = service_request(&settings(0, Vec::new()), &sites, &routed).unwrap();
        let (with_peers, _) = service_request(
            &settings(0, vec![Host::parse("10.0.0.11").unwrap()]),
            &sites,
            &routed,
        )
        .unwrap();
        assert_eq!(alone.frontends[1], with_peers.frontends[1]);
    }

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
