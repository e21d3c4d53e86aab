//! Property tests: any plan the newtypes allow renders to a config `haproxy -c` accepts, and
//! no newtype constructor lets an injection character through (`spec/haproxy.md` §5).

mod util;

use haproxy_lb::haproxy::Paths;
use haproxy_lb::plan::*;
use haproxy_lb::render::render;
use proptest::prelude::*;
use std::net::IpAddr;

const HASH: &str = "$6$Zx9Q2abcdEFgh$a6hSG0aeOcrxdf3keKBCdkp/eL/xMICQhhl0jU1eDt4CVb3mCMzv3FDnDBT6MK78OhFO.cTbTD5WFfF6RnPGe0";

fn token(pattern: &'static str) -> impl Strategy<Value = String> {
    proptest::string::string_regex(pattern).unwrap()
}

/// Any value `TimeValue` accepts (the constructor filters the ones HAProxy would refuse).
fn time() -> impl Strategy<Value = String> {
    token("[0-9]{1,9}(us|ms|s|m|h|d)?")
        .prop_filter("a valid TimeValue", |t| TimeValue::new(t).is_ok())
}

fn host() -> impl Strategy<Value = Host> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|o| Host::Ip(IpAddr::from(o))),
        any::<[u16; 8]>().prop_map(|s| Host::Ip(IpAddr::from(s))),
        // Unresolvable names are fine: `init-addr last,libc,none` (§2).
        token("[a-z][a-z0-9-]{0,10}[a-z0-9](\\.[a-z0-9]{1,8}){0,2}\\.invalid")
            .prop_map(|n| Host::parse(&n).unwrap()),
    ]
}

fn server(index: usize) -> impl Strategy<Value = Server> {
    (
        token("[A-Za-z0-9][A-Za-z0-9_.-]{0,15}"),
        host(),
        1u16..=65535,
        proptest::option::of(0u16..=256),
        any::<bool>(),
    )
        .prop_map(move |(name, host, port, weight, check)| Server {
            // Suffix keeps names unique inside the backend.
            name: ServerName::new(&format!("{name}-{index}")).unwrap(),
            host,
            port: Port::new(port).unwrap(),
            weight,
            check,
            options: vec![],
        })
}

fn mode() -> impl Strategy<Value = Mode> {
    prop_oneof![Just(Mode::Http), Just(Mode::Tcp)]
}

fn health() -> impl Strategy<Value = HealthCheck> {
    (
        proptest::option::of(token(
            "/[A-Za-z0-9._~/-]{0,30}(\\?[A-Za-z0-9._~=&-]{0,20})?",
        )),
        1u32..=3600,
        1u32..=10,
        1u32..=10,
        proptest::collection::vec(probe(), 0..4),
    )
        .prop_map(|(path, interval_s, fall, rise, probes)| HealthCheck {
            path: path.map(|p| HttpPath::new(&p).unwrap()),
            interval_s,
            fall,
            rise,
            probes,
        })
}

fn probe() -> impl Strategy<Value = Probe> {
    let path = || {
        token("/[A-Za-z0-9._~/-]{0,30}(\\?[A-Za-z0-9._~=&-]{0,20})?")
            .prop_map(|p| HttpPath::new(&p).unwrap())
    };
    (
        1u16..=65535,
        prop_oneof![
            Just(ProbeKind::Connect),
            path().prop_map(|path| ProbeKind::Http { path }),
            path().prop_map(|path| ProbeKind::Https { path }),
        ],
    )
        .prop_map(|(port, kind)| Probe {
            port: Port::new(port).unwrap(),
            kind,
        })
}

