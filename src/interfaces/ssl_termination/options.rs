//! The ssl-termination options of `config.yaml` (`spec/ssl-termination.md` §4.2), typed. A bad
//! value is a problem naming the option, and its default applies (the sites keep working);
//! `acme_ca_certificate` is never shown (it may be long), only described.

use crate::acme::{AcmeOptions, CertificateSource};
use crate::plan::{show, Port};
use serde_json::{Map, Value};

pub const DEFAULT_DIRECTORY: &str = "https://acme-v02.api.letsencrypt.org/directory";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SslOptions {
    pub acme: AcmeOptions,
    pub http_port: Port,
    pub https_port: Port,
    pub hsts_max_age: u32,
}

fn port(n: u16) -> Port {
    Port::new(n).unwrap_or_else(|e| unreachable!("built-in port {n}: {e}"))
}

/// Parse the options from `config-get --all`; returns the options and the problems found.
pub fn parse(config: &Map<String, Value>) -> (SslOptions, Vec<String>) {
    let mut problems = Vec::new();
    let text = |key: &str| {
        config
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_owned()
    };
    let int = |key: &str| config.get(key).and_then(Value::as_i64);

    let mut directory_url = text("acme_directory_url");
    if directory_url.is_empty() {
        directory_url = DEFAULT_DIRECTORY.into();
    } else if !directory_url.starts_with("https://") || directory_url.contains(char::is_whitespace)
    {
        problems.push(format!(
            "acme_directory_url = {}: not an https:// URL; using Let's Encrypt",
            show(&directory_url)
        ));
        directory_url = DEFAULT_DIRECTORY.into();
    }
    let ca = text("acme_ca_certificate");
    let ca_certificate = if ca.is_empty() {
        None
    } else if ca.contains("-----BEGIN CERTIFICATE-----") {
        Some(format!("{ca}\n"))
    } else {
        problems.push("acme_ca_certificate: not a PEM certificate; ignored".into());
        None
    };
    let contact_text = text("acme_contact_email");
    let contact = if contact_text.is_empty() {
        None
    } else {
        match super::request::check_email(&contact_text) {
            Ok(()) => Some(contact_text),
            Err(why) => {
                problems.push(format!(
                    "acme_contact_email = {} {why}",
                    show(&contact_text)
                ));
                None
            }
        }
    };
    let retry_interval_s = match int("acme_retry_interval") {
        None => 600,
        Some(n) if (1..=21_600).contains(&n) => n as u64,
        Some(n) => {
            problems.push(format!(
                "acme_retry_interval = {n}: must be 1-21600 seconds"
            ));
            600
        }
    };
    let source = match text("certificate_source").as_str() {
        "" | "acme" => CertificateSource::Acme,
        "self-signed" => CertificateSource::SelfSigned,
        other => {
            problems.push(format!(
                "certificate_source = {}: must be acme or self-signed",
                show(other)
            ));
            CertificateSource::Acme
        }
    };
    let self_signed_fallback = config
        .get("self_signed_fallback")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut port_option = |key: &str, default: u16| match int(key) {
        None => port(default),
        Some(n) => match u16::try_from(n).ok().and_then(|p| Port::new(p).ok()) {
            Some(p) => p,
            None => {
                problems.push(format!("{key} = {n}: not a port 1-65535"));
                port(default)
            }
        },
    };
    let http_port = port_option("ssl_termination_http_port", 80);
    let https_port = port_option("ssl_termination_https_port", 443);
    let hsts_max_age = match int("hsts_max_age") {
        None => 63_072_000,
        Some(n) => u32::try_from(n).unwrap_or_else(|_| {
            problems.push(format!("hsts_max_age = {n}: must be 0-4294967295"));
            63_072_000
        }),
    };
    let options = SslOptions {
        acme: AcmeOptions {
            directory_url,
            ca_certificate,
            contact,
            retry_interval_s,
            source,
            self_signed_fallback,
        },
        http_port,
        https_port,
        hsts_max_age,
    };
    (options, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Map<String, Value> {
        #[derive(serde::Deserialize)]
        struct Yaml {
            options: std::collections::BTreeMap<String, Opt>,
        }
        #[derive(serde::Deserialize)]
        struct Opt {
            default: Value,
        }
        let yaml: Yaml = serde_yaml::from_str(include_str!("../../../config.yaml")).unwrap();
        yaml.options
            .into_iter()
            .map(|(k, v)| (k, v.default))
            .collect()
    }

    #[test]
    fn config_yaml_defaults_are_the_spec_defaults() {
        let (o, problems) = parse(&defaults());
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(o.acme.directory_url, DEFAULT_DIRECTORY);
        assert_eq!(o.acme.retry_interval_s, 600);
        assert_eq!(o.acme.source, CertificateSource::Acme);
        assert!(!o.acme.self_signed_fallback);
        assert_eq!((o.http_port.get(), o.https_port.get()), (80, 443));
        assert_eq!(o.hsts_max_age, 63_072_000);
    }

    #[test]
    fn bad_values_are_problems_and_defaults_apply() {
        let mut c = defaults();
        c.insert("certificate_source".into(), "letsencrypt".into());
        c.insert("ssl_termination_http_port".into(), 0.into());
        c.insert("acme_directory_url".into(), "http://x/dir".into());
        c.insert("acme_contact_email".into(), "no-at".into());
        let (o, problems) = parse(&c);
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert_eq!(o.http_port.get(), 80);
        assert_eq!(o.acme.source, CertificateSource::Acme);
    }
}
