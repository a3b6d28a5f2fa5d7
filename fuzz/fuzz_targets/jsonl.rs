#![no_main]

use libfuzzer_sys::fuzz_target;
use verdikt_core::import::FileFormat;

fuzz_target!(|data: &[u8]| {
    verdikt_fuzz::preview_bytes("jsonl", FileFormat::Jsonl, data);
});
