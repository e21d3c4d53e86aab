//! Free-form HAProxy lines from operators and requirers, admitted only through an allow-list.
//!
//! Classic `service_options` / `server_options` (`spec/http.md` §5) are tokenized and checked
//! keyword by keyword, argument by argument; the validated tokens are re-rendered joined by one
//! space, the input string is never copied. A [`Directive`] knows where it goes (frontend,
//! backend or both, `http.md` §3 "Option placement").
//!
//! Line rules (every line, `http.md` §5): printable ASCII, at most 1024 bytes, no `"` `'` `\`
//! `$` `#` (HAProxy's lexer treats them as syntax and expands `"${VAR}"`, `haproxy.md` §5), no
//! `%[` outside `http-request`/`http-response` header values, no `-f`/`-M` token (they load
//! files), no `env(`, `lua.`, `map(`, `map_`.
//!
//! This module knows nothing about Juju, relations or HAProxy processes.

mod composed;

use super::types::{InvalidValue, TimeValue};
use serde::Serialize;
use std::fmt;

/// Where a directive is rendered (`spec/http.md` §3 "Rendering").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Placement {
    Frontend,
    Backend,
    Both,
}

/// One allow-listed proxy directive: validated words, printed joined by single spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Directive {
    words: Vec<String>,
    placement: Placement,
}

/// Longest line accepted (`http.md` §5).
pub const MAX_LINE: usize = 1024;

const EXPECTED_DIRECTIVE: &str = "an allow-listed HAProxy directive (http.md §5)";
const EXPECTED_LINE: &str =
    "a line of at most 1024 printable ASCII characters without quotes, backslash, '$' or '#'";
const EXPECTED_NO_FILES: &str = "allowed: the -f and -M flags load files";
const EXPECTED_NO_ENV: &str = "allowed: env(, lua., map( and map_ are refused";
const EXPECTED_NO_FETCH: &str =
    "allowed: '%[' is only accepted in http-request/http-response header values";
const EXPECTED_REMOVED: &str =
    "allowed: reqrep/reqirep/reqadd/reqdel/rspadd/rsprep/rspirep/rspdel were removed in HAProxy 2.1; use http-request/http-response";
const EXPECTED_DEFAULT_BACKEND: &str = "allowed: default_backend is written by the charm";
const EXPECTED_ERRORFILE: &str = "allowed: use the service's errorfiles field instead of errorfile";
const EXPECTED_BIND: &str =
    "allowed: bind lines are written by the charm (service_host, service_port, crts)";
const EXPECTED_SERVER: &str = "allowed: servers come from the servers field or related units";
const EXPECTED_STATS: &str = "allowed: stats is configured by the enable_monitoring option";
const EXPECTED_ARGS: &str = "a directive with allow-listed arguments (http.md §5 table)";
const EXPECTED_SERVER_OPTION: &str =
    "an allow-listed server option (http.md §5: check, check-ssl, ssl, verify none, ca-file @system-ca, backup, disabled, agent-check, send-proxy, send-proxy-v2, proto h2, inter, fastinter, downinter, slowstart, agent-inter, rise, fall, maxconn, maxqueue, weight, error-limit, port, agent-port, cookie, sni, alpn, check-alpn, observe, init-addr, on-marked-down, on-marked-up)";

/// True for a line that HAProxy would read as a comment: callers drop it (`http.md` §5,
/// Landscape sends one) instead of rejecting the service.
pub fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

/// The rules every line obeys before its words are looked at.
fn check_line(line: &str) -> Result<Vec<&str>, InvalidValue> {
    let bad = |expected| Err(InvalidValue::new(line, expected));
    if line.len() > MAX_LINE
        || !line.bytes().all(|b| (0x20..=0x7e).contains(&b))
        || line.contains(['"', '\'', '\\', '$', '#'])
    {
        return bad(EXPECTED_LINE);
    }
    let lower = line.to_ascii_lowercase();
    if ["env(", "lua.", "map(", "map_"]
        .iter()
        .any(|bad| lower.contains(bad))
    {
        return bad(EXPECTED_NO_ENV);
    }
    let words: Vec<&str> = line.split(' ').filter(|w| !w.is_empty()).collect();
    if words.iter().any(|w| *w == "-f" || *w == "-M") {
        return bad(EXPECTED_NO_FILES);
    }
    if words.is_empty() {
        return bad(EXPECTED_DIRECTIVE);
    }
    Ok(words)
}

/// `%` in a log-format word: `%%` always; `%[fetch]` and `%{flags}` only where sample fetches
/// are allowed (header values). Anything else makes HAProxy refuse the config.
fn log_format_ok(word: &str, fetches: bool) -> bool {
    let bytes = word.as_bytes();
    let mut k = 0;
    while k < bytes.len() {
        if bytes[k] == b'%' {
            match bytes.get(k + 1) {
                Some(b'%') => k += 1,
                Some(b'[') if fetches => match word[k..].find(']') {
                    Some(end) => k += end,
                    None => return false,
                },
                Some(b'{') if fetches => {}
                _ => return false,
            }
        }
        k += 1;
    }
    true
}

fn is_name(word: &str) -> bool {
    (1..=128).contains(&word.len())
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

fn is_number(word: &str) -> bool {
    (1..=10).contains(&word.len()) && word.bytes().all(|b| b.is_ascii_digit())
}

fn is_time(word: &str) -> bool {
    TimeValue::new(word).is_ok()
}

/// A sample fetch or converter chain such as `hdr(host)`, `req.hdr(host),lower`, `src`.
fn is_fetch(word: &str) -> bool {
    (1..=256).contains(&word.len())
        && word.as_bytes()[0].is_ascii_alphabetic()
        && word.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'.' | b'_' | b':' | b'-' | b'(' | b')' | b',' | b'/' | b'='
                )
        })
}

