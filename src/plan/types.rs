//! Validated values: the only things the HAProxy template may print.
//!
//! Every type here is a newtype whose constructor applies an allow-list from
//! `spec/haproxy.md` §5 (and `spec/http.md` §6). A value that passes is a single HAProxy token
//! that cannot start a comment, expand the environment, run a sample fetch, close a quote or
//! begin a new line. Constructors return `InvalidValue`, which says which rule failed; callers
//! add the field and the source. Nothing here knows about Juju or HAProxy processes.

use regex_lite::Regex;
use serde::Serialize;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::LazyLock;

/// Why a value was refused. The message quotes the value (shortened and escaped, so a hostile
/// value cannot forge log lines) and names the rule it broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{shown} is not {expected}")]
pub struct InvalidValue {
    /// The offending value, escaped for display and cut to 80 characters.
    pub shown: String,
    /// What a valid value looks like, e.g. "a port number 1-65535".
    pub expected: &'static str,
}

impl InvalidValue {
    pub fn new(value: &str, expected: &'static str) -> Self {
        InvalidValue {
            shown: show(value),
            expected,
        }
    }
}

/// Quote a value for an error message: escaped control characters, at most 80 characters.
pub fn show(value: &str) -> String {
    let mut out = String::from("'");
    for (n, c) in value.chars().enumerate() {
        if n == 80 {
            out.push('…');
            break;
        }
        out.extend(c.escape_debug());
    }
    out.push('\'');
    out
}

/// `value` as is when it holds no control character, else [`show`]n: for requester text that
/// goes into a one-line message (status, log) where a newline would forge a second line.
pub fn one_line(value: &str) -> String {
    if value.chars().any(char::is_control) {
        show(value)
    } else {
        value.to_owned()
    }
}

fn regex(pattern: &str) -> Regex {
    // The patterns are literals in this file; a typo is a programming error caught by the unit
    // tests below, never by input.
    Regex::new(pattern).unwrap_or_else(|e| unreachable!("bad built-in pattern {pattern}: {e}"))
}