fn service(index: usize) -> impl Strategy<Value = (Frontend, Backend)> {
    (
        token("[A-Za-z0-9][A-Za-z0-9_.-]{0,20}"),
        mode(),
        proptest::option::of(any::<[u8; 4]>()),
        proptest::option::of(prop_oneof![
            Just(Balance::RoundRobin),
            Just(Balance::LeastConn),
            Just(Balance::Source)
        ]),
        proptest::option::of(prop_oneof![
            token("[A-Za-z0-9_-]{1,20}")
                .prop_map(|c| Stickiness::Cookie(CookieName::new(&c).unwrap())),
            Just(Stickiness::SourceIp),
        ]),
        proptest::option::of(health()),
        proptest::collection::vec(
            token("(\\*\\.)?[a-z0-9]{1,10}(\\.[a-z0-9][a-z0-9-]{0,8}[a-z0-9]){1,3}"),
            0..3,
        ),
        (1usize..=4).prop_flat_map(|n| (0..n).map(server).collect::<Vec<_>>()),
    )
        .prop_map(
            move |(name, mode, bind_ip, balance, stickiness, health_check, hosts, servers)| {
                let fe_name = ProxyName::new(&format!("fe{index}-{name}")).unwrap();
                let be_name = ProxyName::new(&format!("be{index}-{name}")).unwrap();
                let routes = if mode == Mode::Http {
                    hosts
                        .iter()
                        .map(|h| Route::Host {
                            fqdn: Fqdn::new(h).unwrap(),
                            backend: be_name.clone(),
                        })
                        .collect()
                } else {
                    vec![]
                };
                let fe = Frontend {
                    name: fe_name,
                    bind: Bind {
                        host: bind_ip.map(IpAddr::from),
                        port: Port::new(20000 + index as u16).unwrap(),
                    },
                    mode,
                    tls: None,
                    directives: vec![],
                    routes,
                    default_backend: Some(be_name.clone()),
                };
                let be = Backend {
                    name: be_name,
                    mode,
                    balance,
                    stickiness,
                    health_check,
                    directives: vec![],
                    errorfiles: vec![],
                    servers,
                };
                (fe, be)
            },
        )
}

fn global() -> impl Strategy<Value = GlobalSettings> {
    let timeout_names = [
        TimeoutName::Connect,
        TimeoutName::Client,
        TimeoutName::Server,
        TimeoutName::HttpRequest,
        TimeoutName::HttpKeepAlive,
        TimeoutName::Queue,
        TimeoutName::Check,
        TimeoutName::Tunnel,
        TimeoutName::ClientFin,
        TimeoutName::ServerFin,
    ];
    (
        1u32..=100_000,
        time(),
        proptest::sample::subsequence(timeout_names.to_vec(), 0..=10),
        time(),
        mode(),
        proptest::sample::subsequence(ProxyOption::ALL.to_vec(), 0..=6),
        0u32..=10,
        proptest::sample::subsequence(TlsBindOption::ALL.to_vec(), 0..=5),
    )
        .prop_map(
            |(maxconn, hard, names, time, default_mode, options, retries, bind_options)| {
                GlobalSettings {
                    maxconn,
                    hard_stop_after: TimeValue::new(&hard).unwrap(),
                    timeouts: names
                        .into_iter()
                        .map(|n| (n, TimeValue::new(&time).unwrap()))
                        .collect(),
                    default_mode,
                    default_options: vec![],
                    default_option_names: options,
                    retries,
                    bind_options,
                }
            },
        )
}

fn stats() -> impl Strategy<Value = Option<(StatsListener, Userlist)>> {
    proptest::option::of(
        (
            proptest::option::of(any::<[u8; 4]>()),
            proptest::collection::vec((any::<[u8; 4]>(), 0u8..=32), 0..3),
            proptest::option::of(1u32..=600),
            token("[A-Za-z0-9_.-]{1,32}"),
        )
            .prop_map(|(ip, cidrs, refresh_s, user)| {
                let userlist = Userlist {
                    name: ProxyName::new("ul_stats").unwrap(),
                    users: vec![(UserName::new(&user).unwrap(), CryptHash::new(HASH).unwrap())],
                };
                let listener = StatsListener {
                    bind: Bind {
                        host: ip.map(IpAddr::from),
                        port: Port::new(19999).unwrap(),
                    },
                    userlist: userlist.name.clone(),
                    allowed: cidrs
                        .into_iter()
                        .map(|(a, p)| Cidr::parse(&format!("{}/{p}", IpAddr::from(a))).unwrap())
                        .collect(),
                    refresh_s,
                };
                (listener, userlist)
            }),
    )
}

