use super::*;
use std::collections::HashSet;
use std::time::{Duration, UNIX_EPOCH};

#[test]
fn datetimes_are_utc_rfc3339() {
    assert_eq!(xsd_datetime(UNIX_EPOCH), "1970-01-01T00:00:00Z");
    assert_eq!(
        xsd_datetime(UNIX_EPOCH + Duration::from_secs(951_782_400 + 86_399)),
        "2000-02-29T23:59:59Z"
    );
    assert_eq!(
        xsd_datetime(UNIX_EPOCH - Duration::from_secs(1)),
        "1969-12-31T23:59:59Z"
    );
    assert_eq!(
        xsd_datetime(UNIX_EPOCH + Duration::from_secs(1_795_564_800)),
        "2026-11-25T00:00:00Z"
    );
}

#[test]
fn hostile_names_sanitise_to_safe_paths() {
    for (name, want) in [
        ("../../etc/passwd", "etc/passwd"),
        ("/proc/iomem", "proc/iomem"),
        ("a\0b%41c\n", "a_b_41c_"),
        ("C:\\Windows\\x.sys", "C_/Windows/x.sys"),
        ("späße/日本", "sp__e/__"),
        ("", "unnamed"),
        ("/../.", "unnamed"),
    ] {
        assert_eq!(sanitize_path(name), want, "{name:?}");
    }
    assert!(sanitize_path(&"x/".repeat(500)).len() <= 180);
}

#[test]
fn volume_starts_with_description_and_version() {
    let mut v = VolumeWriter::new(Vec::new(), "test 1").unwrap();
    let urn = v.volume_urn().to_string();
    assert!(urn.starts_with("aff4://") && urn == urn.to_lowercase() && urn.len() == 43);
    assert!(v.add_member("version.txt", b"x").is_err());
    assert!(v.add_member("/abs", b"x").is_err());
    v.add_member("PhysicalMemory/information.yaml", b"a: 1\n")
        .unwrap();
    assert!(v
        .add_member("PhysicalMemory/information.yaml", b"x")
        .is_err());
    let yaml = v.member_name("aff4://0b5c2a1e-0000-4000-8000-000000000000/information.yaml");
    assert_eq!(
        yaml,
        "aff4%3A%2F%2F0b5c2a1e-0000-4000-8000-000000000000/information.yaml"
    );
    assert_eq!(v.member_name(&format!("{urn}/x/y")), "x/y");
    let bytes = v.finish().unwrap();
    assert_eq!(&bytes[30..30 + 21], b"container.description");
    assert!(bytes.ends_with(urn.as_bytes()));
    assert!(VolumeWriter::new(Vec::new(), "a\nb").is_err());
}

#[test]
fn one_image_per_volume() {
    let mut v = VolumeWriter::new(Vec::new(), "t").unwrap();
    let m = v.memory_image(StreamOptions::default()).unwrap();
    m.finish(0).unwrap();
    assert!(v.disk_image(StreamOptions::default()).is_err());
}

#[test]
fn pmem_terms_are_in_our_namespace() {
    assert_eq!(pmem::ALL.len(), 21);
    assert!(pmem::ALL.iter().all(|t| t.starts_with(pmem::NS)));
}

#[test]
fn urns_are_unique_version_4_uuids() {
    let urns: HashSet<String> = (0..10_000).map(|_| super::new_urn()).collect();
    assert_eq!(urns.len(), 10_000);
    for u in urns.iter().take(100) {
        let id = uuid::Uuid::parse_str(u.strip_prefix("aff4://").unwrap()).unwrap();
        assert_eq!(id.get_version_num(), 4, "{u}");
        assert_eq!(id.get_variant(), uuid::Variant::RFC4122, "{u}");
        assert_eq!(u, &u.to_lowercase());
    }
}
