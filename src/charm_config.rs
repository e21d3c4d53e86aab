//! The operator's charm options that shape HAProxy's `global`/`defaults` sections, monitoring
//! and the advertised address: typed, validated, and kept at their last valid set.
//!
//! Input is the map `config-get --all --format=json` prints. Every option here is parsed into
//! plan types; a bad value becomes a [`ConfigProblem`] naming the option, the value and the
//! problem. When any option is bad, *none* of the new values applies: [`resolve`] returns the
//! last valid set (persisted in the state dir the caller passes), or the `config.yaml`
//! defaults when there never was one (issue 5: "keeps the last valid set of option values").
//!
//! The stats password reaches HAProxy only as a SHA-512 crypt hash (`spec/haproxy.md` §5). The
//! salt and hash are persisted, so the rendered config is byte-stable across hooks, and a new
//! hash is made only when the password changes. The password itself is never logged, never
//! shown in a problem and never written to the last-valid file.
//!
//! Not here: `services`, `ssl_cert`, `ssl_key` (the http and TLS work own them). This module
//! never runs hook tools or touches HAProxy.

use crate::plan::{
    show, Bind, Cidr, CryptHash, GlobalSettings, Hostname, InvalidValue, Mode, Port, ProxyName,
    ProxyOption, StatsListener, TimeValue, TimeoutName, TlsBindOption, UserName, Userlist,
};
use serde_json::{Map, Value};
use std::fmt;
use std::fs;
use std::io::Read;
use std::net::IpAddr;

use std::path::Path;

/// The options this module owns, in `config.yaml` order.
pub const OPTIONS: &[&str] = &[
    "default_mode",
    "default_options",
    "default_retries",
    "default_timeouts",
    "global_maxconn",
    "global_hard_stop_after",
    "global_default_bind_options",
    "enable_monitoring",
    "monitoring_port",
    "monitoring_allowed_cidr",
    "monitoring_username",
    "monitoring_password",
    "monitoring_stats_refresh",
    "vip",
    "external_hostname",
];

const LAST_VALID_FILE: &str = "charm-config.last-valid.json";
const HASH_FILE: &str = "monitoring-password.hash";
/// The random password made when `monitoring_password` is empty (for the `stats` action).
pub const GENERATED_PASSWORD_FILE: &str = "monitoring-password.generated";

/// A bad option value. `value` is already `show`n (escaped, shortened), or `<hidden>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub option: &'static str,
    pub value: String,
    pub problem: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} = {}: {}", self.option, self.value, self.problem)
    }
}

/// The stats listener's settings (`enable_monitoring` true).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Monitoring {
    pub port: Port,
    pub allowed: Vec<Cidr>,
    pub username: UserName,
    pub password_hash: CryptHash,
    /// Seconds; `None` when `monitoring_stats_refresh` is 0.
    pub refresh_s: Option<u32>,
}

impl Monitoring {
    /// The plan pieces: the listener bound on `host` (`None` = every address, restricted by
    /// `allowed`) and the userlist holding the hash.
    pub fn plan_parts(&self, host: Option<IpAddr>) -> (StatsListener, Userlist) {
        let userlist = ProxyName::new("ul_stats")
            .unwrap_or_else(|e| unreachable!("built-in userlist name: {e}"));
        (
            StatsListener {
                bind: Bind {
                    host,
                    port: self.port,
                },
                userlist: userlist.clone(),
                allowed: self.allowed.clone(),
                refresh_s: self.refresh_s,
            },
            Userlist {
                name: userlist,
                users: vec![(self.username.clone(), self.password_hash.clone())],
            },
        )
    }
}

/// Every option of this module, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectiveConfig {
    pub global: GlobalSettings,
    pub monitoring: Option<Monitoring>,
    /// The address to advertise instead of the unit's (`vip`).
    pub vip: Option<IpAddr>,
    /// The DNS name to advertise (`external_hostname`).
    pub external_hostname: Option<Hostname>,
}

