//! One requirer unit's `cert-request` (`spec/ssl-termination.md` §1.3, §1.4, §2): wire text in,
//! a validated [`CertRequest`] (or "no request", or a [`RequestError`] naming the field) out.
//!
//! Every field is checked here; nothing that reaches the plan is a raw string. Passwords are
//! kept only inside [`Password`], whose `Debug` hides them, and never appear in a message.
//! This module is pure: no files, no hook tools, no HAProxy.

use crate::plan::{Fqdn, Host, Port, TimeValue, UserName};
use serde_json::{Map, Value};
use std::fmt;

/// The bag key requirers write.
pub const KEY: &str = "cert-request";

/// At most this many names in one certificate (§2).
pub const MAX_NAMES: usize = 100;
/// At most this many upstreams (§2).
pub const MAX_UPSTREAMS: usize = 64;

/// A basic-auth password; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<hidden>)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: UserName,
    pub password: Password,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Upstream {
    pub host: HostKey,
    pub port: Port,
}

/// [`Host`] with an order, so upstreams can be de-duplicated and sorted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HostKey(pub String);

impl Upstream {
    pub fn host(&self) -> Host {
        // Built from a parsed Host's own text, so it parses again.
        Host::parse(&self.host.0).unwrap_or_else(|e| unreachable!("re-parsing a host: {e}"))
    }
}

/// A validated request: one site, one certificate with every name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertRequest {
    /// Normalized, request order, de-duplicated; the first is the primary name.
    pub fqdns: Vec<Fqdn>,
    /// `contact-email`, `None` for `""`.
    pub contact: Option<String>,
    pub credentials: Option<Credentials>,
    pub upstreams: Vec<Upstream>,
    /// From `nginx-config client_max_body_size` (bytes); `None` = unlimited.
    pub body_limit: Option<u64>,
    /// From `proxy_read_timeout`/`proxy_send_timeout`.
    pub server_timeout: Option<TimeValue>,
    /// From `proxy_connect_timeout`.
    pub connect_timeout: Option<TimeValue>,
    pub warnings: Vec<String>,
}

impl CertRequest {
    pub fn primary(&self) -> &Fqdn {
        &self.fqdns[0]
    }
}

/// A refused request: the field and the whole message (`fqdn "*.a.com" is a wildcard ...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestError {
    pub field: String,
    pub message: String,
    /// The names we could read, for `status-detail` (`[]` if unreadable, §1.6).
    pub fqdns: Vec<String>,
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// What one unit bag says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// Falsy or missing: no site (§1.4).
    Withdrawn,
    Request(CertRequest),
    Rejected(RequestError),
}

/// A value shown in a message: JSON text, cut to 80 characters.
fn quoted(value: &Value) -> String {
    let text = match value {
        Value::String(s) => serde_json::to_string(s).unwrap_or_default(),
        other => other.to_string(),
    };
    if text.chars().count() > 80 {
        text.chars().take(79).collect::<String>() + "…"
    } else {
        text
    }
}

fn quoted_str(value: &str) -> String {
    quoted(&Value::String(value.to_owned()))
}

