//! `show-config` (`spec/actions.md`): the live `haproxy.cfg` with secrets redacted, and a
//! checksum of the live file (so two units or two moments can be compared without the text).
//!
//! Redacted: password hashes (`user <u> password <hash>`, `insecure-password <p>`), `stats auth
//! <u>:<p>` passwords, credential headers (`Authorization`, `X-Auth-Token`, `Cookie`) set by
//! directives, and any PEM block. Paths to key files stay: a path is not a secret.

use super::{result, ActionEnv, Failure, NoParams, Results};
use sha2::{Digest, Sha256};

pub const REDACTED: &str = "<redacted>";

pub fn show_config(env: &ActionEnv, _params: NoParams) -> Result<Results, Failure> {
    let path = &env.settings.haproxy.config;
    let bytes = std::fs::read(path).map_err(|e| {
        Failure::new(format!(
            "cannot read the live config {}: {e}{}",
            path.display(),
            super::lifecycle::suspended_hint(env)
        ))
    })?;
    let text = String::from_utf8_lossy(&bytes);
    let mut results = Results::new();
    result(&mut results, "config", redact(&text));
    result(
        &mut results,
        "checksum",
        format!("sha256:{}", hex(&Sha256::digest(&bytes))),
    );
    result(&mut results, "path", path.display());
    Ok(results)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The config with every secret replaced by [`REDACTED`].
pub fn redact(text: &str) -> String {
    let mut out = Vec::new();
    let mut in_pem = false;
    for line in text.lines() {
        if line.contains("-----BEGIN") {
            in_pem = true;
        }
        if in_pem {
            if line.contains("-----END") {
                in_pem = false;
                out.push(REDACTED.to_owned());
            }
            continue;
        }
        out.push(redact_line(line));
    }
    let mut joined = out.join("\n");
    if text.ends_with('\n') {
        joined.push('\n');
    }
    joined
}

fn redact_line(line: &str) -> String {
    let indent_len = line.len() - line.trim_start().len();
    let (indent, body) = line.split_at(indent_len);
    let words: Vec<&str> = body.split(' ').collect();
    let mut redacted: Vec<String> = Vec::with_capacity(words.len());
    let mut secret_follows = false;
    for (i, word) in words.iter().enumerate() {
        if secret_follows && !word.is_empty() {
            redacted.push(REDACTED.to_owned());
            secret_follows = false;
            continue;
        }
        let lower = word.to_ascii_lowercase();
        let previous = i.checked_sub(1).map(|p| words[p].to_ascii_lowercase());
        if previous.as_deref() == Some("auth") && words.first() == Some(&"stats") {
            // `stats auth user:password`
            match word.split_once(':') {
                Some((user, _)) => redacted.push(format!("{user}:{REDACTED}")),
                None => redacted.push(REDACTED.to_owned()),
            }
            continue;
        }
        redacted.push((*word).to_owned());
        let is_credential_header =
            matches!(
                lower.as_str(),
                "authorization" | "proxy-authorization" | "x-auth-token" | "cookie"
            ) && matches!(previous.as_deref(), Some("set-header") | Some("add-header"));
        if is_credential_header {
            // The value may be quoted and hold spaces: the rest of the line goes.
            redacted.push(REDACTED.to_owned());
            break;
        }
        if matches!(lower.as_str(), "password" | "insecure-password") {
            secret_follows = true;
        }
    }
    format!("{indent}{}", redacted.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_and_the_rest_is_kept() {
        let cases = [
            (
                "    user admin password $6$salt$hash",
                "    user admin password <redacted>",
            ),
            (
                "    user ops insecure-password hunter2 groups g",
                "    user ops insecure-password <redacted> groups g",
            ),
            (
                "    stats auth admin:s3cret",
                "    stats auth admin:<redacted>",
            ),
            (
                "    http-request set-header Authorization \"Basic YWRtaW46cGFzcw==\"",
                "    http-request set-header Authorization <redacted>",
            ),
            (
                "    http-request set-header X-Auth-Token abc123",
                "    http-request set-header X-Auth-Token <redacted>",
            ),
            (
                "    bind :443 ssl crt-list /etc/haproxy/haproxy-lb/certs/crt-list",
                "    bind :443 ssl crt-list /etc/haproxy/haproxy-lb/certs/crt-list",
            ),
            (
                "    server web-0 127.0.0.1:80 check",
                "    server web-0 127.0.0.1:80 check",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(redact_line(input), expected, "{input}");
        }
    }

    #[test]
    fn pem_blocks_disappear_whole() {
        let text =
            "global\n-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\nfrontend x\n";
        assert_eq!(redact(text), "global\n<redacted>\nfrontend x\n");
    }

    #[test]
    fn no_hash_survives_a_rendered_userlist() {
        let text = "userlist ul_stats\n    user admin password $6$abcdefgh$XYZ\n";
        let shown = redact(text);
        assert!(!shown.contains("$6$"), "{shown}");
        assert!(shown.contains("user admin password <redacted>"));
    }
}
