//! A progress bar on stderr, drawn only when stderr is a terminal (so logs and CI stay clean).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Bar(ProgressBar);

impl Bar {
    pub fn new(what: &str) -> Bar {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .expect("the template is valid")
            .progress_chars("=> "),
        );
        bar.set_message(what.to_string());
        Bar(bar)
    }

    /// A bar counting texts rather than bytes.
    pub fn texts(what: &str) -> Bar {
        let bar = Bar::new(what);
        bar.0.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} texts {per_sec} eta {eta}")
                .expect("the template is valid")
                .progress_chars("=> "),
        );
        bar
    }

    pub fn set(&self, done: u64, total: u64) {
        self.0.set_length(total);
        self.0.set_position(done);
    }

    /// A line on stderr above the bar (also when no bar is drawn).
    pub fn note(&self, line: &str) {
        self.0.suspend(|| eprintln!("{line}"));
    }

    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}
