// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    // Regenerates the window's TypeScript bindings (the test `bindings_are_fresh` checks them).
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some("--write-bindings") {
        let path = args.next().unwrap_or_else(|| "ui/src/bindings.ts".into());
        std::fs::write(&path, verdikt_app::bindings()).expect("write the bindings");
        return;
    }
    verdikt_app::run();
}