/// `config.yaml`'s defaults for our options, as `config-get` would print them.
pub fn defaults() -> Map<String, Value> {
    #[derive(serde::Deserialize)]
    struct ConfigYaml {
        options: std::collections::BTreeMap<String, OptionYaml>,
    }
    #[derive(serde::Deserialize)]
    struct OptionYaml {
        default: Option<serde_yaml::Value>,
    }
    let parsed: Result<ConfigYaml, _> = serde_yaml::from_str(include_str!("../config.yaml"));
    let mut map = Map::new();
    if let Ok(config) = parsed {
        for (name, option) in config.options {
            if OPTIONS.contains(&name.as_str()) {
                if let Some(value) = option.default.and_then(|v| serde_json::to_value(v).ok()) {
                    map.insert(name, value);
                }
            }
        }
    }
    map
}

/// Parse every option (missing ones take their default); the password is returned apart,
/// still in clear, for [`resolve`] to hash.
fn parse(current: &Map<String, Value>) -> (Parsed, Vec<ConfigProblem>) {
    let defaults = defaults();
    let mut p = Problems(Vec::new());
    let get = |name: &'static str| -> Value {
        current
            .get(name)
            .or_else(|| defaults.get(name))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let fallback = GlobalSettings::default();
    let default_mode = p
        .string("default_mode", &get("default_mode"))
        .and_then(|s| match s.as_str() {
            "http" => Some(Mode::Http),
            "tcp" => Some(Mode::Tcp),
            _ => p.bad("default_mode", &get("default_mode"), "must be http or tcp"),
        });
    let default_options = p
        .string("default_options", &get("default_options"))
        .and_then(|s| {
            let mut out: Vec<ProxyOption> = Vec::new();
            for word in s.split(',').map(str::trim).filter(|w| !w.is_empty()) {
                match ProxyOption::parse(word) {
                    Some(o) if !out.contains(&o) => out.push(o),
                    Some(_) => {}
                    None => {
                        let names: Vec<&str> =
                            ProxyOption::ALL.iter().map(|o| o.as_str()).collect();
                        return p.bad(
                            "default_options",
                            &get("default_options"),
                            &format!(
                                "unknown option {}; allowed: {}",
                                show(word),
                                names.join(", ")
                            ),
                        );
                    }
                }
            }
            Some(out)
        });
    let retries = p.int("default_retries", &get("default_retries"), 0, 100);
    let timeouts = p
        .string("default_timeouts", &get("default_timeouts"))
        .and_then(|s| match parse_timeouts(&s) {
            Ok(t) => Some(t),
            Err(why) => p.bad("default_timeouts", &get("default_timeouts"), &why),
        });
    let maxconn = p.int("global_maxconn", &get("global_maxconn"), 1, 10_000_000);
    let hard_stop_after = p
        .string("global_hard_stop_after", &get("global_hard_stop_after"))
        .and_then(|s| match TimeValue::new(s.trim()) {
            Ok(t) => Some(t),
            Err(e) => p.bad(
                "global_hard_stop_after",
                &get("global_hard_stop_after"),
                &e.to_string(),
            ),
        });
    let bind_options = p
        .string(
            "global_default_bind_options",
            &get("global_default_bind_options"),
        )
        .and_then(|s| {
            let mut out = Vec::new();
            for word in s.split([' ', ',']).filter(|w| !w.is_empty()) {
                match TlsBindOption::parse(word) {
                    Some(o) if !out.contains(&o) => out.push(o),
                    Some(_) => {}
                    None => {
                        let names: Vec<&str> =
                            TlsBindOption::ALL.iter().map(|o| o.as_str()).collect();
                        return p.bad(
                            "global_default_bind_options",
                            &get("global_default_bind_options"),
                            &format!(
                                "unknown option {}; allowed: {}",
                                show(word),
                                names.join(", ")
                            ),
                        );
                    }
                }
            }
            Some(out)
        });
    let enable_monitoring = p.bool("enable_monitoring", &get("enable_monitoring"));
    let monitoring_port = p
        .int("monitoring_port", &get("monitoring_port"), 1, 65535)
        .and_then(|n| Port::new(n as u16).ok());
    let allowed = p
        .string("monitoring_allowed_cidr", &get("monitoring_allowed_cidr"))
        .and_then(|s| {
            let mut out = Vec::new();
            for word in s.split([' ', ',']).filter(|w| !w.is_empty()) {
                match Cidr::parse(word) {
                    Ok(c) => out.push(c),
                    Err(e) => {
                        return p.bad(
                            "monitoring_allowed_cidr",
                            &get("monitoring_allowed_cidr"),
                            &e.to_string(),
                        )
                    }
                }
            }
            Some(out)
        });
    let username = p
        .string("monitoring_username", &get("monitoring_username"))
        .and_then(|s| match UserName::new(&s) {
            Ok(u) => Some(u),
            Err(e) => p.bad(
                "monitoring_username",
                &get("monitoring_username"),
                &e.to_string(),
            ),
        });
    let password = match get("monitoring_password") {
        Value::String(s) => Some(s),
        Value::Null => Some(String::new()),
        _ => {
            p.0.push(ConfigProblem {
                option: "monitoring_password",
                value: "<hidden>".into(),
                problem: "must be a string".into(),
            });
            None
        }
    };
    let refresh = p.int(
        "monitoring_stats_refresh",
        &get("monitoring_stats_refresh"),
        0,
        3600,
    );
    let vip = p.string("vip", &get("vip")).and_then(|s| {
        if s.is_empty() {
            Some(None)
        } else {
            match s.parse::<IpAddr>() {
                Ok(ip) => Some(Some(ip)),
                Err(_) => p.bad("vip", &get("vip"), "must be empty or an IPv4/IPv6 address"),
            }
        }
    });
    let external_hostname = p
        .string("external_hostname", &get("external_hostname"))
        .and_then(|s| {
            if s.is_empty() {
                Some(None)
            } else {
                match Hostname::checked(&s) {
                    Ok(h) => Some(Some(h)),
                    Err(e) => p.bad(
                        "external_hostname",
                        &get("external_hostname"),
                        &e.to_string(),
                    ),
                }
            }
        });
    let problems = p.0;
    let parsed = Parsed {
        global: GlobalSettings {
            maxconn: maxconn.map_or(fallback.maxconn, |n| n as u32),
            hard_stop_after: hard_stop_after.unwrap_or(fallback.hard_stop_after),
            timeouts: timeouts.unwrap_or(fallback.timeouts),
            default_mode: default_mode.unwrap_or(fallback.default_mode),
            default_options: Vec::new(),
            default_option_names: default_options.unwrap_or(fallback.default_option_names),
            retries: retries.map_or(fallback.retries, |n| n as u32),
            bind_options: bind_options.unwrap_or(fallback.bind_options),
        },
        monitoring: match (enable_monitoring, monitoring_port, allowed, username) {
            (Some(true), Some(port), Some(allowed), Some(username)) => Some(MonitoringParts {
                port,
                allowed,
                username,
                refresh_s: refresh.filter(|r| *r > 0).map(|r| r as u32),
            }),
            _ => None,
        },
        password: password.unwrap_or_default(),
        vip: vip.flatten(),
        external_hostname: external_hostname.flatten(),
    };
    (parsed, problems)
}

