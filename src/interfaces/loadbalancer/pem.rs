//! Checks a requester's `tls_cert` / `tls_key` before anything reaches HAProxy, and builds the
//! single PEM file HAProxy loads (chain first, key last; `spec/haproxy.md` §6).
//!
//! A bad pair must be refused here, per request: if it reached `haproxy -c` the whole candidate
//! config would fail and every other requester's change would wait. So this module decodes the
//! PEM armour and the DER inside, and checks that the key belongs to the first certificate
//! (RSA: same modulus; EC: same public point) when the key carries what is needed to tell.
//! The output is re-encoded from the decoded DER, so no text from the request (comments, "Bag
//! Attributes" lines, stray directives) survives. Errors never contain key material.

use std::fmt;

/// A validated certificate chain and key, as one PEM text. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct PemBundle(String);

impl PemBundle {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PemBundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PemBundle(<redacted>)")
    }
}

/// Which field is wrong and why; for `error_fields` (`tls_cert` or `tls_key`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PemError {
    #[error("no PEM CERTIFICATE block found")]
    NoCertificate,
    #[error("certificate {0} is not valid base64/DER")]
    BadCertificate(usize),
    #[error("contains a private key; send it in tls_key")]
    KeyInCertificate,
    #[error("expected exactly one PEM private key block, found {0}")]
    KeyCount(usize),
    #[error("encrypted private keys are not supported")]
    EncryptedKey,
    #[error("the private key is not valid base64/DER")]
    BadKey,
    #[error("the private key does not match the first certificate in tls_cert")]
    Mismatch,
}

impl PemError {
    /// The request field the problem belongs to.
    pub fn field(&self) -> super::response::RequestField {
        use super::response::RequestField;
        match self {
            PemError::NoCertificate | PemError::BadCertificate(_) | PemError::KeyInCertificate => {
                RequestField::TlsCert
            }
            _ => RequestField::TlsKey,
        }
    }
}

struct Block {
    label: String,
    der: Option<Vec<u8>>,
}

/// Split PEM text into its `-----BEGIN x----- ... -----END x-----` blocks.
fn blocks(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        let line = line.trim();
        if let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        {
            current = Some((label.to_owned(), String::new()));
        } else if let Some(label) = line
            .strip_prefix("-----END ")
            .and_then(|l| l.strip_suffix("-----"))
        {
            if let Some((begin, body)) = current.take() {
                let der = if begin == label {
                    base64_decode(&body)
                } else {
                    None
                };
                out.push(Block { label: begin, der });
            }
        } else if let Some((_, body)) = current.as_mut() {
            // Encapsulated headers (Proc-Type, DEK-Info) mark legacy encrypted keys.
            if line.contains(':') {
                body.push('!');
            } else {
                body.push_str(line);
            }
        }
    }
    out
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let bytes = text.as_bytes();
    if bytes.is_empty() || bytes.len() % 4 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for (n, chunk) in bytes.chunks(4).enumerate() {
        let last = n == bytes.len() / 4 - 1;
        let pad = chunk.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut acc = 0u32;
        for &c in &chunk[..4 - pad] {
            acc = (acc << 6) | value(c)?;
        }
        acc <<= 6 * pad as u32;
        let decoded = [(acc >> 16) as u8, (acc >> 8) as u8, acc as u8];
        out.extend_from_slice(&decoded[..3 - pad]);
    }
    Some(out)
}

