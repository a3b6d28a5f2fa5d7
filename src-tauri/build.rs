//! Generates the app's permission manifest: one `allow-<command>` permission per command, so
//! the window may call only the commands its capability file lists.
include!("src/command_names.rs");

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri build script");
}