struct MonitoringParts {
    port: Port,
    allowed: Vec<Cidr>,
    username: UserName,
    refresh_s: Option<u32>,
}

struct Parsed {
    global: GlobalSettings,
    monitoring: Option<MonitoringParts>,
    password: String,
    vip: Option<IpAddr>,
    external_hostname: Option<Hostname>,
}

/// Collects problems; each helper returns `None` after recording one.
struct Problems(Vec<ConfigProblem>);

impl Problems {
    fn bad<T>(&mut self, option: &'static str, value: &Value, problem: &str) -> Option<T> {
        let shown = match value {
            Value::String(s) => show(s),
            other => show(&other.to_string()),
        };
        self.0.push(ConfigProblem {
            option,
            value: shown,
            problem: problem.to_owned(),
        });
        None
    }

    fn string(&mut self, option: &'static str, value: &Value) -> Option<String> {
        match value {
            Value::String(s) => Some(s.clone()),
            Value::Null => Some(String::new()),
            other => self.bad(option, other, "must be a string"),
        }
    }

    fn int(&mut self, option: &'static str, value: &Value, min: i64, max: i64) -> Option<i64> {
        // Juju prints ints as JSON numbers; a decimal string is accepted too.
        let n = match value {
            Value::Number(n) => n.as_i64(),
            Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                s.parse().ok()
            }
            _ => None,
        };
        match n {
            Some(n) if (min..=max).contains(&n) => Some(n),
            Some(_) => self.bad(option, value, &format!("must be between {min} and {max}")),
            None => self.bad(option, value, "must be an integer"),
        }
    }

    fn bool(&mut self, option: &'static str, value: &Value) -> Option<bool> {
        match value {
            Value::Bool(b) => Some(*b),
            other => self.bad(option, other, "must be true or false"),
        }
    }
}