/// A size such as `10k`, `1m`, `200000`.
fn is_size(word: &str) -> bool {
    let digits = word.trim_end_matches(['k', 'K', 'm', 'M', 'g', 'G']);
    word.len() - digits.len() <= 1 && is_number(digits)
}

/// A cursor over a line's words. Every word is taken through one of its methods, each of which
/// applies a rule; `finish` refuses leftovers, so no word escapes checking.
struct Words<'a> {
    line: &'a str,
    words: Vec<&'a str>,
    pos: usize,
}

impl<'a> Words<'a> {
    fn fail<T>(&self) -> Result<T, InvalidValue> {
        Err(InvalidValue::new(self.line, EXPECTED_ARGS))
    }

    fn peek(&self) -> Option<&'a str> {
        self.words.get(self.pos).copied()
    }

    fn done(&self) -> bool {
        self.pos >= self.words.len()
    }

    /// Any word, except one holding `%[` (sample fetches run only in header values).
    fn any(&mut self) -> Result<&'a str, InvalidValue> {
        match self.peek() {
            Some(w) if w.contains("%[") => Err(InvalidValue::new(self.line, EXPECTED_NO_FETCH)),
            Some(w) => {
                self.pos += 1;
                Ok(w)
            }
            None => self.fail(),
        }
    }

    /// A header value of `http-request`/`http-response set-header|add-header`: `%[` allowed.
    fn header_value(&mut self) -> Result<&'a str, InvalidValue> {
        match self.peek() {
            Some(w) if !matches!(w, "if" | "unless") && log_format_ok(w, true) => {
                self.pos += 1;
                Ok(w)
            }
            _ => self.fail(),
        }
    }

    /// A log-format argument outside header values (`set-path`, `redirect location`, ...):
    /// `%` only as `%%`, or HAProxy refuses the whole config (`truncated line after '%'`).
    fn format_value(&mut self) -> Result<&'a str, InvalidValue> {
        match self.peek() {
            Some(w) if log_format_ok(w, false) => self.any(),
            _ => self.fail(),
        }
    }

    fn check(&mut self, rule: fn(&str) -> bool) -> Result<&'a str, InvalidValue> {
        let word = self.any()?;
        if rule(word) {
            Ok(word)
        } else {
            self.pos -= 1;
            self.fail()
        }
    }

    fn one_of(&mut self, choices: &[&str]) -> Result<&'a str, InvalidValue> {
        let word = self.any()?;
        if choices.contains(&word) {
            Ok(word)
        } else {
            self.pos -= 1;
            self.fail()
        }
    }

    fn eat(&mut self, word: &str) -> bool {
        if self.peek() == Some(word) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// An optional `if|unless <condition>` at the end of the line.
    fn condition(&mut self) -> Result<(), InvalidValue> {
        if self.done() {
            return Ok(());
        }
        self.one_of(&["if", "unless"])?;
        if self.done() {
            return self.fail();
        }
        let mut in_braces = false;
        let mut first_in_braces = false;
        while let Some(word) = self.peek() {
            match word {
                "{" | "!{" if !in_braces => {
                    in_braces = true;
                    first_in_braces = true;
                    self.pos += 1;
                }
                "}" if in_braces && !first_in_braces => {
                    in_braces = false;
                    self.pos += 1;
                }
                _ if in_braces && first_in_braces => {
                    self.check(is_fetch)?;
                    first_in_braces = false;
                }
                _ if in_braces => {
                    if word.contains(['{', '}']) {
                        return self.fail();
                    }
                    self.any()?;
                }
                "!" | "||" | "or" => self.pos += 1,
                _ => {
                    // A named ACL, optionally negated as one word (`!api`).
                    let name = word.strip_prefix('!').unwrap_or(word);
                    if !is_name(name) {
                        return self.fail();
                    }
                    self.pos += 1;
                }
            }
        }
        if in_braces {
            return self.fail();
        }
        Ok(())
    }

    fn finish(self) -> Result<Vec<String>, InvalidValue> {
        if !self.done() {
            return self.fail();
        }
        Ok(self.words.iter().map(|w| (*w).to_owned()).collect())
    }
}