/// Python truthiness of a decoded value (§1.4: the reference provider skips falsy values).
pub fn is_falsy(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

/// Parse the raw bag value (`None` = key absent).
pub fn parse(raw: Option<&str>) -> Parsed {
    let Some(raw) = raw else {
        return Parsed::Withdrawn;
    };
    // The layer passes non-JSON through as the raw string (§1.2).
    let value = serde_json::from_str::<Value>(raw).unwrap_or_else(|_| Value::String(raw.into()));
    if is_falsy(&value) {
        return Parsed::Withdrawn;
    }
    let Value::Object(object) = value else {
        return Parsed::Rejected(RequestError {
            field: KEY.into(),
            message: "cert-request is not a JSON object".into(),
            fqdns: Vec::new(),
        });
    };
    match validate(&object) {
        Ok(request) => Parsed::Request(request),
        Err(e) => Parsed::Rejected(e),
    }
}

fn validate(object: &Map<String, Value>) -> Result<CertRequest, RequestError> {
    let mut warnings = Vec::new();
    let readable = readable_names(object.get("fqdn"));
    let fail = |field: &str, message: String| RequestError {
        field: field.to_owned(),
        message,
        fqdns: readable.clone(),
    };
    let fqdns = parse_fqdns(object.get("fqdn"), &mut warnings).map_err(|m| fail("fqdn", m))?;
    let contact =
        parse_contact(object.get("contact-email")).map_err(|m| fail("contact-email", m))?;
    let credentials =
        parse_credentials(object.get("credentials")).map_err(|m| fail("credentials", m))?;
    let upstreams = parse_upstreams(object.get("upstreams")).map_err(|m| fail("upstreams", m))?;
    let mut request = CertRequest {
        fqdns,
        contact,
        credentials,
        upstreams,
        body_limit: None,
        server_timeout: None,
        connect_timeout: None,
        warnings: Vec::new(),
    };
    translate_nginx_config(object.get("nginx-config"), &mut request, &mut warnings);
    if object.get("tcp").is_some_and(|v| !is_falsy(v)) {
        warnings.push("tcp streams are not supported".into());
    }
    request.warnings = warnings;
    Ok(request)
}

/// The names as far as they can be read, for a rejected request's `status-detail`.
fn readable_names(value: Option<&Value>) -> Vec<String> {
    let mut ignored = Vec::new();
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(normalize)
            .filter(|n| !n.is_empty())
            .collect(),
        Some(v @ Value::String(_)) => parse_fqdns(Some(v), &mut ignored)
            .map(|names| names.iter().map(ToString::to_string).collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

fn normalize(name: &str) -> String {
    let name = name.trim().to_ascii_lowercase();
    name.strip_suffix('.').unwrap_or(&name).to_owned()
}

fn parse_fqdns(value: Option<&Value>, warnings: &mut Vec<String>) -> Result<Vec<Fqdn>, String> {
    let names: Vec<String> = match value {
        None | Some(Value::Null) => return Err("fqdn is missing".into()),
        Some(Value::String(text)) => {
            warnings.push("fqdn is a string, not a list: split on whitespace".into());
            text.split_whitespace().map(str::to_owned).collect()
        }
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(s.clone()),
                other => Err(format!("fqdn[{i}] {} is not a string", quoted(other))),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => return Err(format!("fqdn {} is not a list of names", quoted(other))),
    };
    let mut out: Vec<Fqdn> = Vec::new();
    for raw in &names {
        let name = normalize(raw);
        let fqdn = check_fqdn(&name).map_err(|why| format!("fqdn {} {why}", quoted_str(raw)))?;
        if !out.contains(&fqdn) {
            out.push(fqdn);
        }
    }
    if out.is_empty() {
        return Err("fqdn is empty".into());
    }
    if out.len() > MAX_NAMES {
        return Err(format!(
            "fqdn has {} names, more than {MAX_NAMES}",
            out.len()
        ));
    }
    Ok(out)
}

/// The LDH rules of §2, then the plan's own allow-list.
pub fn check_fqdn(name: &str) -> Result<Fqdn, &'static str> {
    if name.contains('*') {
        return Err("is a wildcard: HTTP-01 cannot prove it");
    }
    if !name.is_ascii() {
        return Err("is not ASCII (use the xn-- form)");
    }
    let bare = name.trim_start_matches('[').trim_end_matches(']');
    if bare.parse::<std::net::IpAddr>().is_ok() {
        return Err("is an IP address, not a name");
    }
    if name.is_empty() || name.len() > 253 {
        return Err("is not a host name of at most 253 characters");
    }
    let labels: Vec<&str> = name.split('.').collect();
    if labels.len() < 2 {
        return Err("is not a fully qualified name (two labels at least)");
    }
    for label in &labels {
        let ldh = (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ldh {
            return Err("is not a valid host name (labels of 1-63 letters, digits, '-')");
        }
    }
    if labels
        .last()
        .is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err("is not a valid host name (the last label is all digits)");
    }
    Fqdn::new(name).map_err(|_| "is not a valid host name")
}

fn parse_contact(value: Option<&Value>) -> Result<Option<String>, String> {
    let text = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s,
        Some(other) => return Err(format!("contact-email {} is not a string", quoted(other))),
    };
    if text.is_empty() {
        return Ok(None);
    }
    check_email(text)
        .map(|()| Some(text.clone()))
        .map_err(|why| format!("contact-email {} {why}", quoted_str(text)))
}

/// §2 `contact-email`: ≤ 254 characters, one `@` between non-empty parts, no whitespace or
/// control characters. Shared with the `acme_contact_email` option.
pub fn check_email(text: &str) -> Result<(), &'static str> {
    if text.chars().count() > 254 {
        return Err("is longer than 254 characters");
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("contains whitespace or a control character");
    }
    match text.split_once('@') {
        Some((local, domain))
            if !local.is_empty() && !domain.is_empty() && !domain.contains('@') =>
        {
            Ok(())
        }
        _ => Err("is not an address with one '@'"),
    }
}