/// `"queue 20000, client 50000, connect 5s"` → pairs; a value without unit is milliseconds,
/// HAProxy's default unit, so it is printed as given.
pub fn parse_timeouts(text: &str) -> Result<Vec<(TimeoutName, TimeValue)>, String> {
    let mut out: Vec<(TimeoutName, TimeValue)> = Vec::new();
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let words: Vec<&str> = entry.split_whitespace().collect();
        let [name, value] = words[..] else {
            return Err(format!("{} is not '<name> <time>'", show(entry)));
        };
        let name = TimeoutName::parse(name).ok_or_else(|| {
            format!(
                "unknown timeout {}; allowed: connect, client, server, http-request, \
                 http-keep-alive, queue, check, tunnel, client-fin, server-fin",
                show(name)
            )
        })?;
        let value = TimeValue::new(value).map_err(|e: InvalidValue| e.to_string())?;
        if out.iter().any(|(n, _)| *n == name) {
            return Err(format!("timeout {name} is given twice"));
        }
        out.push((name, value));
    }
    Ok(out)
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The effective options and the problems with the current ones. With no problem, the current
/// values are applied and become the last valid set; with any, the last valid set applies.
pub fn resolve(
    current: &Map<String, Value>,
    state_dir: &Path,
) -> (EffectiveConfig, Vec<ConfigProblem>) {
    let (parsed, mut problems) = parse(current);
    if problems.is_empty() {
        match finish(parsed, state_dir) {
            Ok(effective) => {
                let mut kept: Map<String, Value> = current
                    .iter()
                    .filter(|(k, _)| OPTIONS.contains(&k.as_str()) && *k != "monitoring_password")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                kept.insert("monitoring_password".into(), Value::Null);
                if let Err(e) = write_private(
                    &state_dir.join(LAST_VALID_FILE),
                    serde_json::to_string_pretty(&kept)
                        .unwrap_or_default()
                        .as_bytes(),
                ) {
                    tracing::warn!(error = %e, "cannot persist the last valid config");
                }
                return (effective, problems);
            }
            Err(e) => problems.push(ConfigProblem {
                option: "monitoring_password",
                value: "<hidden>".into(),
                problem: format!("cannot store its hash: {e}"),
            }),
        }
    }
    for problem in &problems {
        tracing::warn!(%problem, "bad charm config value; keeping the last valid set");
    }
    (last_valid(state_dir), problems)
}

/// The last valid set, or the defaults; its password hash is the persisted one.
fn last_valid(state_dir: &Path) -> EffectiveConfig {
    let stored: Map<String, Value> = fs::read_to_string(state_dir.join(LAST_VALID_FILE))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let (parsed, problems) = parse(&stored);
    let parsed = if problems.is_empty() {
        parsed
    } else {
        parse(&defaults()).0
    };
    let hash = read_hash(state_dir);
    let monitoring = match (parsed.monitoring, hash) {
        (Some(m), Some(hash)) => Some(Monitoring {
            port: m.port,
            allowed: m.allowed,
            username: m.username,
            password_hash: hash,
            refresh_s: m.refresh_s,
        }),
        // No hash was ever stored: no stats page rather than one with an unknown password.
        _ => None,
    };
    EffectiveConfig {
        global: parsed.global,
        monitoring,
        vip: parsed.vip,
        external_hostname: parsed.external_hostname,
    }
}

fn finish(parsed: Parsed, state_dir: &Path) -> Result<EffectiveConfig, StateError> {
    let monitoring = match parsed.monitoring {
        Some(m) => {
            let password = if parsed.password.is_empty() {
                generated_password(state_dir)?
            } else {
                parsed.password
            };
            Some(Monitoring {
                port: m.port,
                allowed: m.allowed,
                username: m.username,
                password_hash: stable_hash(&password, state_dir)?,
                refresh_s: m.refresh_s,
            })
        }
        None => None,
    };
    Ok(EffectiveConfig {
        global: parsed.global,
        monitoring,
        vip: parsed.vip,
        external_hostname: parsed.external_hostname,
    })
}