macro_rules! token_type {
    ($(#[$doc:meta])* $name:ident, $re:ident, $pattern:expr, $expected:expr) => {
        token_type!($(#[$doc])* $name, $re, $pattern, $expected, |_: &str| true);
    };
    ($(#[$doc:meta])* $name:ident, $re:ident, $pattern:expr, $expected:expr, $extra:expr) => {
        static $re: LazyLock<Regex> = LazyLock::new(|| regex($pattern));

        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const EXPECTED: &'static str = $expected;

            pub fn new(value: &str) -> Result<Self, InvalidValue> {
                if $re.is_match(value) && ($extra)(value) {
                    Ok($name(value.to_owned()))
                } else {
                    Err(InvalidValue::new(value, $expected))
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = InvalidValue;
            fn from_str(s: &str) -> Result<Self, InvalidValue> {
                $name::new(s)
            }
        }
    };
}

token_type!(
    /// A frontend, backend or userlist name (`haproxy.md` §5). HAProxy itself accepts `:` too,
    /// but a name here is also used in file names and runtime commands, so it is left out.
    ProxyName,
    PROXY_NAME,
    r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$",
    "a name of 1-63 letters, digits, '_', '.', '-' starting with a letter or digit"
);

token_type!(
    /// A server name inside a backend (`haproxy.md` §5). Unit names become `app-0`.
    ServerName,
    SERVER_NAME,
    r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$",
    "a server name of 1-63 letters, digits, '_', '.', '-' starting with a letter or digit"
);

token_type!(
    /// A DNS host name for a server (`haproxy.md` §5), at most 253 characters.
    Hostname,
    HOSTNAME,
    r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$",
    "an IP address or a DNS name of letters, digits, '-' and '.' (at most 253 characters)"
);

token_type!(
    /// A health-check path with an optional query (`haproxy.md` §5).
    HttpPath,
    HTTP_PATH,
    r"^/[A-Za-z0-9._~/-]{0,254}(\?[A-Za-z0-9._~=&-]{0,255})?$",
    "a path starting with '/' of letters, digits and ._~/- (optional ?query)"
);

token_type!(
    /// An HTTP header name (`haproxy.md` §5).
    HeaderName,
    HEADER_NAME,
    r"^[A-Za-z0-9-]{1,64}$",
    "a header name of 1-64 letters, digits and '-'"
);

token_type!(
    /// An HTTP header value, rendered inside double quotes (`haproxy.md` §5): no `$`, `%`, `"`,
    /// `'`, `\`, `#` or control characters can occur.
    HeaderValue,
    HEADER_VALUE,
    r"^[A-Za-z0-9 _.,:;/=+*?!@()\[\]{}<>|~^-]{0,1024}$",
    "a header value of at most 1024 letters, digits, spaces and _.,:;/=+*?!@()[]{}<>|~^-"
);

token_type!(
    /// A lower-case host name used for SNI, `Host` routing and certificates (`haproxy.md` §5).
    /// At least two labels; a leading `*.` is allowed (only crt-list filters may use it).
    Fqdn,
    FQDN,
    r"^(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$",
    "a lower-case fully qualified domain name such as 'www.example.com'"
);

token_type!(
    /// A user in an HAProxy `userlist` (`haproxy.md` §5).
    UserName,
    USER_NAME,
    r"^[A-Za-z0-9_.-]{1,32}$",
    "a user name of 1-32 letters, digits, '_', '.', '-'"
);

token_type!(
    /// A SHA-512 crypt hash, printed unquoted so `$` is never expanded (`haproxy.md` §5).
    CryptHash,
    CRYPT_HASH,
    r"^\$6\$(rounds=[0-9]{4,9}\$)?[./A-Za-z0-9]{1,16}\$[./A-Za-z0-9]{86}$",
    "a SHA-512 crypt hash ($6$salt$hash)"
);

token_type!(
    /// An HAProxy time value: digits with an optional unit (`http.md` §5).
    TimeValue,
    TIME_VALUE,
    r"^[0-9]{1,9}(us|ms|s|m|h|d)?$",
    "a time such as 5000, 30s or 1m (digits with optional us|ms|s|m|h|d, at most ~24.8 days)",
    time_fits_haproxy
);

/// HAProxy 2.6 refuses timers above 2147483647 ms ("timer overflow", verified: `2147484s`,
/// `35792m`, `597h`, `25d` fail; `2147483647`, `24d` pass).
fn time_fits_haproxy(value: &str) -> bool {
    let split = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (digits, unit) = value.split_at(split);
    let Ok(n) = digits.parse::<u64>() else {
        return false;
    };
    let ms = match unit {
        "us" => n / 1000,
        "" | "ms" => n,
        "s" => n * 1000,
        "m" => n * 60_000,
        "h" => n * 3_600_000,
        "d" => n * 86_400_000,
        _ => return false,
    };
    ms <= 2_147_483_647
}

token_type!(
    /// A cookie name used for stickiness.
    CookieName,
    COOKIE_NAME,
    r"^[A-Za-z0-9_-]{1,64}$",
    "a cookie name of 1-64 letters, digits, '_' and '-'"
);

token_type!(
    /// An absolute file path the charm itself generated (certificates, maps, crt-lists).
    FilePath,
    FILE_PATH,
    r"^/[A-Za-z0-9._/-]{1,255}$",
    "an absolute path of letters, digits and ._/-"
);

impl Hostname {
    /// The 253-byte cap does not fit the regex; check it before the pattern.
    pub fn checked(value: &str) -> Result<Self, InvalidValue> {
        if value.len() > 253 {
            return Err(InvalidValue::new(value, Hostname::EXPECTED));
        }
        Hostname::new(value)
    }
}

/// A TCP port, 1-65535 (`"0".parse::<u16>()` is Ok, so 0 is refused explicitly).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Port(u16);

impl Port {
    pub const EXPECTED: &'static str = "a port number 1-65535";

    pub fn new(port: u16) -> Result<Self, InvalidValue> {
        if port == 0 {
            Err(InvalidValue::new("0", Port::EXPECTED))
        } else {
            Ok(Port(port))
        }
    }

    /// Parse decimal text with no sign, spaces or leading `+`.
    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        if text.is_empty() || text.len() > 5 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidValue::new(text, Port::EXPECTED));
        }
        let n: u32 = text
            .parse()
            .map_err(|_| InvalidValue::new(text, Port::EXPECTED))?;
        u16::try_from(n)
            .ok()
            .filter(|p| *p != 0)
            .map(Port)
            .ok_or_else(|| InvalidValue::new(text, Port::EXPECTED))
    }

    pub fn get(self) -> u16 {
        self.0
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where a server lives: an IP literal or a host name resolved by HAProxy.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(untagged)]
pub enum Host {
    Ip(IpAddr),
    Name(Hostname),
}

impl Host {
    pub const EXPECTED: &'static str = Hostname::EXPECTED;

    /// `std`'s parser refuses `[::1]`, `010.0.0.1` and trailing newlines (`haproxy.md` §5).
    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        if let Ok(ip) = IpAddr::from_str(text) {
            return Ok(Host::Ip(ip));
        }
        // A dotted string of digits that is not a valid IP (e.g. 010.0.0.1, 300.1.1.1) must not
        // fall through to DNS.
        if text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return Err(InvalidValue::new(text, Host::EXPECTED));
        }
        Hostname::checked(text).map(Host::Name)
    }

    pub fn is_unspecified(&self) -> bool {
        matches!(self, Host::Ip(ip) if ip.is_unspecified())
    }
}

/// `host:port` as HAProxy wants it: IPv6 in brackets.
pub struct HostPort<'a>(pub &'a Host, pub Port);