/// Python's `str.split()` whitespace: Unicode White_Space plus the separators U+001C-U+001F.
fn python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

const CREDENTIALS_SHAPE: &str =
    "credentials must be \"user password\": one pair, no spaces in the password";

fn parse_credentials(value: Option<&Value>) -> Result<Option<Credentials>, String> {
    let text = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s,
        Some(_) => return Err("credentials is not a string".into()),
    };
    let tokens: Vec<&str> = text.split(python_space).filter(|t| !t.is_empty()).collect();
    let (user, password) = match tokens.as_slice() {
        [] => return Ok(None),
        [user, password] => (*user, *password),
        _ => return Err(CREDENTIALS_SHAPE.into()),
    };
    // Never show the password; the user name is shown only when it is printable ASCII.
    let user_ok = (1..=64).contains(&user.len())
        && user.bytes().all(|b| {
            (0x21..=0x7e).contains(&b) && !matches!(b, b':' | b'#' | b'"' | b'\'' | b'\\')
        });
    if !user_ok {
        return Err(
            "credentials user must be 1-64 printable ASCII characters without : # \" ' \\".into(),
        );
    }
    let user = UserName::new(user).map_err(|_| {
        format!(
            "credentials user {} cannot be an HAProxy userlist user (1-32 letters, digits, '_', '.', '-')",
            quoted_str(user)
        )
    })?;
    if password.chars().count() > 1024 || password.chars().any(char::is_control) {
        return Err(
            "credentials password must be 1-1024 characters without control characters".into(),
        );
    }
    Ok(Some(Credentials {
        user,
        password: Password(password.to_owned()),
    }))
}

fn parse_upstreams(value: Option<&Value>) -> Result<Vec<Upstream>, String> {
    let items = match value {
        None | Some(Value::Null) => return Err("upstreams is missing".into()),
        Some(Value::Array(items)) => items,
        Some(other) => return Err(format!("upstreams {} is not a list", quoted(other))),
    };
    if items.is_empty() {
        return Err("upstreams is empty".into());
    }
    if items.len() > MAX_UPSTREAMS {
        return Err(format!(
            "upstreams has {} entries, more than {MAX_UPSTREAMS}",
            items.len()
        ));
    }
    let mut out: Vec<Upstream> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Value::Object(fields) = item else {
            return Err(format!("upstreams[{i}] {} is not an object", quoted(item)));
        };
        let upstream = parse_upstream(i, fields)?;
        if !out.contains(&upstream) {
            out.push(upstream);
        }
    }
    Ok(out)
}

