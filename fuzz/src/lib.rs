//! Shared by the fuzz targets: each writes its input to one file per process and reads it
//! back the way an import would. A panic, abort, hang or OOM is a bug; an `Err` is not.

use std::path::PathBuf;

use verdikt_core::import::{FileFormat, ImportOptions, SourceFile, preview};

/// One fixed path per process (rewritten every iteration), so parallel runs do not collide.
pub fn input_path(target: &str) -> PathBuf {
    std::env::temp_dir().join(format!("verdikt-fuzz-{target}-{}", std::process::id()))
}

/// Options as `verdikt import --language en` would give: rows without a language still map.
pub fn options() -> ImportOptions {
    ImportOptions {
        language: Some("en".into()),
        ..ImportOptions::default()
    }
}

/// Reads `data` as a `format` file and maps every row, storing nothing.
pub fn preview_bytes(target: &str, format: FileFormat, data: &[u8]) {
    let path = input_path(target);
    std::fs::write(&path, data).expect("the temp dir is writable");
    let file = SourceFile {
        path,
        format,
        language: None,
        split: None,
    };
    let _ = preview(&file, &options(), usize::MAX);
}
