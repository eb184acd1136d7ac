//! URN ↔ ZIP member-name mapping (AFF4 Standard §5.1–5.2, AFF4-FORMAT.md §2).

/// The member name under which the object `urn` is stored in the volume `volume_urn`.
/// Uses c-aff4's escape set in uppercase so both pyaff4 and c-aff4 find it.
pub fn member_name_for_urn(urn: &str, volume_urn: &str) -> String {
    let _ = (urn, volume_urn);
    todo!()
}

/// The URN of the object stored as `member` in `volume_urn`: decodes `%XX` in either
/// case; a leading `/` is kept as the AFF4-L producers intend.
pub fn urn_for_member_name(member: &str, volume_urn: &str) -> String {
    let _ = (member, volume_urn);
    todo!()
}
