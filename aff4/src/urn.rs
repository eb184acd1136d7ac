//! URN ↔ ZIP member-name mapping (AFF4 Standard §5.1–5.2, AFF4-FORMAT.md §2).

const ESCAPED: &[u8] = b"!$\\:*%?\"<>|";

/// The member name under which the object `urn` is stored in the volume `volume_urn`.
/// Uses c-aff4's escape set in uppercase so both pyaff4 and c-aff4 find it.
pub fn member_name_for_urn(urn: &str, volume_urn: &str) -> String {
    let (prefix, rel) = match urn.strip_prefix(volume_urn) {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => {
            (String::new(), rest.strip_prefix('/').unwrap_or(rest))
        }
        _ => match urn.strip_prefix("aff4://") {
            // A foreign URN lives under its escaped authority folder.
            Some(rest) => ("aff4%3A%2F%2F".to_string(), rest),
            None => (String::new(), urn),
        },
    };
    let mut out = prefix.into_bytes();
    for &b in rel.as_bytes() {
        if ESCAPED.contains(&b) || b < 0x20 || b == 0x7f {
            out.extend_from_slice(format!("%{b:02X}").as_bytes());
        } else {
            out.push(b);
        }
    }
    // Only ASCII was inserted between whole UTF-8 sequences, so this cannot fail.
    String::from_utf8(out).unwrap_or_default()
}

/// The URN of the object stored as `member` in `volume_urn`: decodes `%XX` in either
/// case; a leading `/` is kept as the AFF4-L producers intend.
pub fn urn_for_member_name(member: &str, volume_urn: &str) -> String {
    let decoded = percent_decode(member);
    if decoded.starts_with("aff4:") {
        return decoded;
    }
    format!("{volume_urn}/{decoded}")
}

/// Decodes `%XX` escapes (either case); invalid escapes stay as written.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(v) = hex {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const V: &str = "aff4://c215ba20-5648-4209-a793-1f918c723610";

    #[test]
    fn standard_cases() {
        assert_eq!(
            member_name_for_urn(&format!("{V}/PhysicalMemory/data/00000000"), V),
            "PhysicalMemory/data/00000000"
        );
        assert_eq!(
            member_name_for_urn("aff4://fcbfdce7-4488-4677-abf6-08bc931e195b/00000000", V),
            "aff4%3A%2F%2Ffcbfdce7-4488-4677-abf6-08bc931e195b/00000000"
        );
        assert_eq!(
            member_name_for_urn(&format!("{V}/C:/pagefile.sys"), V),
            "C%3A/pagefile.sys"
        );
        assert_eq!(
            urn_for_member_name("aff4%3a%2f%2fS/00000000", V),
            "aff4://S/00000000"
        );
        assert_eq!(
            urn_for_member_name("C%3A/pagefile.sys", V),
            format!("{V}/C:/pagefile.sys")
        );
        assert_eq!(
            urn_for_member_name("/test_images/AFF4-L/dream.txt", V),
            format!("{V}//test_images/AFF4-L/dream.txt")
        );
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }

    proptest! {
        #[test]
        fn urn_member_round_trip(parts in proptest::collection::vec("[^/\u{0}]{1,12}", 1..4)) {
            let urn = format!("{V}/{}", parts.join("/"));
            let m = member_name_for_urn(&urn, V);
            prop_assert!(!m.contains(':') && !m.contains('?') && !m.contains('*'));
            prop_assert_eq!(urn_for_member_name(&m, V), urn);
        }
    }
}
