//! Shared by the reliability tests (injection, fuzzing, secrets, resource bounds): the hostile
//! value corpus (`tests/data/hostile-values.txt`), relation snapshot builders, the pure part of
//! a reconcile (config + relations → requests → plan → rendered text, files written), and the
//! scans that prove no raw hostile value reached `haproxy.cfg` or a runtime-socket command.
//!
//! [`pipeline`] mirrors `reconcile::{collect_requests, build_plan, write_files}` (private to the
//! reconcile module) step for step; it calls the same public functions in the same order, so a
//! property proven here holds for what a hook renders. It never starts HAProxy.

#![allow(dead_code)] // each test binary uses a different part

use haproxy_lb::charm_config;
use haproxy_lb::haproxy::{Paths, RuntimeCommand};
use haproxy_lb::interfaces::http::reverseproxy::{self, parse_config_services, Inputs};
use haproxy_lb::interfaces::loadbalancer::{self, LbSettings};
use haproxy_lb::interfaces::{Bag, RelationSnapshot, RemoteUnit};
use haproxy_lb::plan::build::PlanInputs;
use haproxy_lb::plan::{build, FilePath, LoadBalancerPlan, Rejection};
use haproxy_lb::render::render;
use serde_json::{Map, Value};
use std::path::Path;

const CORPUS: &str = include_str!("../data/hostile-values.txt");

/// Every value of the corpus, escapes decoded.
pub fn corpus() -> Vec<String> {
    CORPUS
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(decode)
        .collect()
}

/// Decode one corpus line (escapes documented at the top of the data file).
pub fn decode(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('0') => out.push('\0'),
            Some('\\') => out.push('\\'),
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                let byte = u8::from_str_radix(&hex, 16).expect("corpus: bad \\x escape");
                assert!(byte < 0x80, "corpus: \\x escapes are ASCII only");
                out.push(char::from(byte));
            }
            Some(kind @ ('u' | 'L')) => {
                assert_eq!(chars.next(), Some('{'), "corpus: \\{kind} needs {{");
                let inner: String = chars.by_ref().take_while(|c| *c != '}').collect();
                if kind == 'u' {
                    let code = u32::from_str_radix(&inner, 16).expect("corpus: bad \\u{}");
                    out.push(char::from_u32(code).expect("corpus: not a scalar value"));
                } else {
                    let n: usize = inner.parse().expect("corpus: bad \\L{}");
                    out.push_str(&"a".repeat(n));
                }
            }
            other => panic!("corpus: unknown escape \\{other:?} in {line:?}"),
        }
    }
    out
}

/// Where a value could do harm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// `haproxy.cfg`: HAProxy's lexer (`spec/haproxy.md` §5) treats blanks, `#`, quotes, `\`
    /// and `$` as syntax; control and non-ASCII bytes have no place in it.
    Config,
    /// The runtime socket (§4): also `;` (chains commands) and blanks (split arguments).
    Socket,
}

/// Characters that change what HAProxy makes of a value on `channel`. `%[`/`%{` count as well
/// (see [`scannable`]): a sample fetch, allowed only inside `set-header`/`add-header` values
/// (the directive allow-list, `spec/http.md` §5), which [`assert_clean`] permits there.
pub fn is_forbidden(c: char, channel: Channel) -> bool {
    c.is_whitespace()
        || c.is_control()
        || !c.is_ascii()
        || matches!(c, '#' | '"' | '\'' | '\\' | '$')
        || (channel == Channel::Socket && matches!(c, ';' | '`'))
}

/// The corpus values a scan can look for on `channel`: they hold a forbidden character other
/// than a plain space inside them and are
/// long enough not to occur by chance. (Paths such as `../../etc/passwd` are plain text where
/// they are allowed, in header values; where they are not, the newtypes refuse them.)
pub fn scannable(values: &[String], channel: Channel) -> Vec<&String> {
    values
        .iter()
        .filter(|v| v.chars().count() >= 3)
        // A forbidden character only at the ends (`web\n`) is what a line end or word break
        // looks like anyway, and plain spaces separate words in directive fields
        // (`service_options`: `hello world` renders as two validated words): neither proves
        // anything when found, so only other interior ones count.
        .filter(|v| {
            v.trim()
                .chars()
                .any(|c| c != ' ' && is_forbidden(c, channel))
                || v.contains("%[")
                || v.contains("%{")
        })
        .collect()
}