fn plan() -> impl Strategy<Value = LoadBalancerPlan> {
    (
        global(),
        (0usize..=4).prop_flat_map(|n| (0..n).map(service).collect::<Vec<_>>()),
        stats(),
    )
        .prop_map(|(global, services, stats)| {
            let (frontends, backends): (Vec<_>, Vec<_>) = services.into_iter().unzip();
            let (stats, userlists) = match stats {
                Some((listener, userlist)) => (Some(listener), vec![userlist]),
                None => (None, vec![]),
            };
            LoadBalancerPlan {
                global,
                frontends,
                backends,
                userlists,
                stats,
                services: vec![],
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_plans_render_to_configs_haproxy_accepts(plan in plan()) {
        let dir = tempfile::tempdir().unwrap();
        let files = Paths::under(dir.path()).runtime_files().unwrap();
        let text = render(&plan, &files).unwrap();
        if let Err(stderr) = util::haproxy_check(&text) {
            prop_assert!(false, "haproxy -c refused:\n{}\n{}", stderr, text);
        }
    }
}

/// Characters that change how HAProxy reads a word (§5): line breaks, comment, quotes,
/// environment expansion, sample fetch, escape, and the word separator.
const FORBIDDEN: &[char] = &['\n', '\r', '#', '"', '\'', '$', '%', '\\', ' ', '\t', '\0'];

fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        token("[a-z0-9./:\\-\\n\\r#\"'$%\\\\ \\t@;{}\\[\\]*?=&~_]{0,80}"),
        // Valid-looking prefixes with a hostile tail.
        (
            token("[a-z][a-z0-9.-]{0,20}"),
            token("[\\n\\r#\"'$% \\\\;]{1,3}"),
            token("[a-z]{0,5}")
        )
            .prop_map(|(a, b, c)| format!("{a}{b}{c}")),
    ]
}

fn assert_clean(kind: &str, value: &str, allowed: &[char]) -> Result<(), TestCaseError> {
    for c in FORBIDDEN {
        if !allowed.contains(c) {
            prop_assert!(!value.contains(*c), "{kind} accepted {:?}", value);
        }
    }
    prop_assert!(
        !value.is_empty() || kind == "HeaderValue",
        "{kind} accepted an empty value"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn newtypes_refuse_or_yield_injection_free_values(text in hostile()) {
        macro_rules! check {
            ($ty:ident, $allowed:expr) => {
                if let Ok(v) = $ty::new(&text) {
                    assert_clean(stringify!($ty), v.as_str(), $allowed)?;
                    prop_assert_eq!(v.to_string(), text.clone());
                }
            };
        }
        check!(ProxyName, &[]);
        check!(ServerName, &[]);
        check!(Hostname, &[]);
        check!(HttpPath, &[]);
        check!(HeaderName, &[]);
        // Header values are rendered inside double quotes, where blanks are safe.
        check!(HeaderValue, &[' ']);
        check!(Fqdn, &[]);
        check!(UserName, &[]);
        // Hashes are rendered unquoted, where `$` is literal (§5).
        check!(CryptHash, &['$']);
        check!(TimeValue, &[]);
        check!(CookieName, &[]);
        check!(FilePath, &[]);
        if let Ok(h) = Hostname::checked(&text) {
            assert_clean("Hostname::checked", h.as_str(), &[])?;
            prop_assert!(h.as_str().len() <= 253);
        }
        if let Ok(h) = Host::parse(&text) {
            assert_clean("Host", &h.to_string(), &[])?;
        }
        if let Ok(p) = Port::parse(&text) {
            prop_assert!(p.get() >= 1);
            prop_assert_eq!(p.to_string(), text.clone());
        }
        if let Ok(c) = Cidr::parse(&text) {
            assert_clean("Cidr", &c.to_string(), &[])?;
        }
        if let Some(t) = TimeoutName::parse(&text) {
            assert_clean("TimeoutName", &t.to_string(), &[])?;
        }
        if let Some(o) = ProxyOption::parse(&text) {
            assert_clean("ProxyOption", o.as_str(), &[])?;
        }
        if let Some(o) = TlsBindOption::parse(&text) {
            assert_clean("TlsBindOption", o.as_str(), &[])?;
        }
    }
}