impl fmt::Display for HostPort<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]:{}", self.1),
            Host::Ip(IpAddr::V4(ip)) => write!(f, "{ip}:{}", self.1),
            Host::Name(name) => write!(f, "{name}:{}", self.1),
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Ip(ip) => write!(f, "{ip}"),
            Host::Name(name) => write!(f, "{name}"),
        }
    }
}

/// Turn a unit name such as `web/0` into a name token `web-0` (`haproxy.md` §5).
pub fn unit_token(unit: &str) -> String {
    unit.replace('/', "-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_name_accepts_plain_names() {
        for ok in ["web", "be_web", "haproxy-lb-0-80", "a.b", "A1"] {
            assert!(ProxyName::new(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn proxy_name_refuses_injection_and_separators() {
        for bad in [
            "",
            "web\n",
            "web\nserver x",
            "a b",
            "a#b",
            "a/b",
            "a@b",
            "a+b",
            "-web",
            "_web",
            "\"web",
            "${X}",
            "web;",
            "wéb",
            &"x".repeat(64),
        ] {
            assert!(ProxyName::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn port_refuses_zero_and_out_of_range() {
        assert!(Port::new(0).is_err());
        assert_eq!(Port::parse("80").map(Port::get), Ok(80));
        assert_eq!(Port::parse("65535").map(Port::get), Ok(65535));
        for bad in [
            "0", "65536", "-1", "+80", " 80", "80\n", "8o", "", "000080", "1e3",
        ] {
            assert!(Port::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn host_parses_ip_and_names_but_not_tricks() {
        assert_eq!(
            Host::parse("::1").map(|h| HostPort(&h, Port(8)).to_string()),
            Ok("[::1]:8".to_string())
        );
        assert!(matches!(Host::parse("10.0.0.1"), Ok(Host::Ip(_))));
        assert!(matches!(Host::parse("web-1.example"), Ok(Host::Name(_))));
        for bad in [
            "[::1]",
            "010.0.0.1",
            "10.0.0.1\n",
            "300.1.1.1",
            "a b",
            "a#b",
            "-a",
            "a-",
            "a..b",
            "",
            "${HOME}",
            "a\u{0430}b",
            &"a".repeat(254),
        ] {
            assert!(Host::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn http_path_allows_query_but_no_space_or_percent() {
        assert!(HttpPath::new("/livez").is_ok());
        assert!(HttpPath::new("/health?full=1&x=y").is_ok());
        for bad in ["livez", "/a b", "/%[env(X)]", "/a#b", "/a\n", "/\"", "/$X"] {
            assert!(HttpPath::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn header_value_refuses_quotes_dollar_percent_and_newlines() {
        assert!(HeaderValue::new("max-age=63072000; includeSubDomains").is_ok());
        for bad in [
            "a\r\nX-Evil: 1",
            "\"",
            "'",
            "$X",
            "%[env(X)]",
            "a\\b",
            "a#b",
        ] {
            assert!(HeaderValue::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn fqdn_is_lower_case_with_two_labels() {
        assert!(Fqdn::new("www.example.com").is_ok());
        assert!(Fqdn::new("*.example.com").is_ok());
        for bad in [
            "localhost",
            "WWW.example.com",
            "a..b",
            "a.b.",
            "*.",
            "a.*.b",
            "a b.c",
        ] {
            assert!(Fqdn::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn crypt_hash_accepts_sha512_only() {
        let good = format!("$6$Zx9Q2abcdEFgh${}", "a".repeat(86));
        assert!(CryptHash::new(&good).is_ok());
        assert!(CryptHash::new(&format!("$6$rounds=5000$salt${}", "b".repeat(86))).is_ok());
        assert!(CryptHash::new("$1$abc$def").is_err());
        assert!(CryptHash::new(&format!("{good}\n")).is_err());
        assert!(CryptHash::new("plaintext").is_err());
    }

    #[test]
    fn time_value_is_digits_with_unit() {
        for ok in [
            "5000",
            "30s",
            "1m",
            "100ms",
            "2h",
            "1d",
            "10us",
            "999999999",
            "24d",
        ] {
            assert!(TimeValue::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "s",
            "5 s",
            "5sec",
            "-1",
            "1.5s",
            "9999999999",
            "2147483648",
            "25d",
            "597h",
        ] {
            assert!(TimeValue::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn user_name_and_file_path_rules() {
        assert!(UserName::new("admin").is_ok());
        assert!(UserName::new("ad min").is_err());
        assert!(FilePath::new("/etc/haproxy/haproxy-lb/certs/a.pem").is_ok());
        assert!(FilePath::new("relative/path").is_err());
        assert!(FilePath::new("/etc/a b").is_err());
    }

    #[test]
    fn show_escapes_and_truncates() {
        assert_eq!(show("a\nb"), "'a\\nb'");
        assert!(show(&"x".repeat(200)).ends_with("…'"));
    }

    #[test]
    fn unit_token_replaces_slash() {
        assert_eq!(unit_token("web/0"), "web-0");
    }
}