impl Directive {
    /// Check one line against the allow-list. Comment lines are refused here: callers drop them
    /// first with [`is_comment`].
    pub fn parse(line: &str) -> Result<Directive, InvalidValue> {
        let words = check_line(line)?;
        let mut w = Words {
            line,
            words,
            pos: 0,
        };
        let keyword = w.any()?;
        let placement = match keyword {
            "mode" => {
                w.one_of(&["http", "tcp"])?;
                Placement::Both
            }
            "balance" => {
                parse_balance(&mut w)?;
                Placement::Backend
            }
            "hash-type" => {
                w.one_of(&["map-based", "consistent"])?;
                if w.peek().is_some_and(|x| x != "avalanche") {
                    w.one_of(&["sdbm", "djb2", "wt6", "crc32", "none"])?;
                }
                w.eat("avalanche");
                Placement::Backend
            }
            "option" => parse_option(&mut w)?,
            "timeout" => {
                let kind = w.one_of(&[
                    "client",
                    "client-fin",
                    "server",
                    "server-fin",
                    "connect",
                    "queue",
                    "check",
                    "tunnel",
                    "http-request",
                    "http-keep-alive",
                ])?;
                w.check(is_time)?;
                if kind == "client" {
                    Placement::Frontend
                } else {
                    Placement::Backend
                }
            }
            "cookie" => {
                parse_cookie(&mut w)?;
                Placement::Backend
            }
            "retries" | "fullconn" => {
                w.check(is_number)?;
                Placement::Backend
            }
            "maxconn" | "backlog" => {
                w.check(is_number)?;
                Placement::Frontend
            }
            "rate-limit" => {
                w.one_of(&["sessions"])?;
                w.check(is_number)?;
                Placement::Frontend
            }
            "acl" => {
                parse_acl(&mut w)?;
                Placement::Frontend
            }
            "use_backend" => {
                w.check(is_name)?;
                if w.done() {
                    return w.fail();
                }
                w.condition()?;
                Placement::Frontend
            }
            "redirect" => {
                parse_redirect(&mut w)?;
                Placement::Frontend
            }
            "http-request" => {
                parse_http_request(&mut w)?;
                Placement::Frontend
            }
            "http-response" => {
                let action = w.one_of(&[
                    "set-header",
                    "add-header",
                    "del-header",
                    "replace-header",
                    "replace-value",
                ])?;
                parse_header_action(&mut w, action)?;
                w.condition()?;
                Placement::Backend
            }
            "http-check" => {
                parse_http_check(&mut w)?;
                Placement::Backend
            }
            "tcp-request" => {
                if w.eat("inspect-delay") {
                    w.check(is_time)?;
                } else {
                    w.one_of(&["content"])?;
                    w.one_of(&["accept", "reject"])?;
                    w.condition()?;
                }
                Placement::Frontend
            }
            "stick-table" => {
                parse_stick_table(&mut w)?;
                Placement::Backend
            }
            "stick" => {
                w.one_of(&["on", "match", "store-request"])?;
                w.check(is_fetch)?;
                if w.eat("table") {
                    w.check(is_name)?;
                }
                w.condition()?;
                Placement::Backend
            }
            "capture" => {
                match w.one_of(&["request", "response", "cookie"])? {
                    "cookie" => {}
                    _ => {
                        w.one_of(&["header"])?;
                    }
                }
                w.check(is_name)?;
                w.one_of(&["len"])?;
                w.check(is_number)?;
                Placement::Frontend
            }
            "reqrep" | "reqirep" | "reqadd" | "reqdel" | "rspadd" | "rsprep" | "rspirep"
            | "rspdel" => return Err(InvalidValue::new(line, EXPECTED_REMOVED)),
            "default_backend" => return Err(InvalidValue::new(line, EXPECTED_DEFAULT_BACKEND)),
            "errorfile" => return Err(InvalidValue::new(line, EXPECTED_ERRORFILE)),
            "bind" => return Err(InvalidValue::new(line, EXPECTED_BIND)),
            "server" => return Err(InvalidValue::new(line, EXPECTED_SERVER)),
            "stats" => return Err(InvalidValue::new(line, EXPECTED_STATS)),
            _ => return Err(InvalidValue::new(line, EXPECTED_DIRECTIVE)),
        };
        let words = w.finish()?;
        Ok(Directive { words, placement })
    }

    pub fn placement(&self) -> Placement {
        self.placement
    }

    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// The backend a `use_backend` line routes to, so the caller can check that it belongs to
    /// the same service (`http.md` §5).
    pub fn use_backend_target(&self) -> Option<&str> {
        match self.words.as_slice() {
            [keyword, target, ..] if keyword == "use_backend" => Some(target),
            _ => None,
        }
    }

    /// `mode http|tcp` when this line sets the proxy mode.
    pub fn mode(&self) -> Option<super::Mode> {
        match self.words.as_slice() {
            [keyword, mode] if keyword == "mode" && mode == "tcp" => Some(super::Mode::Tcp),
            [keyword, mode] if keyword == "mode" && mode == "http" => Some(super::Mode::Http),
            _ => None,
        }
    }
}

fn parse_balance(w: &mut Words) -> Result<(), InvalidValue> {
    let algo = w.any()?;
    match algo {
        "roundrobin" | "static-rr" | "leastconn" | "first" | "source" | "random" => Ok(()),
        "uri" => {
            while !w.done() {
                match w.one_of(&["whole", "len", "depth", "path-only"])? {
                    "len" | "depth" => {
                        w.check(is_number)?;
                    }
                    _ => {}
                }
            }
            Ok(())
        }
        "url_param" => {
            w.check(is_name)?;
            w.eat("check_post");
            Ok(())
        }
        _ => {
            let header = algo
                .strip_prefix("hdr(")
                .and_then(|rest| rest.strip_suffix(')'));
            match header {
                Some(name) if is_name(name) => {
                    w.eat("use_domain_only");
                    Ok(())
                }
                _ => {
                    w.pos -= 1;
                    w.fail()
                }
            }
        }
    }
}

fn parse_option(w: &mut Words) -> Result<Placement, InvalidValue> {
    let name = w.one_of(&[
        "httplog",
        "tcplog",
        "dontlognull",
        "logasap",
        "clitcpka",
        "forwardfor",
        "httpchk",
        "nolinger",
        "redispatch",
        "http-server-close",
        "httpclose",
        "http-keep-alive",
        "abortonclose",
        "ssl-hello-chk",
        "tcp-check",
        "tcpka",
        "srvtcpka",
        "log-health-checks",
        "allbackups",
    ])?;
    match name {
        "forwardfor" => {
            while !w.done() {
                match w.one_of(&["except", "header", "if-none"])? {
                    "except" => {
                        w.check(|x| super::Cidr::parse(x).is_ok())?;
                    }
                    "header" => {
                        w.check(is_name)?;
                    }
                    _ => {}
                }
            }
        }
        "httpchk" => {
            // `<uri>` | `<method> <uri>` | `<method> <uri> <version>`.
            let is_method =
                |x: &str| (1..=16).contains(&x.len()) && x.bytes().all(|b| b.is_ascii_uppercase());
            let is_uri = |x: &str| {
                x.starts_with('/') && x.len() <= 256 && !x.contains(['{', '}']) && !x.contains("%[")
            };
            if w.peek().is_some_and(is_method) {
                w.check(is_method)?;
                w.check(is_uri)?;
                if !w.done() {
                    w.one_of(&["HTTP/1.0", "HTTP/1.1"])?;
                }
            } else if !w.done() {
                w.check(is_uri)?;
            }
        }
        _ => {}
    }
    Ok(match name {
        "httplog" | "tcplog" => Placement::Both,
        "dontlognull" | "logasap" | "clitcpka" => Placement::Frontend,
        _ => Placement::Backend,
    })
}

