//! The two facts the charm needs from a certificate it serves: `notBefore` and `notAfter` of
//! the leaf (the first PEM block), read with a small DER walk (RFC 5280 §4.1: Certificate ->
//! tbsCertificate -> [0] version, serial, signature, issuer, validity). Also RFC 3339 text for
//! `status-detail` (§1.6). Never parses anything else of the certificate.

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

/// Seconds since the Unix epoch.
pub type UnixTime = i64;

/// `(not_before, not_after)` of the first certificate in `pem`.
pub fn validity(pem: &[u8]) -> Option<(UnixTime, UnixTime)> {
    let der = CertificateDer::pem_slice_iter(pem).next()?.ok()?;
    validity_der(der.as_ref())
}

use crate::der::tlv as element;

fn validity_der(der: &[u8]) -> Option<(UnixTime, UnixTime)> {
    const SEQUENCE: u8 = 0x30;
    let (tag, certificate, _) = element(der)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, mut tbs, _) = element(certificate)?;
    if tag != SEQUENCE {
        return None;
    }
    // [0] EXPLICIT version is optional.
    if tbs.first() == Some(&0xa0) {
        tbs = element(tbs)?.2;
    }
    let after_serial = element(tbs)?.2;
    let after_signature = element(after_serial)?.2;
    let after_issuer = element(after_signature)?.2;
    let (tag, validity, _) = element(after_issuer)?;
    if tag != SEQUENCE {
        return None;
    }
    let (t1, before, rest) = element(validity)?;
    let (t2, after, _) = element(rest)?;
    Some((time(t1, before)?, time(t2, after)?))
}

/// UTCTime (`YYMMDDHHMMSSZ`, 0x17) or GeneralizedTime (`YYYYMMDDHHMMSSZ`, 0x18).
fn time(tag: u8, text: &[u8]) -> Option<UnixTime> {
    let text = std::str::from_utf8(text).ok()?;
    let digits = text.strip_suffix('Z')?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (year, rest) = match (tag, digits.len()) {
        (0x17, 12) => {
            let yy: i64 = digits[..2].parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &digits[2..])
        }
        (0x18, 14) => (digits[..4].parse().ok()?, &digits[4..]),
        _ => return None,
    };
    let field = |i: usize| rest[i..i + 2].parse::<i64>().ok();
    let (month, day, hour, minute, second) =
        (field(0)?, field(2)?, field(4)?, field(6)?, field(8)?);
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `2026-03-01T12:00:00Z`.
pub fn rfc3339(t: UnixTime) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
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
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

pub fn now() -> UnixTime {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips_known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_772_366_400), "2026-03-01T12:00:00Z");
        assert_eq!(
            days_from_civil(2026, 3, 1) * 86_400 + 12 * 3600,
            1_772_366_400
        );
    }

    #[test]
    fn validity_of_a_generated_certificate() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["a.example.com".into()]).unwrap();
        params.not_before = rcgen::date_time_ymd(2025, 1, 2);
        params.not_after = rcgen::date_time_ymd(2051, 6, 7);
        let cert = params.self_signed(&key).unwrap();
        let (before, after) = validity(cert.pem().as_bytes()).unwrap();
        assert_eq!(rfc3339(before), "2025-01-02T00:00:00Z");
        assert_eq!(rfc3339(after), "2051-06-07T00:00:00Z");
    }

    #[test]
    fn garbage_has_no_validity() {
        assert_eq!(validity(b"not a pem"), None);
        assert_eq!(validity_der(&[0x30, 0x82, 0xff]), None);
    }
}
