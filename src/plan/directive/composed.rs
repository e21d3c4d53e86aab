//! Directives the charm composes itself from validated values (never from requirer text), for
//! shapes the requirer allow-list of [`Directive::parse`] must not admit: the ACME HTTP-01
//! block, `http-request return`, basic auth and HSTS (`spec/ssl-termination.md` §4.4,
//! `spec/haproxy.md` §6). Each constructor takes only plan newtypes or numbers, so the words
//! it prints cannot carry a quote, a `$`, a `#` or a newline from outside.

use super::{Directive, Placement};
use crate::plan::{FilePath, Fqdn, ProxyName, TimeValue};

/// The header a unit adds when it relays an ACME HTTP-01 request to its peers.
pub const ACME_RELAY_HEADER: &str = "X-Haproxy-Lb-Acme-Relay";
const ACME_RELAY_HEADER_FETCH: &str = "req.hdr(x-haproxy-lb-acme-relay)";

/// Keep composed lines well under HAProxy's 2048-byte line limit.
const MAX_NAMES_LINE: usize = 900;

fn line(words: &[&str], placement: Placement) -> Directive {
    Directive {
        words: words.iter().map(|w| (*w).to_owned()).collect(),
        placement,
    }
}

/// Space-separated groups of names, each short enough for one line.
fn name_groups(names: &[Fqdn]) -> Vec<String> {
    let mut groups: Vec<String> = Vec::new();
    for name in names {
        match groups.last_mut() {
            Some(group) if group.len() + 1 + name.as_str().len() <= MAX_NAMES_LINE => {
                group.push(' ');
                group.push_str(name.as_str());
            }
            _ => groups.push(name.as_str().to_owned()),
        }
    }
    groups
}

impl Directive {
    /// Answer ACME HTTP-01 tokens found in `map` for any Host, 404 for unknown tokens
    /// (`haproxy.md` §6, verified on 2.6.12). With `relay`, an unknown token is answered 404
    /// only when a peer relayed it (the request carries [`ACME_RELAY_HEADER`]); otherwise it
    /// falls through to [`Directive::acme_relay_route`].
    pub fn acme_challenges(map: &FilePath, relay: bool) -> Vec<Directive> {
        let lookup = format!("path,field(4,/),map({map})");
        let body = format!("\"%[{lookup}]\"");
        let mut lines = vec![
            line(
                &[
                    "acl",
                    "acme_path",
                    "path_reg",
                    r"^/\.well-known/acme-challenge/[A-Za-z0-9_-]+$",
                ],
                Placement::Frontend,
            ),
            line(
                &["acl", "acme_known", &lookup, "-m", "found"],
                Placement::Frontend,
            ),
            line(
                &[
                    "http-request",
                    "return",
                    "status",
                    "200",
                    "content-type",
                    "text/plain",
                    "lf-string",
                    &body,
                    "if",
                    "acme_path",
                    "acme_known",
                ],
                Placement::Frontend,
            ),
        ];
        let mut not_found = vec!["http-request", "return", "status", "404", "if", "acme_path"];
        if relay {
            lines.push(line(
                &[
                    "acl",
                    "acme_relayed",
                    ACME_RELAY_HEADER_FETCH,
                    "-m",
                    "found",
                ],
                Placement::Frontend,
            ));
            not_found.push("acme_relayed");
        }
        lines.push(line(&not_found, Placement::Frontend));
        lines
    }

    /// With the relay: the last HTTP rule, `404` for everything but ACME challenges (those go
    /// to the peers through [`Directive::acme_relay_route`]).
    pub fn not_found_except_acme() -> Directive {
        line(
            &[
                "http-request",
                "return",
                "status",
                "404",
                "if",
                "!acme_path",
            ],
            Placement::Frontend,
        )
    }