fn parse_cookie(w: &mut Words) -> Result<(), InvalidValue> {
    w.check(is_name)?;
    while !w.done() {
        match w.one_of(&[
            "insert", "rewrite", "prefix", "indirect", "nocache", "postonly", "preserve",
            "httponly", "secure", "domain", "maxidle", "maxlife",
        ])? {
            "domain" => {
                w.check(is_name)?;
            }
            "maxidle" | "maxlife" => {
                w.check(is_time)?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn parse_acl(w: &mut Words) -> Result<(), InvalidValue> {
    w.check(is_name)?;
    w.check(is_fetch)?;
    // Flags, then values (`--` ends flags).
    while let Some(word) = w.peek() {
        match word {
            "-i" | "-n" => w.pos += 1,
            "-m" => {
                w.pos += 1;
                w.one_of(&[
                    "found", "bool", "int", "ip", "bin", "len", "str", "sub", "reg", "beg", "end",
                    "dir", "dom",
                ])?;
            }
            "--" => {
                w.pos += 1;
                break;
            }
            _ => break,
        }
    }
    while !w.done() {
        if w.peek().is_some_and(|x| x.contains(['{', '}'])) {
            return w.fail();
        }
        w.any()?;
    }
    Ok(())
}

fn parse_redirect(w: &mut Words) -> Result<(), InvalidValue> {
    w.one_of(&["scheme", "location", "prefix"])?;
    let target = w.format_value()?;
    if matches!(target, "if" | "unless" | "code") || target.contains(['{', '}']) {
        w.pos -= 1;
        return w.fail();
    }
    while let Some(word) = w.peek() {
        match word {
            "code" => {
                w.pos += 1;
                w.one_of(&["301", "302", "303", "307", "308"])?;
            }
            "drop-query" | "append-slash" => w.pos += 1,
            _ => break,
        }
    }
    w.condition()
}

/// `set-header|add-header <name> <value>`, `del-header <name>`,
/// `replace-header|replace-value <name> <regex> <replacement>`.
fn parse_header_action(w: &mut Words, action: &str) -> Result<(), InvalidValue> {
    w.check(is_name)?;
    match action {
        "set-header" | "add-header" => {
            w.header_value()?;
        }
        "replace-header" | "replace-value" => {
            w.any()?;
            w.format_value()?;
        }
        _ => {}
    }
    Ok(())
}

fn is_var(word: &str, prefix: &str) -> bool {
    word.strip_prefix(prefix)
        .and_then(|rest| rest.strip_suffix(')'))
        .and_then(|var| var.split_once('.'))
        .is_some_and(|(scope, name)| {
            matches!(scope, "proc" | "sess" | "txn" | "req" | "res")
                && !name.is_empty()
                && name.len() <= 64
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.'))
        })
}

fn parse_http_request(w: &mut Words) -> Result<(), InvalidValue> {
    let action = w.any()?;
    match action {
        "set-header" | "add-header" | "del-header" | "replace-header" | "replace-value" => {
            parse_header_action(w, action)?;
        }
        "replace-path" => {
            w.any()?;
            w.format_value()?;
        }
        "set-path" | "set-query" => {
            w.format_value()?;
        }
        "redirect" => return parse_redirect(w),
        "deny" | "tarpit" => {
            if w.eat("deny_status") {
                w.check(|x| x.len() == 3 && is_number(x))?;
            }
        }
        "allow" => {}
        _ if is_var(action, "set-var(") => {
            w.check(is_fetch)?;
        }
        _ if is_var(action, "unset-var(") => {}
        _ => {
            w.pos -= 1;
            return w.fail();
        }
    }
    w.condition()
}

fn parse_http_check(w: &mut Words) -> Result<(), InvalidValue> {
    match w.one_of(&["expect", "send", "disable-on-404"])? {
        "expect" => {
            w.eat("!");
            w.one_of(&["status", "rstatus", "string", "rstring"])?;
            if w.peek().is_some_and(|x| x.contains(['{', '}'])) {
                return w.fail();
            }
            w.any()?;
        }
        "send" => {
            if w.done() {
                return w.fail();
            }
            while !w.done() {
                match w.one_of(&["meth", "uri", "ver", "hdr", "body"])? {
                    "meth" => {
                        w.check(|x| x.bytes().all(|b| b.is_ascii_uppercase()))?;
                    }
                    "hdr" => {
                        w.check(is_name)?;
                        w.any()?;
                    }
                    _ => {
                        w.any()?;
                    }
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn parse_stick_table(w: &mut Words) -> Result<(), InvalidValue> {
    w.one_of(&["type"])?;
    if let "string" | "binary" = w.one_of(&["ip", "ipv6", "integer", "string", "binary"])? {
        if w.eat("len") {
            w.check(is_number)?;
        }
    }
    w.one_of(&["size"])?;
    w.check(is_size)?;
    while !w.done() {
        match w.one_of(&["expire", "store", "nopurge"])? {
            "expire" => {
                w.check(is_time)?;
            }
            "store" => {
                w.check(is_fetch)?;
            }
            _ => {}
        }
    }
    Ok(())
}

impl fmt::Display for Directive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.words.join(" "))
    }
}

/// One allow-listed server option (`check`, `inter 5s`, `cookie S0`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ServerOption {
    words: Vec<String>,
}

/// How many argument words a server option keyword takes, and their rule.
/// Checks one argument word of a server option, given the option keyword.
type ArgumentRule = fn(&str, &str) -> bool;

fn server_option_arity(keyword: &str) -> Option<(usize, ArgumentRule)> {
    fn none(_: &str, _: &str) -> bool {
        true
    }
    fn time(_: &str, w: &str) -> bool {
        is_time(w)
    }
    fn number(_: &str, w: &str) -> bool {
        is_number(w)
    }
    fn fixed(keyword: &str, w: &str) -> bool {
        match keyword {
            "verify" => w == "none",
            "ca-file" => w == "@system-ca",
            "proto" => w == "h2",
            "observe" => matches!(w, "layer4" | "layer7"),
            "on-marked-down" => w == "shutdown-sessions",
            "on-marked-up" => w == "shutdown-backup-sessions",
            _ => false,
        }
    }
    fn cookie(_: &str, w: &str) -> bool {
        is_name(w)
    }
    fn sni(_: &str, w: &str) -> bool {
        is_fetch(w)
    }
    fn alpn(_: &str, w: &str) -> bool {
        (1..=128).contains(&w.len())
            && w.split(',').all(|p| {
                !p.is_empty()
                    && p.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'/' | b'-'))
            })
    }
    fn init_addr(_: &str, w: &str) -> bool {
        w.split(',')
            .all(|p| matches!(p, "last" | "libc" | "none") || p.parse::<std::net::IpAddr>().is_ok())
    }
    Some(match keyword {
        "check" | "check-ssl" | "ssl" | "backup" | "disabled" | "agent-check" | "send-proxy"
        | "send-proxy-v2" => (0, none),
        "verify" | "ca-file" | "proto" | "observe" | "on-marked-down" | "on-marked-up" => {
            (1, fixed)
        }
        "inter" | "fastinter" | "downinter" | "slowstart" | "agent-inter" => (1, time),
        "rise" | "fall" | "maxconn" | "maxqueue" | "weight" | "error-limit" | "port"
        | "agent-port" => (1, number),
        "cookie" => (1, cookie),
        "sni" => (1, sni),
        "alpn" | "check-alpn" => (1, alpn),
        "init-addr" => (1, init_addr),
        _ => return None,
    })
}

impl ServerOption {
    /// One option: a keyword and its arguments (`inter 5000`). `{i}` must already be replaced.
    pub fn parse(option: &str) -> Result<ServerOption, InvalidValue> {
        let mut options = parse_server_words(option)?;
        match (options.pop(), options.is_empty()) {
            (Some(one), true) => Ok(one),
            _ => Err(InvalidValue::new(option, EXPECTED_SERVER_OPTION)),
        }
    }

    /// A run of options separated by whitespace only (a `servers` entry's option string,
    /// `alpn h2,http/1.1` keeps its comma). `{i}` must already be replaced.
    pub fn parse_all(text: &str) -> Result<Vec<ServerOption>, InvalidValue> {
        parse_server_words(text)
    }

    pub fn words(&self) -> &[String] {
        &self.words
    }
}

fn parse_server_words(text: &str) -> Result<Vec<ServerOption>, InvalidValue> {
    let words = check_line(text)?;
    let bad = || InvalidValue::new(text, EXPECTED_SERVER_OPTION);
    if words.iter().any(|w| w.contains(['{', '}', '%'])) {
        return Err(bad());
    }
    let mut out = Vec::new();
    let mut rest = words.as_slice();
    while let Some((keyword, tail)) = rest.split_first() {
        let (arity, rule) = server_option_arity(keyword).ok_or_else(bad)?;
        if tail.len() < arity || !tail[..arity].iter().all(|w| rule(keyword, w)) {
            return Err(bad());
        }
        let mut option = vec![(*keyword).to_owned()];
        option.extend(tail[..arity].iter().map(|w| (*w).to_owned()));
        out.push(ServerOption { words: option });
        rest = &tail[arity..];
    }
    Ok(out)
}

impl fmt::Display for ServerOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.words.join(" "))
    }
}

