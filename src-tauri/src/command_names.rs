/// Every command the window may call. Shared by `build.rs` (which generates one `allow-<name>`
/// permission per name) and the test that checks it against the registered commands and the
/// capability file, so a command is either registered and permitted, or neither.
pub const COMMANDS: &[&str] = &[
    "app_info",
    "project_open",
    "project_info_get",
    "import_preview",
    "import_run",
    "guard_profiles",
    "guard_catalog",
    "guard_download",
    "guard_runs",
    "guard_run",
    "split_run",
    "export_run",
    "review_setup",
    "reviewer_add",
    "review_counts",
    "review_next",
    "review_sample_get",
    "review_resolve",
    "review_submit",
    "review_undo",
    "triage_run",
    "results_get",
    "results_save",
    "job_cancel",
];