    /// Unknown, unrelayed ACME tokens go to the peers' relay backend.
    pub fn acme_relay_route(backend: &ProxyName) -> Directive {
        line(
            &["use_backend", backend.as_str(), "if", "acme_path"],
            Placement::Frontend,
        )
    }

    /// The relay backend's rules: mark the request relayed (a peer answers it itself, never
    /// relays again), and try the next peer while one answers 404 or cannot be reached.
    /// A redispatch avoids only the peer tried last, and concurrent requests move the shared
    /// round-robin position, so one request may meet a peer twice: three tries per peer
    /// (measured on 2.6.12 with 3 peers and 50 concurrent clients: one try per peer lost 20 of
    /// 600 validations, two tries per peer none).
    pub fn acme_relay_backend(peers: usize) -> Vec<Directive> {
        let retries = (3 * peers).clamp(1, 60).to_string();
        vec![
            line(
                &["http-request", "set-header", ACME_RELAY_HEADER, "1"],
                Placement::Backend,
            ),
            line(
                &[
                    "retry-on",
                    "404",
                    "conn-failure",
                    "empty-response",
                    "response-timeout",
                ],
                Placement::Backend,
            ),
            line(&["retries", &retries], Placement::Backend),
            line(&["option", "redispatch", "1"], Placement::Backend),
            line(&["timeout", "connect", "2s"], Placement::Backend),
            line(&["timeout", "server", "10s"], Placement::Backend),
        ]
    }

    /// `301` to the same URL on https for requests whose Host is one of `names`; with
    /// `except_acme`, not for ACME challenges (they go to the relay).
    pub fn redirect_https(names: &[Fqdn], except_acme: bool) -> Vec<Directive> {
        name_groups(names)
            .iter()
            .map(|group| {
                let mut words = vec![
                    "http-request",
                    "redirect",
                    "scheme",
                    "https",
                    "code",
                    "301",
                    "if",
                ];
                if except_acme {
                    words.push("!acme_path");
                }
                words.extend(["{", "req.hdr(host),lower,field(1,:)", "-m", "str"]);
                words.extend(group.split(' '));
                words.push("}");
                line(&words, Placement::Frontend)
            })
            .collect()
    }

    /// `use_backend <backend>` for requests whose Host is one of `names` (one line per group).
    pub fn use_backend_for_hosts(backend: &ProxyName, names: &[Fqdn]) -> Vec<Directive> {
        name_groups(names)
            .iter()
            .map(|group| {
                let mut words = vec![
                    "use_backend",
                    backend.as_str(),
                    "if",
                    "{",
                    "req.hdr(host),lower,field(1,:)",
                    "-m",
                    "str",
                ];
                words.extend(group.split(' '));
                words.push("}");
                line(&words, Placement::Frontend)
            })
            .collect()
    }

    /// `http-request return status <code>`: HAProxy answers itself (404, 421...).
    pub fn return_status(code: u16) -> Directive {
        let code = code.clamp(200, 599).to_string();
        line(
            &["http-request", "return", "status", &code],
            Placement::Both,
        )
    }

    /// `X-Real-IP` = the client address.
    pub fn set_real_ip() -> Directive {
        line(
            &["http-request", "set-header", "X-Real-IP", "%[src]"],
            Placement::Frontend,
        )
    }

    /// HSTS on every response, HAProxy's own included (`http-after-response`, `haproxy.md` §6).
    pub fn hsts(max_age: u32) -> Directive {
        let value = format!("\"max-age={max_age}\"");
        line(
            &[
                "http-after-response",
                "set-header",
                "Strict-Transport-Security",
                &value,
            ],
            Placement::Frontend,
        )
    }

