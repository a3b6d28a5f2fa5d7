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
    // WebKitGTK's accelerated compositing costs about 75 MB in its web process and buys nothing
    // for a page of text and small charts (scripts/bench-app measures it). A user who sets the
    // variable keeps their choice.
    #[cfg(target_os = "linux")]
    if std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none() {
        // SAFETY: no other thread exists yet.
        unsafe { std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1") };
    }
    verdikt_app::run();
}
