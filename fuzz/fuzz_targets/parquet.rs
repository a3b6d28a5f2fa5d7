#![no_main]

use std::sync::Once;

use libfuzzer_sys::fuzz_target;
use verdikt_core::import::FileFormat;

static HOOK: Once = Once::new();

fuzz_target!(|data: &[u8]| {
    // The importer turns the parquet crate's panics on corrupt files into errors (`guarded` in
    // core/src/import/parquet.rs), so those are handled, not crashes. Every other panic still
    // reaches libfuzzer-sys's hook, which aborts, and one escaping `preview` aborts anyway.
    HOOK.call_once(|| {
        let abort = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_parquet_crate = info.location().is_some_and(|l| l.file().contains("/parquet-"));
            if !in_parquet_crate {
                abort(info);
            }
        }));
    });
    verdikt_fuzz::preview_bytes("parquet", FileFormat::Parquet, data);
});
