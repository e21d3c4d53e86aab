//! A bounds-checked reader for one DER element (tag, length, content), the little of ASN.1 the
//! charm needs to check PEM keys against certificates and read certificate validity. Never
//! panics on hostile input: every length is checked against the bytes actually present.

/// One DER TLV: `(tag, content, rest)`, or `None` when the input is truncated or uses a
/// length form we do not accept (indefinite, or more than 4 length bytes).
pub fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn short_and_long_lengths() {
        assert_eq!(
            tlv(&[0x02, 0x01, 0x05, 0xff]),
            Some((0x02, &[0x05][..], &[0xff][..]))
        );
        let long = [&[0x04, 0x81, 0x80][..], &[7u8; 0x80]].concat();
        assert_eq!(
            tlv(&long).map(|(t, c, r)| (t, c.len(), r.len())),
            Some((0x04, 0x80, 0))
        );
    }

    #[test]
    fn truncated_or_indefinite_is_none() {
        assert_eq!(tlv(&[]), None);
        assert_eq!(tlv(&[0x30]), None);
        assert_eq!(tlv(&[0x30, 0x05, 1, 2]), None);
        assert_eq!(tlv(&[0x30, 0x80]), None);
        assert_eq!(tlv(&[0x30, 0x85, 0, 0, 0, 0, 1]), None);
    }

    proptest! {
        #[test]
        fn never_panics_and_never_reads_past_the_input(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Some((_, content, rest)) = tlv(&bytes) {
                prop_assert!(content.len() + rest.len() < bytes.len());
            }
        }
    }
}
