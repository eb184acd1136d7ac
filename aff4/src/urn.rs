//! URN ↔ ZIP member-name mapping (AFF4 Standard §5.1–5.2, AFF4-FORMAT.md §2).
//!
//! Writing uses c-aff4's escape set in uppercase (which pyaff4 also decodes); reading
//! decodes `%XX` in either case so names from every producer resolve.

/// Bytes escaped as `%XX` besides control characters: c-aff4's set.
const ESCAPED: &[u8] = b"!$\\:*%?\"<>|";
/// The escaped form of `aff4://` that prefixes a URN outside the volume.
const FOREIGN_PREFIX: &str = "aff4%3A%2F%2F";

/// The member name under which the object `urn` is stored in the volume `volume_urn`.
/// Uses c-aff4's escape set in uppercase so both pyaff4 and c-aff4 find it.
///
/// * `<volume>/a/b` → `a/b` (one leading `/` of the relative part is dropped, so
///   `<volume>//x` → `/x` as in AFF4-L);
/// * `aff4://other/a` → `aff4%3A%2F%2Fother/a`;
/// * `/` is kept; `! $ \ : * % ? " < > |` and control characters become `%XX`.
pub fn member_name_for_urn(urn: &str, volume_urn: &str) -> String {
    let (prefix, rel) = match urn.strip_prefix(volume_urn) {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => {
            ("", rest.strip_prefix('/').unwrap_or(rest))
        }
        _ => match urn.strip_prefix("aff4://") {
            Some(rest) => (FOREIGN_PREFIX, rest),
            None => ("", urn),
        },
    };
    let mut out = String::with_capacity(prefix.len() + rel.len());
    out.push_str(prefix);
    for c in rel.chars() {
        if c.is_ascii() && needs_escape(c as u8) {
            out.push_str(&format!("%{:02X}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether the ASCII byte `b` is escaped in member names.
fn needs_escape(b: u8) -> bool {
    ESCAPED.contains(&b) || b.is_ascii_control()
}

/// The URN of the object stored as `member` in `volume_urn`: decodes `%XX` in either
/// case; a leading `/` is kept as the AFF4-L producers intend.
///
/// A decoded name starting with `aff4:` is a URN of its own; anything else is appended
/// to the volume URN with one `/` (so `/x` → `<volume>//x`). The empty name is the
/// volume itself.
pub fn urn_for_member_name(member: &str, volume_urn: &str) -> String {
    let decoded = percent_decode(member);
    if decoded.starts_with("aff4:") {
        decoded
    } else if decoded.is_empty() {
        volume_urn.to_string()
    } else {
        format!("{volume_urn}/{decoded}")
    }
}

/// Decodes `%XX` escapes (either case); invalid escapes stay as written, and decoded
/// bytes that are not UTF-8 become U+FFFD.
pub fn percent_decode(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut rest = s.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        match (b, hex_pair(tail)) {
            (b'%', Some(v)) => {
                out.push(v);
                rest = tail.get(2..).unwrap_or_default();
            }
            _ => {
                out.push(b);
                rest = tail;
            }
        }
    }
    match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

/// The byte spelled by the first two hex digits of `b`, if they are hex digits.
fn hex_pair(b: &[u8]) -> Option<u8> {
    let digit = |c: u8| char::from(c).to_digit(16);
    match b {
        [h, l, ..] => Some((digit(*h)? * 16 + digit(*l)?) as u8),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V: &str = "aff4://c215ba20-5648-4209-a793-1f918c723610";

    #[test]
    fn names_from_the_standard_and_the_producers() {
        let m = |u: &str| member_name_for_urn(u, V);
        assert_eq!(
            m(&format!("{V}/PhysicalMemory/data/00000000")),
            "PhysicalMemory/data/00000000"
        );
        assert_eq!(
            m("aff4://fcbfdce7-4488-4677-abf6-08bc931e195b/00000000"),
            "aff4%3A%2F%2Ffcbfdce7-4488-4677-abf6-08bc931e195b/00000000"
        );
        assert_eq!(m(&format!("{V}/C:/pagefile.sys")), "C%3A/pagefile.sys");
        assert_eq!(
            m(&format!("{V}/a!$\\*%?\"<>|b")),
            "a%21%24%5C%2A%25%3F%22%3C%3E%7Cb"
        );
        assert_eq!(m(&format!("{V}/tab\there\u{7f}")), "tab%09here%7F");
        assert_eq!(m(&format!("{V}/ünï cödé ]")), "ünï cödé ]");
        assert_eq!(
            m(&format!("{V}//test_images/AFF4-L/dream.txt")),
            "/test_images/AFF4-L/dream.txt"
        );
        assert_eq!(m(V), "");
        // A URN that merely starts with the volume's text is foreign.
        assert_eq!(
            m(&format!("{V}0/x")),
            format!("{}0/x", &V.replace("aff4://", FOREIGN_PREFIX))
        );
    }

    #[test]
    fn member_names_back_to_urns() {
        let u = |n: &str| urn_for_member_name(n, V);
        assert_eq!(u("aff4%3a%2f%2fS/00000000"), "aff4://S/00000000");
        assert_eq!(u("aff4%3A%2F%2FS/00000000"), "aff4://S/00000000");
        assert_eq!(u("C%3A/pagefile.sys"), format!("{V}/C:/pagefile.sys"));
        assert_eq!(
            u("/test_images/AFF4-L/dream.txt"),
            format!("{V}//test_images/AFF4-L/dream.txt")
        );
        assert_eq!(u("information.turtle"), format!("{V}/information.turtle"));
        assert_eq!(u(""), V);
    }

    #[test]
    fn invalid_escapes_stay_literal() {
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%4g%41%"), "%4gA%");
        assert_eq!(percent_decode("%C3%BC"), "ü");
        assert_eq!(percent_decode("%FF"), "\u{FFFD}");
    }
}
