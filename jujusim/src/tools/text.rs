//! Go's text conventions that show up in hook-tool output and errors: `%q` quoting
//! (`strconv.Quote`), `%q` of a `[]string`, and `strconv.FormatFloat` in the forms
//! `encoding/json` and `yaml.v2` use. Pure functions; nothing here knows about tools.

/// Go `strconv.Quote` (what `%q` prints for a string).
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if is_go_printable(c) => out.push(c),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// Go `strconv.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space.
fn is_go_printable(c: char) -> bool {
    static GRAPHIC: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    if c == ' ' {
        return true;
    }
    if c.is_ascii() {
        return c.is_ascii_graphic();
    }
    let graphic = GRAPHIC.get_or_init(|| regex::Regex::new(r"^[\p{L}\p{M}\p{N}\p{P}\p{S}]$").ok());
    match graphic {
        Some(re) => re.is_match(c.encode_utf8(&mut [0; 4])),
        None => !c.is_control(),
    }
}

/// Go `fmt.Sprintf("%q", []string{...})`: `["a" "b"]`.
pub fn go_quote_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| go_quote(s)).collect();
    format!("[{}]", quoted.join(" "))
}

/// The `cmd.CheckEmpty` error text.
pub fn unrecognized(args: &[String]) -> String {
    format!("unrecognized args: {}", go_quote_list(args))
}

/// Splits Rust's shortest `{:e}` form into (digits without dot, decimal exponent).
fn shortest_digits(f: f64) -> (String, i32) {
    let e = format!("{:e}", f.abs());
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    (digits, exp.parse().unwrap_or(0))
}

fn go_exponent_form(f: f64, min_exp_digits: usize) -> String {
    let (digits, exp) = shortest_digits(f);
    let mut out = String::new();
    if f < 0.0 {
        out.push('-');
    }
    out.push_str(&digits[..1]);
    if digits.len() > 1 {
        out.push('.');
        out.push_str(&digits[1..]);
    }
    out.push('e');
    out.push(if exp < 0 { '-' } else { '+' });
    out.push_str(&format!("{:0width$}", exp.abs(), width = min_exp_digits));
    out
}

/// `encoding/json` float64: `%f` shortest, `%e` below 1e-6 or from 1e21, exponent not padded.
pub fn go_json_float(f: f64) -> String {
    if !f.is_finite() {
        // json.Marshal refuses these; print what a Go program would choke on least.
        return "null".to_string();
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        go_exponent_form(f, 1)
    } else {
        format!("{f}")
    }
}

/// `strconv.FormatFloat(f, 'g', -1, 64)` as `yaml.v2` prints it (`.inf`, `.nan` for the specials).
pub fn go_yaml_float(f: f64) -> String {
    if f.is_nan() {
        return ".nan".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.to_string();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let (_, exp) = shortest_digits(f);
    // Shortest 'g' switches to %e below 1e-4 and from 1e6 (strconv `eprec = 6`).
    if !(-4..6).contains(&exp) {
        return go_exponent_form(f, 2);
    }
    format!("{f}")
}

/// juju/cmd `Context.AbsPath`: `path` if absolute, else joined to `cwd`; then lexically
/// cleaned like Go's `filepath.Clean` (so error messages show the same path).
pub fn abs_path(cwd: &std::path::Path, path: &str) -> std::path::PathBuf {
    let joined = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{}/{}", cwd.to_string_lossy(), path)
    };
    let rooted = joined.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            p => parts.push(p),
        }
    }
    let body = parts.join("/");
    let cleaned = match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".to_string(),
        (false, false) => body,
    };
    std::path::PathBuf::from(cleaned)
}

/// Civil UTC time `YYYY-MM-DD HH:MM:SSZ` (the `since` form of `goal-state`, §4.23).
pub fn utc_timestamp(unix_secs: u64) -> String {
    let days = (unix_secs / 86_400) as i64;
    let rem = unix_secs % 86_400;
    // Howard Hinnant's days-from-civil inverse.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_quote_escapes_like_strconv_quote() {
        for (input, want) in [
            ("abc", "\"abc\""),
            ("a\"b", "\"a\\\"b\""),
            ("a\\b", "\"a\\\\b\""),
            ("a\nb\t", "\"a\\nb\\t\""),
            ("\u{1}", "\"\\x01\""),
            ("héllo", "\"héllo\""),
            (
                "\u{a0}\u{200b}\u{e000}\u{1F600}",
                "\"\\u00a0\\u200b\\ue000😀\"",
            ),
            ("\u{e0001}\u{7f}", "\"\\U000e0001\\x7f\""),
            ("", "\"\""),
        ] {
            assert_eq!(go_quote(input), want);
        }
        assert_eq!(
            go_quote_list(&["a".into(), "b c".into()]),
            "[\"a\" \"b c\"]"
        );
    }

    #[test]
    fn floats_print_like_go() {
        for (f, json, yaml) in [
            (1.5, "1.5", "1.5"),
            (2.0, "2", "2"),
            (1e21, "1e+21", "1e+21"),
            (1e-7, "1e-7", "1e-07"),
            (0.000001, "0.000001", "1e-06"),
            (1e20, "100000000000000000000", "1e+20"),
            (-3.25, "-3.25", "-3.25"),
        ] {
            assert_eq!(go_json_float(f), json, "json {f}");
            assert_eq!(go_yaml_float(f), yaml, "yaml {f}");
        }
    }

    #[test]
    fn paths_are_joined_and_cleaned_like_go() {
        let cwd = std::path::Path::new("/var/lib/charm");
        for (p, want) in [
            ("out.json", "/var/lib/charm/out.json"),
            ("./a/../b", "/var/lib/charm/b"),
            ("../../../../x", "/x"),
            ("/tmp//y/", "/tmp/y"),
            ("", "/var/lib/charm"),
        ] {
            assert_eq!(abs_path(cwd, p), std::path::PathBuf::from(want), "{p}");
        }
    }

    #[test]
    fn timestamps_are_civil_utc_with_a_space() {
        assert_eq!(utc_timestamp(0), "1970-01-01 00:00:00Z");
        assert_eq!(utc_timestamp(1_704_164_645), "2024-01-02 03:04:05Z");
    }
}