fn parse_upstream(i: usize, fields: &Map<String, Value>) -> Result<Upstream, String> {
    let non_empty = |key: &str| match fields.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Some(Ok(s.as_str())),
        None | Some(Value::Null) | Some(Value::String(_)) => None,
        Some(other) => Some(Err(format!(
            "upstreams[{i}].{key} {} is not a host",
            quoted(other)
        ))),
    };
    let (key, host) = match non_empty("hostname") {
        Some(h) => ("hostname", h?),
        None => match non_empty("private-address") {
            Some(h) => ("private-address", h?),
            None => return Err(format!("upstreams[{i}] has no hostname or private-address")),
        },
    };
    let bare = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(inner) if inner.parse::<std::net::Ipv6Addr>().is_ok() => inner,
        _ => host,
    };
    let parsed = Host::parse(bare)
        .map_err(|_| format!("upstreams[{i}].{key} {} is not a host", quoted_str(host)))?;
    let text = match &parsed {
        Host::Ip(ip) => ip.to_string(),
        Host::Name(name) => name.to_string(),
    };
    let port_value = fields.get("port").unwrap_or(&Value::Null);
    let bad_port = || format!("upstreams[{i}].port {} is not a port", quoted(port_value));
    let number = match port_value {
        Value::String(s) if (1..=5).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse::<u64>().ok()
        }
        Value::Number(n) => n.as_u64(),
        _ => None,
    };
    let port = number
        .and_then(|n| u16::try_from(n).ok())
        .and_then(|n| Port::new(n).ok())
        .ok_or_else(bad_port)?;
    Ok(Upstream {
        host: HostKey(text),
        port,
    })
}

/// §2 `nginx-config`: a few directives become HAProxy settings; everything else only warns.
/// Nothing from here is ever copied into `haproxy.cfg` as text.
fn translate_nginx_config(
    value: Option<&Value>,
    request: &mut CertRequest,
    warnings: &mut Vec<String>,
) {
    let entries: Vec<String> = match value {
        None | Some(Value::Null) => return,
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect(),
        Some(Value::String(s)) => s.split(';').map(str::to_owned).collect(),
        Some(other) => vec![other.to_string()],
    };
    for entry in entries {
        let trimmed = entry.trim();
        if trimmed.is_empty() {
            continue;
        }
        let line = trimmed.strip_suffix(';').unwrap_or(trimmed).trim();
        let (name, value) = line
            .split_once(char::is_whitespace)
            .map_or((line, ""), |(n, v)| (n, v.trim()));
        let name = name.strip_suffix(':').unwrap_or(name);
        let applied = match name {
            "client_max_body_size" => parse_size(value).map(|size| {
                request.body_limit = (size > 0).then_some(size);
            }),
            "proxy_read_timeout" | "proxy_send_timeout" => parse_nginx_time(value).map(|t| {
                request.server_timeout = Some(t);
            }),
            "proxy_connect_timeout" => parse_nginx_time(value).map(|t| {
                request.connect_timeout = Some(t);
            }),
            _ => None,
        };
        if applied.is_none() {
            let shown: String = trimmed
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .take(200)
                .collect();
            warnings.push(format!("nginx-config ignored: {shown}"));
        }
    }
}

/// nginx sizes: digits with an optional `k`/`m`/`g` (either case).
fn parse_size(text: &str) -> Option<u64> {
    let (digits, unit) = match text.char_indices().last()? {
        (i, c) if c.is_ascii_alphabetic() => (&text[..i], c.to_ascii_lowercase()),
        _ => (text, ' '),
    };
    if digits.is_empty() || digits.len() > 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    let factor = match unit {
        ' ' => 1,
        'k' => 1 << 10,
        'm' => 1 << 20,
        'g' => 1 << 30,
        _ => return None,
    };
    n.checked_mul(factor)
}

/// nginx times: digits with `ms`/`s`/`m`/`h`/`d`; no unit means seconds (HAProxy: ms).
fn parse_nginx_time(text: &str) -> Option<TimeValue> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    if digits.is_empty() || !matches!(unit, "" | "ms" | "s" | "m" | "h" | "d") {
        return None;
    }
    let unit = if unit.is_empty() { "s" } else { unit };
    TimeValue::new(&format!("{digits}{unit}")).ok()
}

#[cfg(test)]
mod tests;