    /// Basic auth against `userlist`, `OPTIONS` exempt, `Authorization` never forwarded
    /// (`ssl-termination.md` §4.4, checklist 9).
    pub fn basic_auth(userlist: &ProxyName) -> Vec<Directive> {
        let check = format!("http_auth({userlist})");
        vec![
            line(&["acl", "auth_ok", &check], Placement::Backend),
            line(
                &[
                    "http-request",
                    "auth",
                    "realm",
                    "\"Restricted Content\"",
                    "unless",
                    "auth_ok",
                    "||",
                    "METH_OPTIONS",
                ],
                Placement::Backend,
            ),
            line(
                &["http-request", "del-header", "Authorization"],
                Placement::Backend,
            ),
        ]
    }

    /// 413 above `bytes` of declared body (`-m int`: `req.hdr_val()` is 32-bit, §4.4).
    pub fn body_limit(bytes: u64) -> Directive {
        let bytes = bytes.to_string();
        line(
            &[
                "http-request",
                "deny",
                "deny_status",
                "413",
                "if",
                "{",
                "req.hdr(content-length)",
                "-m",
                "int",
                "gt",
                &bytes,
                "}",
            ],
            Placement::Backend,
        )
    }

    /// `timeout server|connect <value>` in a backend.
    pub fn backend_timeout(connect: bool, value: &TimeValue) -> Directive {
        let kind = if connect { "connect" } else { "server" };
        line(&["timeout", kind, value.as_str()], Placement::Backend)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(d: &Directive) -> String {
        d.words().join(" ")
    }

    #[test]
    fn acme_block_is_the_verified_text() {
        let map = FilePath::new("/etc/haproxy/haproxy-lb/acme-challenges.map").unwrap();
        let lines: Vec<String> = Directive::acme_challenges(&map, false)
            .iter()
            .map(text)
            .collect();
        assert_eq!(lines[1], "acl acme_known path,field(4,/),map(/etc/haproxy/haproxy-lb/acme-challenges.map) -m found");
        assert_eq!(lines[2], "http-request return status 200 content-type text/plain lf-string \"%[path,field(4,/),map(/etc/haproxy/haproxy-lb/acme-challenges.map)]\" if acme_path acme_known");
    }

    #[test]
    fn many_names_are_split_over_lines() {
        let names: Vec<Fqdn> = (0..100)
            .map(|i| Fqdn::new(&format!("{}{i}.example.com", "a".repeat(50))).unwrap())
            .collect();
        let lines = Directive::redirect_https(&names, false);
        assert!(lines.len() > 1);
        for l in &lines {
            assert!(text(l).len() < 1100, "{}", text(l).len());
        }
        let total: usize = lines.iter().map(|l| l.words().len() - 12).sum();
        assert_eq!(total, 100);
    }

    #[test]
    fn the_relay_block_is_the_verified_text() {
        // Verified on 2.6.12 with three peers, one knowing the token: 12 of 12 relayed
        // requests answered 200, unknown tokens 404, redirects unchanged.
        let map = FilePath::new("/m.map").unwrap();
        let lines: Vec<String> = Directive::acme_challenges(&map, true)
            .iter()
            .map(text)
            .collect();
        assert_eq!(
            lines[3..],
            [
                "acl acme_relayed req.hdr(x-haproxy-lb-acme-relay) -m found",
                "http-request return status 404 if acme_path acme_relayed"
            ]
        );
        let plain: Vec<String> = Directive::acme_challenges(&map, false)
            .iter()
            .map(text)
            .collect();
        assert_eq!(plain[3], "http-request return status 404 if acme_path");
        assert_eq!(plain.len(), 4);
        let name = Fqdn::new("a.example.com").unwrap();
        assert_eq!(
            text(&Directive::redirect_https(std::slice::from_ref(&name), true)[0]),
            "http-request redirect scheme https code 301 if !acme_path { req.hdr(host),lower,field(1,:) -m str a.example.com }"
        );
        let backend: Vec<String> = Directive::acme_relay_backend(2).iter().map(text).collect();
        assert!(backend.contains(&"retries 6".to_owned()), "{backend:?}");
        assert!(backend.contains(&"http-request set-header X-Haproxy-Lb-Acme-Relay 1".to_owned()));
    }
}
