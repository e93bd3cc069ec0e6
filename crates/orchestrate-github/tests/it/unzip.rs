//! Safe unpacking against real archives built with the `zip` crate, malicious ones included.

use std::io::Write;

use orchestrate_github::ArtifactLimits;
use orchestrate_github::unzip::{UnzipError, extract};
use zip::write::SimpleFileOptions;

pub enum Entry<'a> {
    File(&'a str, &'a [u8]),
    Symlink(&'a str, &'a str),
}

pub fn build_zip(entries: &[Entry<'_>]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for entry in entries {
        match entry {
            Entry::File(name, bytes) => {
                writer.start_file(*name, options).expect("start file");
                writer.write_all(bytes).expect("write");
            }
            Entry::Symlink(name, target) => writer
                .add_symlink(*name, *target, options)
                .expect("symlink"),
        }
    }
    writer.finish().expect("finish").into_inner()
}

fn small() -> ArtifactLimits {
    ArtifactLimits {
        max_total: 3 << 20,
        max_file: 1 << 20,
        max_entries: 10,
        ..ArtifactLimits::default()
    }
}

#[test]
fn a_normal_archive_unpacks_inside_the_target() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dest = dir.path().join("out");
    let zip = build_zip(&[
        Entry::File("build-info.json", br#"{"image":"x"}"#),
        Entry::File("nested/dir/a.txt", b"a"),
    ]);
    let files = extract(&zip, &dest, &small()).expect("unpacks");
    assert_eq!(
        files,
        vec![
            std::path::PathBuf::from("build-info.json"),
            "nested/dir/a.txt".into()
        ]
    );
    assert_eq!(
        std::fs::read_to_string(dest.join("nested/dir/a.txt")).expect("written"),
        "a"
    );
}

#[test]
fn malicious_archives_are_refused_and_leave_nothing_behind() {
    let names: Vec<String> = (0..11).map(|i| format!("f{i}")).collect();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "zip slip",
            build_zip(&[Entry::File("ok.txt", b"1"), Entry::File("../../evil", b"x")]),
        ),
        ("absolute", build_zip(&[Entry::File("/tmp/evil", b"x")])),
        ("drive", build_zip(&[Entry::File("C:/evil", b"x")])),
        (
            "symlink",
            build_zip(&[Entry::Symlink("link", "/etc/passwd")]),
        ),
        (
            "bomb",
            build_zip(&[Entry::File("zeros", &vec![0u8; 2 << 20])]),
        ),
        (
            "total",
            build_zip(&[
                Entry::File("a", &vec![0u8; 1 << 20]),
                Entry::File("b", &vec![0u8; 1 << 20]),
                Entry::File("c", &vec![0u8; 1 << 20]),
                Entry::File("d", &vec![0u8; 1 << 20]),
            ]),
        ),
        (
            "entries",
            build_zip(
                &names
                    .iter()
                    .map(|n| Entry::File(n, b""))
                    .collect::<Vec<_>>(),
            ),
        ),
    ];
    for (what, zip) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join("out");
        let err = extract(&zip, &dest, &small()).expect_err(what);
        let expected = match what {
            "zip slip" | "absolute" | "drive" => matches!(err, UnzipError::Escapes(_)),
            "symlink" => matches!(err, UnzipError::Symlink(_)),
            "bomb" => matches!(err, UnzipError::FileTooLarge { .. }),
            "total" => matches!(err, UnzipError::TotalTooLarge(_)),
            _ => matches!(err, UnzipError::TooManyEntries(10)),
        };
        assert!(expected, "{what}: {err:?}");
        assert!(!dest.exists(), "{what}: partial output removed");
        assert!(!dir.path().join("evil").exists() && !std::path::Path::new("/tmp/evil").exists());
    }
}

#[test]
fn a_non_empty_target_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("existing"), b"keep").expect("write");
    let err = extract(&build_zip(&[Entry::File("a", b"a")]), dir.path(), &small())
        .expect_err("not empty");
    assert!(matches!(err, UnzipError::NotEmpty(_)));
    assert!(dir.path().join("existing").exists());
}

#[test]
fn names_with_line_breaks_or_backslash_tricks_are_refused() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "newline",
            build_zip(&[Entry::File("a\n::error::forged.json", b"{}")]),
        ),
        ("carriage return", build_zip(&[Entry::File("a\rb", b"x")])),
        (
            "backslash slip",
            build_zip(&[Entry::File("..\\..\\evil", b"x")]),
        ),
        (
            "unc",
            build_zip(&[Entry::File("\\\\server\\share\\x", b"x")]),
        ),
        (
            "drive backslash",
            build_zip(&[Entry::File("C:\\evil", b"x")]),
        ),
    ];
    for (what, zip) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join("out");
        let err = extract(&zip, &dest, &small()).expect_err(what);
        assert!(
            matches!(
                err,
                UnzipError::Escapes(_) | UnzipError::ControlCharacters(_)
            ),
            "{what}: {err:?}"
        );
        assert!(!err.to_string().contains('\n'), "{what}: {err}");
        assert!(!dest.exists(), "{what}: partial output removed");
    }
}

#[test]
fn two_entries_for_one_path_are_refused_not_overwritten() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dest = dir.path().join("out");
    let zip = build_zip(&[
        Entry::File("build-info.json", br#"{"image":"good"}"#),
        Entry::File("./build-info.json", br#"{"image":"evil"}"#),
    ]);
    let err = extract(&zip, &dest, &small()).expect_err("duplicate");
    assert!(matches!(err, UnzipError::Io(..)), "{err:?}");
    assert!(!dest.exists());
}

/// Rewrites every declared uncompressed size of a one-entry zip (local header and central
/// directory) to `size`: an archive whose headers lie.
fn lie_about_size(mut zip: Vec<u8>, size: u32) -> Vec<u8> {
    let find = |zip: &[u8], sig: &[u8; 4]| {
        zip.windows(4)
            .position(|w| w == sig)
            .expect("signature present")
    };
    let local = find(&zip, b"PK\x03\x04");
    zip[local + 22..local + 26].copy_from_slice(&size.to_le_bytes());
    let central = find(&zip, b"PK\x01\x02");
    zip[central + 24..central + 28].copy_from_slice(&size.to_le_bytes());
    zip
}

#[test]
fn a_bomb_that_lies_in_its_headers_is_stopped_by_the_bytes_read() {
    let honest = build_zip(&[Entry::File("zeros", &vec![0u8; 4 << 20])]);
    let zip = lie_about_size(honest, 10);
    let dir = tempfile::tempdir().expect("tempdir");
    let dest = dir.path().join("out");
    let limits = ArtifactLimits {
        max_file: 1 << 20,
        max_total: 1 << 20,
        ..small()
    };
    let err = extract(&zip, &dest, &limits).expect_err("bomb");
    assert!(
        matches!(
            err,
            UnzipError::FileTooLarge { .. }
                | UnzipError::TotalTooLarge(_)
                | UnzipError::Entry { .. }
                | UnzipError::NotZip(_)
        ),
        "{err:?}"
    );
    assert!(!dest.exists(), "partial output removed");
}