fn read_hash(state_dir: &Path) -> Option<CryptHash> {
    let text = fs::read_to_string(state_dir.join(HASH_FILE)).ok()?;
    CryptHash::new(text.trim()).ok()
}

/// The stored hash when it matches `password` (same salt, same result), else a new salt and
/// hash, stored 0600.
fn stable_hash(password: &str, state_dir: &Path) -> Result<CryptHash, StateError> {
    if let Some(stored) = read_hash(state_dir) {
        if let Some(salt) = stored.as_str().split('$').nth(2) {
            if sha512_crypt(password, salt).as_ref() == Some(&stored) {
                return Ok(stored);
            }
        }
    }
    let salt = random_token(16, state_dir)?;
    let hash = sha512_crypt(password, &salt).ok_or_else(|| StateError::Io {
        action: "hashing for",
        path: state_dir.join(HASH_FILE),
        source: std::io::Error::other("the SHA-512 crypt result did not validate"),
    })?;
    write_private(&state_dir.join(HASH_FILE), format!("{hash}\n").as_bytes())?;
    Ok(hash)
}

/// The generated stats password (made once, 24 characters, stored 0600).
fn generated_password(state_dir: &Path) -> Result<String, StateError> {
    let path = state_dir.join(GENERATED_PASSWORD_FILE);
    if let Ok(text) = fs::read_to_string(&path) {
        let text = text.trim();
        if text.len() >= 16 {
            return Ok(text.to_owned());
        }
    }
    let password = random_token(24, state_dir)?;
    write_private(&path, password.as_bytes())?;
    Ok(password)
}

const CRYPT_ALPHABET: &[u8; 64] =
    b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn random_token(len: usize, state_dir: &Path) -> Result<String, StateError> {
    let mut bytes = vec![0u8; len];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|source| StateError::Io {
            action: "reading randomness for",
            path: state_dir.to_path_buf(),
            source,
        })?;
    Ok(bytes
        .iter()
        .map(|b| CRYPT_ALPHABET[usize::from(b & 63)] as char)
        .collect())
}

/// SHA-512 crypt (`$6$<salt>$<86 chars>`, 5000 rounds, as `openssl passwd -6 -salt` prints).
pub fn sha512_crypt(password: &str, salt: &str) -> Option<CryptHash> {
    // Output order of the 64 digest bytes (glibc's sha512-crypt), then 3-byte little-endian
    // groups of the crypt base64 alphabet.
    const ORDER: [usize; 64] = [
        42, 21, 0, 1, 43, 22, 23, 2, 44, 45, 24, 3, 4, 46, 25, 26, 5, 47, 48, 27, 6, 7, 49, 28, 29,
        8, 50, 51, 30, 9, 10, 52, 31, 32, 11, 53, 54, 33, 12, 13, 55, 34, 35, 14, 56, 57, 36, 15,
        16, 58, 37, 38, 17, 59, 60, 39, 18, 19, 61, 40, 41, 20, 62, 63,
    ];
    let params = sha_crypt::Params::new(sha_crypt::Params::RECOMMENDED_ROUNDS).ok()?;
    let digest = sha_crypt::sha512_crypt(password.as_bytes(), salt.as_bytes(), params);
    let bytes: Vec<u8> = ORDER.iter().map(|&i| digest[i]).collect();
    let mut encoded = String::with_capacity(86);
    for chunk in bytes.chunks(3) {
        let w = chunk
            .iter()
            .enumerate()
            .fold(0u32, |w, (i, b)| w | u32::from(*b) << (8 * i));
        let chars = chunk.len() + 1;
        for n in 0..chars {
            encoded.push(CRYPT_ALPHABET[((w >> (6 * n)) & 63) as usize] as char);
        }
    }
    let salt: String = salt.chars().take(16).collect();
    CryptHash::new(&format!("$6${salt}${encoded}")).ok()
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    crate::private_file::write(path, bytes, 0o600).map_err(|e| StateError::Io {
        action: e.action,
        path: e.path,
        source: e.source,
    })
}

#[cfg(test)]
mod tests;
