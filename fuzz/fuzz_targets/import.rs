#![no_main]

//! A full import of a JSONL input into a fresh project file: reader thread, mapping, id
//! checks, rejects file and SQLite inserts. Slow (a new database per input), which is fine.

use std::path::PathBuf;
use std::sync::LazyLock;
use std::sync::atomic::AtomicBool;

use libfuzzer_sys::fuzz_target;
use verdikt_core::import::{ImportOptions, InputFormat, import};
use verdikt_core::store::Store;

static DIR: LazyLock<PathBuf> = LazyLock::new(|| {
    let dir = verdikt_fuzz::input_path("import");
    std::fs::create_dir_all(&dir).expect("the temp dir is writable");
    dir
});

fuzz_target!(|data: &[u8]| {
    let input = DIR.join("input.jsonl");
    let db = DIR.join("project.sqlite");
    for stale in ["project.sqlite", "project.sqlite-wal", "project.sqlite-shm"] {
        let _ = std::fs::remove_file(DIR.join(stale));
    }
    std::fs::write(&input, data).expect("the temp dir is writable");
    let mut store = Store::open(&db).expect("a fresh project file opens");
    // skip_invalid stores the valid rows and writes the rest to the rejects file, so one
    // input drives both the insert path and the rejects path.
    let opts = ImportOptions {
        dataset: Some("fuzz".into()),
        format: InputFormat::Jsonl,
        skip_invalid: true,
        rejects: Some(DIR.join("rejects.jsonl")),
        ..verdikt_fuzz::options()
    };
    let _ = import(
        &mut store,
        &[input],
        &opts,
        &mut |_| {},
        &AtomicBool::new(false),
    );
});