/// Server options before the server's index is known: the literal `{i}` (and no other brace)
/// may appear, and is replaced by [`ServerOptionTemplate::instantiate`] (`http.md` §3 step 6).
/// Validation is done with `{i}` replaced by `0`, and again on instantiation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ServerOptionTemplate {
    words: Vec<String>,
}

impl ServerOptionTemplate {
    /// A service-level `server_options` string: split on commas first (as classic did), then
    /// each part on whitespace.
    pub fn parse_service_level(text: &str) -> Result<Vec<ServerOptionTemplate>, InvalidValue> {
        let mut out = Vec::new();
        for part in text.split(',') {
            out.extend(Self::parse_words(part)?);
        }
        Ok(out)
    }

    /// A `servers` entry's options or one list item: split on whitespace only.
    pub fn parse_words(text: &str) -> Result<Vec<ServerOptionTemplate>, InvalidValue> {
        if text.trim().is_empty() {
            return Ok(Vec::new());
        }
        // Validate the shape with the placeholder filled in; keep the template words.
        let filled = text.replace("{i}", "0");
        let options = parse_server_words(&filled).map_err(|e| InvalidValue {
            shown: super::types::show(text),
            ..e
        })?;
        let mut words = check_line_words(text);
        let mut out = Vec::new();
        for option in options {
            let rest = words.split_off(option.words.len().min(words.len()));
            out.push(ServerOptionTemplate { words });
            words = rest;
        }
        Ok(out)
    }