/// Panics naming the first scannable hostile value found verbatim in `text` (a value with `%`
/// is allowed only on `set-header`/`add-header` lines), or any byte that is not printable
/// ASCII or a newline.
pub fn assert_clean(what: &str, text: &str, hostile: &[&String]) {
    for value in hostile {
        let header_value_only = value.contains('%') && !value.contains(['\n', '\r']);
        let found = text.lines().any(|line| {
            line.contains(value.as_str())
                && !(header_value_only
                    && (line.contains(" set-header ") || line.contains(" add-header ")))
        }) || (value.contains(['\n', '\r']) && text.contains(value.as_str()));
        assert!(
            !found,
            "{what}: raw hostile value {value:?} reached the output:\n{text}"
        );
    }
    if let Some((n, line)) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.bytes().any(|b| !(0x20..0x7f).contains(&b)))
    {
        panic!(
            "{what}: line {} holds a byte outside printable ASCII: {line:?}",
            n + 1
        );
    }
}

pub fn bag(pairs: &[(&str, &str)]) -> Bag {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

pub fn unit(name: &str, bag: Bag) -> RemoteUnit {
    RemoteUnit {
        name: name.to_owned(),
        bag,
    }
}

pub fn reverseproxy(id: u64, app: &str, units: Vec<RemoteUnit>) -> RelationSnapshot {
    RelationSnapshot {
        id,
        endpoint: "reverseproxy".to_owned(),
        remote_app: app.to_owned(),
        remote_app_bag: Bag::new(),
        units,
        local_unit_bag: Bag::new(),
        local_app_bag: Some(Bag::new()),
        ingress_address: "127.0.7.1".to_owned(),
    }
}

pub fn lb_consumer(id: u64, app: &str, app_bag: Bag, units: Vec<RemoteUnit>) -> RelationSnapshot {
    RelationSnapshot {
        id,
        endpoint: "lb-consumers".to_owned(),
        remote_app: app.to_owned(),
        remote_app_bag: app_bag,
        units,
        local_unit_bag: Bag::new(),
        local_app_bag: Some(Bag::new()),
        ingress_address: "127.0.7.1".to_owned(),
    }
}

/// A loadbalancer request as the reference library writes it (`spec/loadbalancer.md` §2).
pub fn lb_request(name: &str, frontend: u16, backend: u16, backends: &[&str]) -> Value {
    serde_json::json!({
        "algorithm": [], "backends": backends, "health_checks": [],
        "id": "5f0c2a9e4b7d4c3a9e1f2b6d8a0c4e71", "ingress_address": null, "name": name,
        "port_mapping": {frontend.to_string(): backend}, "protocol": "tcp", "public": true,
        "sent_hash": null, "sticky": false, "tls_cert": null, "tls_key": null,
        "tls_termination": false
    })
}

/// What one pure reconcile produced.
pub struct Run {
    pub text: String,
    pub plan: LoadBalancerPlan,
    /// Every rejection and config problem, as the status and log show them.
    pub messages: Vec<String>,
    pub rejections: Vec<Rejection>,
}

/// The pure part of a reconcile over `config` (as `config-get --all` prints it, merged over
/// `config.yaml`'s defaults) and `relations`. Generated files go below `files_dir` (absolute,
/// no blanks), state below `state_dir`.
pub fn pipeline(
    config: &Map<String, Value>,
    relations: &[RelationSnapshot],
    files_dir: &Path,
    state_dir: &Path,
) -> Run {
    let mut full = charm_config::defaults();
    full.insert("services".into(), Value::String(default_services()));
    full.extend(config.clone());
    // `resolve` persists the last valid set (fsync) and may hash a password: cached per
    // distinct config, so thousands of runs over the same config stay fast.
    thread_local! {
        static RESOLVED: std::cell::RefCell<std::collections::HashMap<String, (charm_config::EffectiveConfig, Vec<charm_config::ConfigProblem>)>> =
            Default::default();
    }
    let key = format!("{}\0{}", state_dir.display(), Value::Object(full.clone()));
    let (effective, problems) = RESOLVED.with(|cache| {
        cache
            .borrow_mut()
            .entry(key)
            .or_insert_with(|| charm_config::resolve(&full, state_dir))
            .clone()
    });
    let mut messages: Vec<String> = problems.iter().map(ToString::to_string).collect();
    // services_option::resolve: a refused document keeps the last valid one (none here).
    let services_text = match full.get("services") {
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    };
    let (entries, warnings) = match parse_config_services(&services_text) {
        Ok(ok) => ok,
        Err(e) => {
            messages.push(format!("services = <see the entry named>: {e}"));
            (Vec::new(), Vec::new())
        }
    };
    let dir = |name: &str| FilePath::new(&files_dir.join(name).to_string_lossy()).unwrap();
    let paths = reverseproxy::Paths {
        cert_dir: dir("certs"),
        errorfile_dir: dir("errors"),
    };
    let monitoring_port = full
        .get("monitoring_port")
        .and_then(Value::as_u64)
        .and_then(|p| u16::try_from(p).ok())
        .unwrap_or(10000);
    let http = reverseproxy::parse(&Inputs {
        our_unit: "haproxy-lb/0",
        config_services: &entries,
        monitoring_port,
        relations,
        paths: &paths,
        default_cert: None,
        file_exists: &|p| Path::new(p.as_str()).is_file(),
    });
    let lb = loadbalancer::parse(
        relations,
        &LbSettings {
            public_address: Some("127.0.7.1".to_owned()),
            vip: effective.vip.map(|ip| ip.to_string()).unwrap_or_default(),
            external_hostname: effective
                .external_hostname
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            cert_dir: dir("lb-certs"),
        },
    );
    for file in &http.files {
        write_file(
            Path::new(file.path.as_str()),
            file.contents.expose(),
            file.mode,
        );
    }
    for file in &lb.files {
        write_file(
            Path::new(file.path.as_str()),
            file.contents.as_str().as_bytes(),
            0o600,
        );
    }
    let (stats, userlists) = match &effective.monitoring {
        Some(m) => {
            let (stats, userlist) = m.plan_parts(None);
            (Some(stats), vec![userlist])
        }
        None => (None, Vec::new()),
    };
    let requests = http.requests.iter().chain(&lb.requests).cloned().collect();
    let (plan, built) = build(
        PlanInputs {
            global: effective.global.clone(),
            userlists,
            stats,
        },
        requests,
    );
    let text = render(&plan, &Paths::debian().runtime_files().unwrap()).unwrap();
    let rejections: Vec<Rejection> = http
        .rejections
        .iter()
        .chain(&warnings)
        .chain(&lb.rejections)
        .chain(&built)
        .cloned()
        .collect();
    messages.extend(rejections.iter().map(ToString::to_string));
    Run {
        text,
        plan,
        messages,
        rejections,
    }
}

/// The `services` option's default in `config.yaml` (`charm_config::defaults` covers only the
/// options that module owns).
pub fn default_services() -> String {
    let config: serde_yaml::Value =
        serde_yaml::from_str(include_str!("../../config.yaml")).unwrap();
    config["options"]["services"]["default"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn write_file(path: &Path, bytes: &[u8], mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The runtime-socket commands a weight change of every server of `plan` would send: the only
/// place relation data reaches the socket (`haproxy::changes`).
pub fn weight_commands(plan: &LoadBalancerPlan) -> Vec<RuntimeCommand> {
    let mut changed = plan.clone();
    for backend in &mut changed.backends {
        for server in &mut backend.servers {
            server.weight = Some(server.weight.unwrap_or(1) % 200 + 7);
        }
    }
    match haproxy_lb::haproxy::changes(plan, &changed) {
        haproxy_lb::haproxy::Changes::Runtime(commands) => commands,
        _ => Vec::new(),
    }
}
