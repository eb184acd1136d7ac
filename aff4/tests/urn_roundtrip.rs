//! URN → member name → URN is the identity for arbitrary path segments, including
//! non-ASCII and characters that must be escaped (AFF4-FORMAT.md §2).

use aff4::urn::{member_name_for_urn, percent_decode, urn_for_member_name};
use proptest::prelude::*;

const V: &str = "aff4://5aea2dd0-32b4-4c61-a9db-677654be6f83";
const HOSTILE: &str = "!$\\:*%?\"<>|\t\r\n\u{1}\u{1f}\u{7f} ]#&'()+,;=@[^`{}~";

/// A non-empty path segment without `/` and NUL: hostile ASCII, non-ASCII, escapes.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        "[^/\u{0}]{1,12}",
        proptest::collection::vec(
            proptest::sample::select(HOSTILE.chars().collect::<Vec<_>>()),
            1..8
        )
        .prop_map(|c| c.into_iter().collect()),
        "[a-z0-9]{1,4}%[0-9A-Fa-f]{2}[ü€中𝄞]{0,2}",
    ]
}

/// Whether `m` has only characters c-aff4 leaves unescaped, and uppercase `%XX`.
fn is_canonical(m: &str) -> bool {
    let b = m.as_bytes();
    b.iter().enumerate().all(|(i, &c)| match c {
        b'%' => b.get(i + 1..i + 3).is_some_and(|h| {
            h.iter()
                .all(|d| d.is_ascii_digit() || (b'A'..=b'F').contains(d))
        }),
        c => !b"!$\\:*?\"<>|".contains(&c) && !c.is_ascii_control(),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn urns_under_the_volume_round_trip(
        parts in proptest::collection::vec(segment(), 1..5),
        leading_slash in any::<bool>(),
    ) {
        let rel = parts.join("/");
        // A relative part that decodes to `aff4:...` names a URN of its own, for pyaff4
        // and c-aff4 alike; such a path cannot be stored under the volume.
        prop_assume!(!rel.starts_with("aff4:"));
        let urn = format!("{V}/{}{rel}", if leading_slash { "/" } else { "" });
        let m = member_name_for_urn(&urn, V);
        prop_assert!(is_canonical(&m), "{m:?}");
        prop_assert_eq!(m.starts_with('/'), leading_slash);
        prop_assert_eq!(&urn_for_member_name(&m, V), &urn);
        // Readers accept lowercase escapes too.
        let lower = m.replace("%3A", "%3a").replace("%2A", "%2a").replace("%5C", "%5c");
        prop_assert_eq!(&urn_for_member_name(&lower, V), &urn);
    }

    #[test]
    fn foreign_urns_round_trip_under_an_escaped_folder(
        uuid in "[0-9a-f]{8}-[0-9a-f]{4}",
        parts in proptest::collection::vec(segment(), 1..4),
    ) {
        let urn = format!("aff4://{uuid}/{}", parts.join("/"));
        let m = member_name_for_urn(&urn, V);
        let prefix = format!("aff4%3A%2F%2F{uuid}/");
        prop_assert!(m.starts_with(&prefix), "{}", m);
        prop_assert!(is_canonical(&m), "{}", m);
        prop_assert_eq!(&urn_for_member_name(&m, V), &urn);
    }

    #[test]
    fn decoding_never_panics_and_keeps_plain_text(s in "\\PC{0,40}") {
        let d = percent_decode(&s);
        if !s.contains('%') {
            prop_assert_eq!(d, s);
        }
    }
}

#[test]
fn producers_names_resolve() {
    // Evimetry: streams under the escaped authority of their own URN.
    assert_eq!(
        urn_for_member_name(
            "aff4%3A%2F%2Ffcbfdce7-4488-4677-abf6-08bc931e195b/00000000",
            V
        ),
        "aff4://fcbfdce7-4488-4677-abf6-08bc931e195b/00000000"
    );
    // pyaff4 writes lowercase escapes.
    assert_eq!(
        urn_for_member_name("aff4%3a%2f%2fs/x%3ay", V),
        "aff4://s/x:y"
    );
    // AFF4-L: leading slash kept, giving a double slash after the volume.
    let urn = urn_for_member_name("/test_images/AFF4-L/dream.txt", V);
    assert_eq!(urn, format!("{V}//test_images/AFF4-L/dream.txt"));
    assert_eq!(
        member_name_for_urn(&urn, V),
        "/test_images/AFF4-L/dream.txt"
    );
}