    /// The option for the server at `index` in its backend.
    pub fn instantiate(&self, index: usize) -> Result<ServerOption, InvalidValue> {
        ServerOption::parse(&self.words.join(" ").replace("{i}", &index.to_string()))
    }

    pub fn words(&self) -> &[String] {
        &self.words
    }
}

fn check_line_words(text: &str) -> Vec<String> {
    text.split(' ')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

impl fmt::Display for ServerOptionTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.words.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: &str) -> Directive {
        Directive::parse(line).unwrap_or_else(|e| panic!("{line:?}: {e}"))
    }

    fn refused(line: &str) -> String {
        match Directive::parse(line) {
            Ok(d) => panic!("{line:?} accepted as {d}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn seen_in_real_senders_are_accepted_and_rerendered() {
        for line in [
            "mode http",
            "mode tcp",
            "balance leastconn",
            "balance roundrobin",
            "balance source",
            "cookie SRVNAME insert",
            "cookie SERVERID insert indirect nocache",
            "option forwardfor",
            "option nolinger",
            "option tcplog",
            "option httpchk",
            "option httpchk GET /health",
            "option httpchk HEAD / HTTP/1.0",
            "timeout client 50000",
            "timeout server 30s",
            "timeout connect 5s",
            "hash-type consistent",
            "acl api path_beg -i /api",
            "acl host hdr(host) -m found",
            "use_backend landscape-http-api if api",
            "redirect scheme https code 301 if !{ ssl_fc }",
            "redirect scheme https unless { ssl_fc }",
            "http-request set-header X-Forwarded-Proto https if { ssl_fc }",
            "http-request add-header X-Client %[src]",
            "http-request set-var(req.x) req.hdr(host),lower",
            "http-request replace-path /old/(.*) /new/",
            "http-request redirect scheme https",
            "http-request deny",
            "http-check expect status 200",
            "http-check expect rstring ^OK",
            "stick-table type ip size 10k expire 25h",
            "stick on src",
        ] {
            assert_eq!(ok(line).to_string(), line);
        }
    }

    #[test]
    fn rerender_normalises_spacing() {
        assert_eq!(
            ok("  balance   leastconn ").to_string(),
            "balance leastconn"
        );
    }

    #[test]
    fn placement_follows_classic() {
        let cases = [
            ("mode http", Placement::Both),
            ("option httplog", Placement::Both),
            ("option tcplog", Placement::Both),
            ("acl a path_beg /a", Placement::Frontend),
            ("use_backend b if a", Placement::Frontend),
            ("redirect scheme https", Placement::Frontend),
            ("http-request deny", Placement::Frontend),
            ("tcp-request inspect-delay 5s", Placement::Frontend),
            ("capture request header Host len 64", Placement::Frontend),
            ("maxconn 100", Placement::Frontend),
            ("backlog 100", Placement::Frontend),
            ("rate-limit sessions 10", Placement::Frontend),
            ("timeout client 5s", Placement::Frontend),
            ("option dontlognull", Placement::Frontend),
            ("option logasap", Placement::Frontend),
            ("option clitcpka", Placement::Frontend),
            ("timeout server 5s", Placement::Backend),
            ("balance leastconn", Placement::Backend),
            ("cookie S insert", Placement::Backend),
            ("option forwardfor", Placement::Backend),
            ("http-response del-header Server", Placement::Backend),
            ("stick on src", Placement::Backend),
            ("retries 3", Placement::Backend),
        ];
        for (line, placement) in cases {
            assert_eq!(ok(line).placement(), placement, "{line}");
        }
    }

    #[test]
    fn non_printable_and_long_lines_are_refused() {
        refused("mode http\nserver x 1.2.3.4:80");
        refused("mode\thttp");
        refused("mode http\r");
        refused("acl a path_beg /é");
        refused(&format!("acl a path_beg /{}", "a".repeat(MAX_LINE)));
    }

    #[test]
    fn quotes_backslash_dollar_and_hash_are_refused() {
        for line in [
            "http-request set-header X \"${SECRET}\"",
            "http-request set-header X $SECRET",
            "http-request set-header X it's",
            "http-request set-header X a\\x41b",
            "acl a path_beg /a#b",
        ] {
            refused(line);
        }
        assert!(is_comment("# comment from landscape"));
        assert!(is_comment("   #x"));
        assert!(!is_comment("mode http"));
    }

    #[test]
    fn sample_fetch_only_in_header_values() {
        ok("http-request set-header X-Src %[src]");
        ok("http-response set-header X-Src %[src]");
        for line in [
            "acl a path_beg %[src]",
            "http-request set-path %[src]",
            "redirect location /%[src]",
            "use_backend %[src] if a",
            "http-request set-header %[src] x",
        ] {
            let e = refused(line);
            assert!(e.contains("%[") || e.contains("allow-listed"), "{e}");
        }
    }

    #[test]
    fn lone_percent_in_log_format_is_refused() {
        ok("http-request set-header X 100%%");
        ok("http-request set-header X %[src]-%[dst]");
        ok("http-request set-path /a%%20b");
        for line in [
            "http-request set-header X 100%",
            "http-request set-header X %[src",
            "http-request set-path /a%20b",
            "redirect location /100%",
            "http-request replace-header Host (.*) %x",
        ] {
            refused(line);
        }
    }

    #[test]
    fn file_loading_flags_are_refused() {
        for line in ["acl a path_beg -f /etc/passwd", "acl a hdr(host) -M -f /x"] {
            assert!(refused(line).contains("load files"));
        }
        // Case-sensitive: -F/-m are other flags, -m needs a known method.
        ok("acl a hdr(host) -m found");
    }

    #[test]
    fn environment_lua_and_map_are_refused() {
        for line in [
            "http-request set-header X %[env(SECRET)]",
            "http-request set-var(req.x) env(HOME)",
            "http-request set-header X %[lua.f]",
            "http-request set-var(req.b) req.hdr(host),map(/etc/x)",
            "http-request set-var(req.b) req.hdr(host),map_str(/etc/x)",
            "acl a ENV(X) -m found",
        ] {
            assert!(refused(line).contains("env("), "{line}");
        }
    }

    #[test]
    fn removed_directives_get_the_hint() {
        for line in [
            "rsprep ^Location:\\ http://(.*) x",
            "reqadd X-Y:\\ z",
            "rspdel ^Server",
        ] {
            let e = refused(line);
            assert!(e.contains("removed") || e.contains("printable"), "{e}");
        }
        assert!(refused("rspdel ^Server").contains("removed in HAProxy 2.1"));
        assert!(refused("reqirep ^Host a").contains("use http-request/http-response"));
    }

    #[test]
    fn charm_owned_directives_are_refused_with_hint() {
        assert!(refused("default_backend other").contains("written by the charm"));
        assert!(refused("errorfile 503 /etc/passwd").contains("errorfiles"));
        assert!(refused("bind :443 ssl crt /etc/x").contains("bind lines"));
        assert!(refused("server evil 10.0.0.1:80").contains("servers"));
        assert!(refused("stats enable").contains("enable_monitoring"));
    }

    #[test]
    fn unknown_directives_are_refused() {
        for line in [
            "lua-load x.lua",
            "log 127.0.0.1 local0",
            "no option httplog",
            "use-server x if y",
            "",
        ] {
            refused(line);
        }
        assert!(refused("lua-load x.lua").starts_with("'lua-load x.lua' is not an allow-listed"));
    }

    #[test]
    fn mode_and_balance_arguments() {
        for line in [
            "mode health",
            "mode http tcp",
            "balance",
            "balance weird",
            "balance hdr(a b)",
            "balance url_param a/b",
            "balance uri depth x",
        ] {
            refused(line);
        }
        ok("balance uri whole depth 3");
        ok("balance url_param userid check_post");
        ok("balance hdr(Host) use_domain_only");
        ok("balance static-rr");
        ok("hash-type map-based sdbm avalanche");
        refused("hash-type consistent md5");
    }

    #[test]
    fn option_arguments() {
        ok("option forwardfor except 127.0.0.0/8 header X-Real-IP if-none");
        ok("option http-server-close");
        for line in [
            "option forwardfor except nowhere",
            "option httpchk GET health",
            "option httpchk GET /health HTTP/2",
            "option httpchk GET /x{y}",
            "option redispatch now",
            "option transparent",
        ] {
            refused(line);
        }
    }

    #[test]
    fn timeout_and_numbers() {
        ok("timeout http-keep-alive 1s");
        ok("timeout tunnel 1h");
        for line in [
            "timeout client",
            "timeout client 5 s",
            "timeout client 1.5s",
            "timeout forever 5s",
            "retries -1",
            "maxconn 1e9",
            "maxconn 12345678901",
            "rate-limit 10",
            "fullconn ten",
        ] {
            refused(line);
        }
    }

    #[test]
    fn cookie_arguments() {
        ok("cookie JSESSIONID prefix nocache");
        ok("cookie S insert domain .example.com maxidle 30m maxlife 8h httponly secure");
        for line in [
            "cookie",
            "cookie S tasty",
            "cookie a/b insert",
            "cookie S maxidle soon",
        ] {
            refused(line);
        }
    }

    #[test]
    fn acl_and_conditions() {
        ok("acl is_static path_end -i .css .js");
        ok("acl local src 10.0.0.0/8 192.168.0.0/16");
        ok("use_backend b if a || !c");
        ok("use_backend b unless { path_beg /x } or c");
        for line in [
            "acl",
            "acl a",
            "acl a/b path_beg /x",
            "acl a path_beg { /x }",
            "use_backend b",
            "use_backend b if",
            "use_backend b when a",
            "use_backend b if { path_beg /x",
            "use_backend b if { }",
            "use_backend b if a/b",
        ] {
            refused(line);
        }
    }

    #[test]
    fn use_backend_target_is_exposed() {
        assert_eq!(ok("use_backend api if a").use_backend_target(), Some("api"));
        assert_eq!(ok("mode http").use_backend_target(), None);
        assert_eq!(ok("mode tcp").mode(), Some(crate::plan::Mode::Tcp));
    }

    #[test]
    fn redirect_arguments() {
        ok("redirect prefix https://example.com code 308 drop-query append-slash");
        for line in [
            "redirect scheme",
            "redirect somewhere https",
            "redirect scheme https code 200",
            "redirect location if x",
        ] {
            refused(line);
        }
    }

    #[test]
    fn http_request_and_response_actions() {
        ok("http-request del-header X-Forwarded-For");
        ok("http-request replace-header Host (.*) example.com");
        ok("http-request unset-var(txn.x)");
        ok("http-request deny deny_status 403 if { src 10.0.0.1 }");
        ok("http-request tarpit");
        ok("http-request allow if a");
        ok("http-response replace-value Cache-Control no-cache max-age=0");
        for line in [
            "http-request set-header",
            "http-request set-header X",
            "http-request set-header X if a",
            "http-request lua.x",
            "http-request use-service prometheus-exporter",
            "http-request set-var(evil) str(x)",
            "http-request set-var(req.x) str(x) y",
            "http-request deny deny_status 4030",
            "http-response deny",
            "http-response set-header X y z",
        ] {
            refused(line);
        }
    }

    #[test]
    fn http_check_tcp_request_stick_capture() {
        ok("http-check expect ! status 500");
        ok("http-check send meth GET uri /health ver HTTP/1.1 hdr Host example.com");
        ok("http-check disable-on-404");
        ok("tcp-request content accept if { req.ssl_hello_type 1 }");
        ok("tcp-request content reject");
        ok("stick-table type string len 32 size 1m expire 30m store conn_cnt,http_req_rate(10s)");
        ok("stick match src table other");
        ok("capture cookie JSESSIONID len 32");
        ok("capture response header Content-Type len 64");
        for line in [
            "http-check expect",
            "http-check expect status",
            "http-check send",
            "http-check send body-lf x",
            "tcp-request content drop",
            "tcp-request inspect-delay soon",
            "stick-table type ip",
            "stick-table type ip size lots",
            "stick on",
            "capture request header Host",
            "capture request header Host len x",
        ] {
            refused(line);
        }
    }

    #[test]
    fn server_options_group_by_keyword() {
        let opts = ServerOption::parse_all("check inter 5000 rise 2 fall 3 maxconn 100 weight 10")
            .unwrap_or_else(|e| panic!("{e}"));
        let shown: Vec<String> = opts.iter().map(|o| o.to_string()).collect();
        assert_eq!(
            shown,
            [
                "check",
                "inter 5000",
                "rise 2",
                "fall 3",
                "maxconn 100",
                "weight 10"
            ]
        );
        for ok_text in [
            "ssl verify none",
            "ca-file @system-ca",
            "proto h2",
            "alpn h2,http/1.1",
            "check-alpn h2",
            "sni req.hdr(host)",
            "observe layer7",
            "init-addr last,libc,none",
            "on-marked-down shutdown-sessions",
            "on-marked-up shutdown-backup-sessions",
            "send-proxy-v2 backup disabled agent-check agent-port 9 agent-inter 1s",
            "slowstart 10s fastinter 1s downinter 2s maxqueue 5 error-limit 3 port 81",
        ] {
            assert!(ServerOption::parse_all(ok_text).is_ok(), "{ok_text}");
        }
    }

    #[test]
    fn server_options_outside_the_list_are_refused() {
        for bad in [
            "crt /etc/ssl/key.pem",
            "ca-file /etc/ssl/ca.pem",
            "source 10.0.0.1",
            "resolvers dns",
            "verify required",
            "proto h3",
            "inter",
            "inter soon",
            "weight -1",
            "cookie a/b",
            "cookie S{j}",
            "check $X",
            "check\nserver evil 1.2.3.4:1",
            "alpn h2,,x",
            "init-addr somewhere",
            "check # comment",
            "sni %[env(X)]",
            "-f /x",
        ] {
            assert!(ServerOption::parse_all(bad).is_err(), "{bad:?}");
        }
        assert!(
            ServerOption::parse("check inter 5s").is_err(),
            "one option only"
        );
    }

    #[test]
    fn index_placeholder_is_replaced_only_literally() {
        let t = ServerOptionTemplate::parse_service_level("maxconn 100 cookie S{i} check")
            .unwrap_or_else(|e| panic!("{e}"));
        let rendered: Vec<String> = t
            .iter()
            .map(|o| o.instantiate(3).map(|o| o.to_string()))
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rendered, ["maxconn 100", "cookie S3", "check"]);
        assert_eq!(t[1].to_string(), "cookie S{i}");
        for bad in [
            "cookie S{i",
            "cookie S{0}",
            "cookie {{i}}",
            "cookie S{ i }",
            "weight {i}x",
        ] {
            assert!(ServerOptionTemplate::parse_words(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn service_level_server_options_split_on_commas_first() {
        let t = ServerOptionTemplate::parse_service_level("check, inter 2000,rise 2")
            .unwrap_or_else(|e| panic!("{e}"));
        let shown: Vec<String> = t.iter().map(|o| o.to_string()).collect();
        assert_eq!(shown, ["check", "inter 2000", "rise 2"]);
        // A servers entry keeps the comma inside alpn's list.
        let t = ServerOptionTemplate::parse_words("alpn h2,http/1.1 check")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t[0].to_string(), "alpn h2,http/1.1");
        // The same text at service level is split (as classic did) and then refused.
        assert!(ServerOptionTemplate::parse_service_level("alpn h2,http/1.1").is_err());
    }

    proptest::proptest! {
        #[test]
        fn accepted_directives_never_hold_forbidden_characters(line in "[ -~\\t\\n]{0,80}") {
            if let Ok(d) = Directive::parse(&line) {
                let text = d.to_string();
                proptest::prop_assert!(!text.contains(['"', '\'', '\\', '$', '#', '\n', '\t']));
                proptest::prop_assert!(!text.split(' ').any(|w| w == "-f" || w == "-M"));
                proptest::prop_assert!(!text.contains("env(") && !text.contains("map(") && !text.contains("map_"));
            }
            if let Ok(opts) = ServerOption::parse_all(&line) {
                for o in opts {
                    let text = o.to_string();
                    let forbidden = ['"', '\'', '\\', '$', '#', '{', '%'];
                    proptest::prop_assert!(!text.contains(forbidden), "{}", text);
                }
            }
        }

        #[test]
        fn keyword_prefixed_noise_never_panics(tail in "[ -~]{0,60}") {
            for kw in ["acl a ", "http-request ", "use_backend b if ", "stick-table type ", "balance ", "option httpchk "] {
                let line = format!("{kw}{tail}");
                if let Ok(d) = Directive::parse(&line) {
                    proptest::prop_assert!(!d.to_string().contains(['"', '\'', '\\', '$', '#']));
                }
            }
        }
    }
}
