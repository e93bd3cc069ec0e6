//! Builds real deflate zip archives in memory, the shape every v4 artifact download has.

use std::io::{Cursor, Write as _};

use zip::CompressionMethod;
use zip::write::SimpleFileOptions;

/// Builds a zip archive holding `files` (path inside the archive, content), deflate-compressed.
///
/// A later entry with the same path replaces an earlier one, as writing the same file twice
/// into a directory would; the archive keeps the first-seen order of paths.
#[must_use]
pub fn zip_files(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut unique: Vec<(&str, &[u8])> = Vec::with_capacity(files.len());
    for &(path, content) in files {
        match unique.iter_mut().find(|(seen, _)| *seen == path) {
            Some(entry) => entry.1 = content,
            None => unique.push((path, content)),
        }
    }
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .unix_permissions(0o644);
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (path, content) in unique {
        // Writing into a Vec cannot fail for I/O reasons and paths are unique by now, which
        // leaves no error the zip writer can report.
        writer
            .start_file(path, options)
            .expect("starting a uniquely named entry in an in-memory zip cannot fail");
        writer
            .write_all(content)
            .expect("writing to an in-memory zip cannot fail");
    }
    writer
        .finish()
        .expect("finishing an in-memory zip cannot fail")
        .into_inner()
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;

    fn read_back(bytes: &[u8]) -> Vec<(String, Vec<u8>, CompressionMethod)> {
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("valid zip");
        (0..archive.len())
            .map(|i| {
                let mut file = archive.by_index(i).expect("entry");
                let mut content = Vec::new();
                file.read_to_end(&mut content).expect("read entry");
                (
                    file.name().expect("utf-8 name").into_owned(),
                    content,
                    file.compression(),
                )
            })
            .collect()
    }

    #[test]
    fn builds_a_deflate_zip_that_reads_back() {
        let bytes = zip_files(&[
            ("build-info.json", br#"{"version":"1.2.3"}"#),
            ("dir/notes.txt", b"hello hello hello hello"),
        ]);
        assert_eq!(&bytes[..4], b"PK\x03\x04");
        let entries = read_back(&bytes);
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].0, "build-info.json");
        assert_eq!(entries[0].1, br#"{"version":"1.2.3"}"#);
        assert_eq!(entries[0].2, CompressionMethod::Deflated);
        assert_eq!(entries[1].0, "dir/notes.txt");
        assert_eq!(entries[1].1, b"hello hello hello hello");
    }

    #[test]
    fn later_duplicate_replaces_earlier() {
        let bytes = zip_files(&[("a.txt", b"one"), ("b.txt", b"two"), ("a.txt", b"three")]);
        let entries = read_back(&bytes);
        let names: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(names, ["a.txt", "b.txt"]);
        assert_eq!(entries[0].1, b"three");
    }

    #[test]
    fn empty_input_is_a_valid_empty_zip() {
        let bytes = zip_files(&[]);
        assert!(read_back(&bytes).is_empty());
    }
}
