//! Embeds the built UI (`ui/dist`) in the binary, so an installed `verdikt serve` serves it with
//! nothing beside it. A build script rather than `include_dir!`/`rust-embed`: those fail to
//! compile (or read the disk at run time in debug builds) when the folder is missing, and a
//! build without the UI (clippy, a fresh clone before `npm run build`) must still work; then
//! the list is empty and the server says it serves the API only. Writes `ui_bundle.rs`: the
//! files as `(path under dist, include_bytes!)`, sorted.

use std::path::{Path, PathBuf};

fn main() {
    let ui = Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it")).join("../ui");
    let dist = ui.join("dist");
    let mut files = Vec::new();
    if dist.is_dir() {
        walk(&dist, &mut files);
        println!("cargo:rerun-if-changed={}", dist.display());
    } else {
        // Watching a path that does not exist would rerun this on every build; the folder
        // above it changes when `dist` appears.
        println!("cargo:rerun-if-changed={}", ui.display());
    }
    files.sort();
    let mut code = String::from("pub const FILES: &[(&str, &[u8])] = &[\n");
    for path in files {
        let key = path
            .strip_prefix(&dist)
            .expect("under dist")
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let full = std::fs::canonicalize(&path).expect("a listed file exists");
        code.push_str(&format!("    ({key:?}, include_bytes!({full:?})),\n"));
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it")).join("ui_bundle.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("ui/dist is readable") {
        let path = entry.expect("ui/dist is readable").path();
        if path.is_dir() {
            walk(&path, files);
        } else {
            files.push(path);
        }
    }
}
