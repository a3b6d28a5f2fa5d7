#![no_main]

use std::backtrace::Backtrace;
use std::sync::{Mutex, Once};

use libfuzzer_sys::fuzz_target;
use verdikt_core::import::FileFormat;

static HOOK: Once = Once::new();
static LAST_PANIC: Mutex<Option<(String, Backtrace)>> = Mutex::new(None);

fuzz_target!(|data: &[u8]| {
    // The importer turns panics of the parquet crate (and the arrow code it calls) on corrupt
    // files into errors (`guarded` in core/src/import/parquet.rs): handled, not crashes. So
    // libfuzzer-sys's abort-on-panic hook gives way to one that only remembers the panic, and
    // only a panic that escapes `preview` aborts, with the remembered message and backtrace.
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let last = (info.to_string(), Backtrace::force_capture());
            *LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()) = Some(last);
        }))
    });
    let run = || verdikt_fuzz::preview_bytes("parquet", FileFormat::Parquet, data);
    if std::panic::catch_unwind(run).is_err() {
        if let Some((message, backtrace)) = LAST_PANIC.lock().unwrap().take() {
            eprintln!("{message}\n{backtrace}");
        }
        std::process::abort();
    }
});