fn base64_encode(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let acc = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((acc >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn armour(label: &str, der: &[u8]) -> String {
    let body = base64_encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

use crate::der::tlv;

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OCTET_STRING: u8 = 0x04;

/// The whole input is exactly one SEQUENCE; returns its content.
fn single_sequence(der: &[u8]) -> Option<&[u8]> {
    match tlv(der)? {
        (SEQUENCE, content, []) => Some(content),
        _ => None,
    }
}

/// What identifies a public key, comparable between a certificate and a private key.
#[derive(Debug, PartialEq, Eq)]
enum PublicKey<'a> {
    /// RSA modulus, leading zero bytes stripped.
    Rsa(&'a [u8]),
    /// An EC point (or other raw key bits), as in the BIT STRING.
    Point(&'a [u8]),
}

fn strip_zeros(mut n: &[u8]) -> &[u8] {
    while let [0, rest @ ..] = n {
        n = rest;
    }
    n
}

/// The public key inside a certificate's SubjectPublicKeyInfo.
fn certificate_key(der: &[u8]) -> Option<PublicKey<'_>> {
    let cert = single_sequence(der)?;
    let (SEQUENCE, mut tbs, _) = tlv(cert)? else {
        return None;
    };
    // Optional [0] version, then serial, signature, issuer, validity, subject, SPKI.
    if tbs.first() == Some(&0xa0) {
        tbs = tlv(tbs)?.2;
    }
    for _ in 0..5 {
        tbs = tlv(tbs)?.2;
    }
    let (SEQUENCE, spki, _) = tlv(tbs)? else {
        return None;
    };
    let (SEQUENCE, algorithm, rest) = tlv(spki)? else {
        return None;
    };
    let (BIT_STRING, bits, _) = tlv(rest)? else {
        return None;
    };
    let bits = bits.strip_prefix(&[0])?;
    if is_rsa(algorithm) {
        let content = single_sequence(bits)?;
        let (INTEGER, modulus, _) = tlv(content)? else {
            return None;
        };
        Some(PublicKey::Rsa(strip_zeros(modulus)))
    } else {
        Some(PublicKey::Point(bits))
    }
}

/// rsaEncryption 1.2.840.113549.1.1.1.
fn is_rsa(algorithm: &[u8]) -> bool {
    const RSA_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    matches!(tlv(algorithm), Some((0x06, oid, _)) if oid == RSA_OID)
}

/// PKCS#1 RSAPrivateKey: version, modulus, ...
fn rsa_private_modulus(der: &[u8]) -> Option<&[u8]> {
    let content = single_sequence(der)?;
    let (INTEGER, _, rest) = tlv(content)? else {
        return None;
    };
    let (INTEGER, modulus, _) = tlv(rest)? else {
        return None;
    };
    Some(strip_zeros(modulus))
}

/// SEC1 ECPrivateKey: version, privateKey, [0] parameters?, [1] publicKey? -> the point.
fn ec_private_point(der: &[u8]) -> Option<Option<&[u8]>> {
    let content = single_sequence(der)?;
    let (INTEGER, _, rest) = tlv(content)? else {
        return None;
    };
    let (OCTET_STRING, _, mut rest) = tlv(rest)? else {
        return None;
    };
    while !rest.is_empty() {
        let (tag, inner, next) = tlv(rest)?;
        if tag == 0xa1 {
            let (BIT_STRING, bits, _) = tlv(inner)? else {
                return None;
            };
            return Some(Some(bits.strip_prefix(&[0])?));
        }
        rest = next;
    }
    Some(None)
}

/// The public key a private key implies, when it can be read without arithmetic.
/// `Some(None)`: a well-formed key that does not carry it (e.g. Ed25519 PKCS#8 v1).
fn private_key<'a>(label: &str, der: &'a [u8]) -> Option<Option<PublicKey<'a>>> {
    match label {
        "RSA PRIVATE KEY" => Some(Some(PublicKey::Rsa(rsa_private_modulus(der)?))),
        "EC PRIVATE KEY" => Some(ec_private_point(der)?.map(PublicKey::Point)),
        "PRIVATE KEY" => {
            let content = single_sequence(der)?;
            let (INTEGER, _, rest) = tlv(content)? else {
                return None;
            };
            let (SEQUENCE, algorithm, rest) = tlv(rest)? else {
                return None;
            };
            let (OCTET_STRING, inner, _) = tlv(rest)? else {
                return None;
            };
            if is_rsa(algorithm) {
                Some(Some(PublicKey::Rsa(rsa_private_modulus(inner)?)))
            } else if single_sequence(inner).is_some() {
                // id-ecPublicKey: the inner key is a SEC1 ECPrivateKey.
                Some(ec_private_point(inner)?.map(PublicKey::Point))
            } else {
                // Ed25519/Ed448: an OCTET STRING seed; no public key to compare.
                match tlv(inner)? {
                    (OCTET_STRING, _, []) => Some(None),
                    _ => None,
                }
            }
        }
        _ => None,
    }
}

/// Validate a certificate chain and its key; return the PEM HAProxy should load.
pub fn validate(tls_cert: &str, tls_key: &str) -> Result<PemBundle, PemError> {
    let cert_blocks = blocks(tls_cert);
    if cert_blocks.iter().any(|b| b.label.contains("PRIVATE KEY")) {
        return Err(PemError::KeyInCertificate);
    }
    let certs: Vec<&Block> = cert_blocks
        .iter()
        .filter(|b| b.label == "CERTIFICATE")
        .collect();
    if certs.is_empty() {
        return Err(PemError::NoCertificate);
    }
    let mut ders = Vec::new();
    for (n, cert) in certs.iter().enumerate() {
        match &cert.der {
            Some(der) if single_sequence(der).is_some() && certificate_key(der).is_some() => {
                ders.push(der.as_slice())
            }
            _ => return Err(PemError::BadCertificate(n)),
        }
    }
    let key_blocks: Vec<Block> = blocks(tls_key)
        .into_iter()
        .filter(|b| b.label.contains("PRIVATE KEY"))
        .collect();
    if key_blocks.iter().any(|b| b.label.contains("ENCRYPTED")) {
        return Err(PemError::EncryptedKey);
    }
    let [key] = key_blocks.as_slice() else {
        return Err(PemError::KeyCount(key_blocks.len()));
    };
    let key_der = key.der.as_deref().ok_or(PemError::EncryptedKey)?;
    let implied = private_key(&key.label, key_der).ok_or(PemError::BadKey)?;
    if let Some(public) = implied {
        if certificate_key(ders[0]) != Some(public) {
            return Err(PemError::Mismatch);
        }
    }
    let mut bundle = String::new();
    for der in &ders {
        bundle.push_str(&armour("CERTIFICATE", der));
    }
    bundle.push_str(&armour(&key.label, key_der));
    Ok(PemBundle(bundle))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::process::Command;

    /// A fresh self-signed pair made by the real `openssl` (installed on every test machine).
    pub(crate) fn openssl_pair(kind: &str, cn: &str) -> (String, String) {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("k.pem");
        let cert = dir.path().join("c.pem");
        let mut args: Vec<String> = vec!["req".into(), "-x509".into(), "-nodes".into()];
        match kind {
            "rsa" => args.extend(["-newkey".into(), "rsa:2048".into()]),
            "ec" => args.extend([
                "-newkey".into(),
                "ec".into(),
                "-pkeyopt".into(),
                "ec_paramgen_curve:P-256".into(),
            ]),
            "ed25519" => args.extend(["-newkey".into(), "ed25519".into()]),
            other => panic!("unknown key kind {other}"),
        }
        args.extend([
            "-keyout".into(),
            key.display().to_string(),
            "-out".into(),
            cert.display().to_string(),
            "-days".into(),
            "2".into(),
            "-subj".into(),
            format!("/CN={cn}"),
        ]);
        let out = Command::new("openssl")
            .args(&args)
            .output()
            .expect("openssl must be installed");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (
            std::fs::read_to_string(cert).unwrap(),
            std::fs::read_to_string(key).unwrap(),
        )
    }

    #[test]
    fn base64_round_trips() {
        for data in [&b""[..], b"a", b"ab", b"abc", b"abcd", &[0, 255, 128, 7, 9]] {
            if data.is_empty() {
                continue;
            }
            assert_eq!(base64_decode(&base64_encode(data)).as_deref(), Some(data));
        }
        assert_eq!(base64_decode("YWJj"), Some(b"abc".to_vec()));
        assert_eq!(base64_decode("YQ=="), Some(b"a".to_vec()));
        for bad in ["YQ=", "Y===", "YQ==YWJj", "YW*j", ""] {
            assert_eq!(base64_decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn matching_pairs_of_every_key_kind_are_accepted() {
        for kind in ["rsa", "ec", "ed25519"] {
            let (cert, key) = openssl_pair(kind, "a.example");
            let bundle = validate(&cert, &key).unwrap_or_else(|e| panic!("{kind}: {e}"));
            let text = bundle.as_str();
            assert!(text.starts_with("-----BEGIN CERTIFICATE-----\n"), "{kind}");
            assert!(text.ends_with("PRIVATE KEY-----\n"), "{kind}");
            // Re-encoded, the certificate is byte-identical to openssl's armour.
            assert!(text.starts_with(cert.trim_end()), "{kind}");
        }
    }

    #[test]
    fn a_key_from_another_pair_is_a_mismatch() {
        for kind in ["rsa", "ec"] {
            let (cert, _) = openssl_pair(kind, "a.example");
            let (_, other_key) = openssl_pair(kind, "b.example");
            assert_eq!(
                validate(&cert, &other_key),
                Err(PemError::Mismatch),
                "{kind}"
            );
        }
    }

    #[test]
    fn broken_inputs_name_the_right_field() {
        let (cert, key) = openssl_pair("ec", "a.example");
        let cases: Vec<(String, String, PemError)> = vec![
            ("hello".into(), key.clone(), PemError::NoCertificate),
            (
                cert.replacen("MII", "MI*", 1).replace("\nM", "\n*"),
                key.clone(),
                PemError::BadCertificate(0),
            ),
            (format!("{cert}{key}"), key.clone(), PemError::KeyInCertificate),
            (cert.clone(), "".into(), PemError::KeyCount(0)),
            (cert.clone(), format!("{key}{key}"), PemError::KeyCount(2)),
            (
                cert.clone(),
                "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n".into(),
                PemError::EncryptedKey,
            ),
            (
                cert.clone(),
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".into(),
                PemError::BadKey,
            ),
        ];
        for (c, k, want) in cases {
            let got = validate(&c, &k);
            assert_eq!(got.as_ref().map(|_| ()), Err(&want));
            assert!(!want.to_string().contains("PRIVATE KEY-----"));
        }
        assert_eq!(PemError::NoCertificate.field().as_str(), "tls_cert");
        assert_eq!(PemError::Mismatch.field().as_str(), "tls_key");
    }

    #[test]
    fn text_around_blocks_does_not_survive() {
        let (cert, key) = openssl_pair("ec", "a.example");
        let noisy = format!("Bag Attributes\n  friendlyName: x\n{cert}\n# frontend evil\n");
        let bundle = validate(&noisy, &key).unwrap();
        assert!(!bundle.as_str().contains("Bag") && !bundle.as_str().contains("evil"));
        assert_eq!(format!("{bundle:?}"), "PemBundle(<redacted>)");
    }

    /// One real pair, made once for the mutation property below.
    fn real_pair() -> &'static (Vec<u8>, Vec<u8>, String) {
        static PAIR: std::sync::OnceLock<(Vec<u8>, Vec<u8>, String)> = std::sync::OnceLock::new();
        PAIR.get_or_init(|| {
            let (cert, key) = openssl_pair("ec", "m.example");
            let der = |text: &str| blocks(text).remove(0).der.unwrap();
            let label = blocks(&key).remove(0).label;
            (der(&cert), der(&key), label)
        })
    }

    proptest::proptest! {
        #[test]
        fn mutated_real_certificates_and_keys_never_panic(
            at in 0usize..2000,
            byte in proptest::prelude::any::<u8>(),
            cut in 0usize..2000,
        ) {
            let (cert, key, label) = real_pair();
            for (c, k) in [(cert.clone(), key.clone()), (key.clone(), cert.clone())] {
                let mut c = c;
                let mut k = k;
                let i = at % c.len();
                c[i] = byte;
                let j = at % k.len();
                k[j] ^= byte;
                c.truncate(cut.max(1).min(c.len()));
                let _ = validate(&armour("CERTIFICATE", &c), &armour(label, &k));
            }
        }

        #[test]
        fn validate_never_panics(cert in "\\PC{0,300}", key in "\\PC{0,300}") {
            let _ = validate(&cert, &key);
            let wrapped = format!("-----BEGIN CERTIFICATE-----\n{cert}\n-----END CERTIFICATE-----\n");
            let _ = validate(&wrapped, &key);
        }

        #[test]
        fn der_parsing_never_panics_on_arbitrary_bytes(
            cert in proptest::collection::vec(proptest::prelude::any::<u8>(), 1..400),
            key in proptest::collection::vec(proptest::prelude::any::<u8>(), 1..400),
            label in proptest::prop_oneof![
                proptest::strategy::Just("PRIVATE KEY"),
                proptest::strategy::Just("RSA PRIVATE KEY"),
                proptest::strategy::Just("EC PRIVATE KEY"),
            ],
        ) {
            // Random bytes, and random bytes behind a plausible SEQUENCE header.
            for prefix in [&[][..], &[0x30, 0x82, 0x01, 0x00][..], &[0x30, 0x81, 0x80][..]] {
                let c = armour("CERTIFICATE", &[prefix, &cert[..]].concat());
                let k = armour(label, &[prefix, &key[..]].concat());
                let _ = validate(&c, &k);
            }
        }
    }
}
