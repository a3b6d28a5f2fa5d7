//! Errors as the window shows them: the core's typed errors turned into words at the edge,
//! with per-row details (file, line, field) kept as a list the UI can show one per line.

use serde::Serialize;

#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct AppError {
    pub message: String,
    /// One entry per located problem (e.g. `file:line: field: message`), when there are any.
    pub details: Vec<String>,
    /// Another program (a CLI import, a guard run) holds the project's write lock: nothing was
    /// stored, and the same request can be sent again once it lets go.
    pub busy: bool,
}

impl AppError {
    pub fn new(message: impl Into<String>) -> AppError {
        AppError {
            message: message.into(),
            details: Vec::new(),
            busy: false,
        }
    }
}

/// What the window says instead of SQLite's "database is locked".
pub const BUSY_MESSAGE: &str =
    "The project is busy: another program is writing to it. Retrying; nothing is lost.";

impl<E: std::error::Error + 'static> From<E> for AppError {
    fn from(e: E) -> AppError {
        if verdikt_core::store::is_busy(&e) {
            return AppError {
                busy: true,
                ..AppError::new(BUSY_MESSAGE)
            };
        }
        AppError::new(window_words(&e).unwrap_or_else(|| e.to_string()))
    }
}

/// The window's words for core errors whose message speaks to a terminal user (a flag, a
/// `verdikt …` command): a reviewer in the window is told what to do in the window.
fn window_words(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    use verdikt_core::audit::AuditError;
    use verdikt_core::audit::pack::PackError;
    use verdikt_core::filter::FilterError;
    use verdikt_core::guard::run::RunError;
    use verdikt_core::import::ImportError;
    use verdikt_core::project_guards::GuardsError;
    use verdikt_core::queue::QueueError;
    use verdikt_core::store::StoreError;
    let no_reviewer = |name: &str| {
        if name.trim().is_empty() {
            "Pick who you are under “Reviewer”, or add yourself there: every answer is kept with who gave it.".to_string()
        } else {
            format!(
                "There is no reviewer called “{name}” in this project: pick another under “Reviewer”, or add them."
            )
        }
    };
    let no_run = |run: i64| {
        format!(
            "Guard run {run} is not in this project; the Curator screen lists the runs there are."
        )
    };
    if let Some(e) = e.downcast_ref::<verdikt_core::review_api::ReviewApiError>() {
        use verdikt_core::review_api::ReviewApiError;
        return match e {
            ReviewApiError::Review(inner) => window_words(inner),
            ReviewApiError::Queue(inner) => window_words(inner),
            ReviewApiError::Audit(inner) => window_words(inner),
            ReviewApiError::Store(inner) => window_words(inner),
            ReviewApiError::Filter(inner) => window_words(inner),
            ReviewApiError::Guards(inner) => window_words(inner),
            _ => None,
        };
    }
    if let Some(verdikt_core::access::AccessError::Audit(inner)) = e.downcast_ref() {
        return window_words(inner);
    }
    if let Some(e) = e.downcast_ref::<verdikt_core::activity::ActivityError>() {
        use verdikt_core::activity::ActivityError;
        return match e {
            ActivityError::Audit(inner) => window_words(inner),
            ActivityError::Queue(inner) => window_words(inner),
            ActivityError::Sql(_) => None,
        };
    }
    if let Some(e) = e.downcast_ref::<verdikt_core::review::ReviewError>() {
        use verdikt_core::review::ReviewError;
        return match e {
            ReviewError::Queue(inner) => window_words(inner),
            ReviewError::Audit(inner) => window_words(inner),
        };
    }
    if let Some(e) = e.downcast_ref::<AuditError>() {
        return match e {
            AuditError::UnknownReviewer(name) => Some(no_reviewer(name)),
            AuditError::Config { key, message } => Some(format!("Setting “{key}”: {message}")),
            AuditError::Languages(why) => Some(format!("Languages: {why}")),
            _ => None,
        };
    }
    if let Some(e) = e.downcast_ref::<QueueError>() {
        return match e {
            QueueError::NoReviewer(name) => Some(no_reviewer(name)),
            QueueError::NotAdjudicator(name) => Some(format!(
                "{name} is not an adjudicator: a curator can make them one on the Curator screen."
            )),
            QueueError::AdjudicatorMissing => {
                Some("Pick who you are under “Reviewer” to adjudicate.".to_string())
            }
            QueueError::Language(why) => Some(format!("Language: {why}")),
            QueueError::Category(why) => Some(format!("Category: {why}")),
            QueueError::Guards(GuardsError::NoRun(run)) => Some(no_run(*run)),
            _ => None,
        };
    }
    if let Some(e) = e.downcast_ref::<PackError>() {
        return match e {
            PackError::Audit(inner) => window_words(inner),
            PackError::Language(why) => Some(format!("Language: {why}")),
            PackError::NotTheirLanguage {
                reviewer,
                language,
                reads,
            } => Some(format!(
                "{reviewer} does not read {language} (they read {reads}); add {language} to their languages under Reviewers first."
            )),
            _ => None,
        };
    }
    if let Some(e) = e.downcast_ref::<RunError>() {
        return match e {
            RunError::Unfinished { id, profile, .. } => Some(format!(
                "Guard run {id} ({profile}) stopped before it finished: tick “resume the stopped run” to continue it."
            )),
            RunError::ProfileMismatch {
                profile,
                missing,
                fitting,
            } => Some(format!(
                "Guard profile “{profile}” does not fit this model: its vocabulary has no single token for {missing}. Profiles that fit: {fitting}. (Ticking “run even if the model lacks the profile's special tokens” runs it anyway.)"
            )),
            RunError::NoGuardsToJudge { judge } => Some(format!(
                "“Only disputed texts” needs the project's guards to compare, and there are none besides “{judge}”: run two guards first, or choose them on the Curator screen."
            )),
            RunError::Guards(inner) => window_words(inner),
            RunError::Filter(inner) => window_words(inner),
            _ => None,
        };
    }
    if let Some(e) = e.downcast_ref::<GuardsError>() {
        return match e {
            GuardsError::NoRun(run) => Some(no_run(*run)),
            _ => None,
        };
    }
    if let Some(e) = e.downcast_ref::<FilterError>() {
        return match e {
            FilterError::Language(why) => Some(format!("Languages: {why}")),
            FilterError::Guards(GuardsError::NoRun(run)) => Some(no_run(*run)),
            _ => None,
        };
    }
    if let Some(ImportError::Exists(name)) = e.downcast_ref::<ImportError>() {
        return Some(format!(
            "A dataset named “{name}” exists already: tick “replace” to replace it, or give another name."
        ));
    }
    if let Some(StoreError::AmbiguousSample { ext_id, datasets }) = e.downcast_ref::<StoreError>() {
        return Some(format!(
            "Sample “{ext_id}” is in several datasets ({}); pick the dataset.",
            datasets.join(", ")
        ));
    }
    None
}

/// The import error with every row problem it kept, so the Import screen can list them.
pub fn import_error(e: verdikt_core::import::ImportError) -> AppError {
    use verdikt_core::import::ImportError;
    let details = match &e {
        ImportError::Invalid { problems, .. } => problems.iter().map(|p| p.to_string()).collect(),
        _ => Vec::new(),
    };
    AppError {
        details,
        ..AppError::from(e)
    }
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;
    use verdikt_core::audit::AuditError;
    use verdikt_core::queue::QueueError;

    /// The window never names a command line tool, a flag, or an empty name.
    fn assert_window_words(e: AppError) {
        let m = &e.message;
        assert!(
            !m.contains("verdikt ") && !m.contains("--") && !m.contains("``"),
            "{m}"
        );
    }

    #[test]
    fn reviewer_errors_speak_of_the_window() {
        for e in [
            AppError::from(QueueError::NoReviewer(String::new())),
            AppError::from(QueueError::NoReviewer("ana".into())),
            AppError::from(AuditError::UnknownReviewer(String::new())),
            AppError::from(AuditError::Languages("`xx` is not a language".into())),
            AppError::from(verdikt_core::project_guards::GuardsError::NoRun(4)),
        ] {
            assert_window_words(e);
        }
        let m = AppError::from(QueueError::NoReviewer(String::new())).message;
        assert!(m.contains("Pick who you are"), "{m}");
    }

    #[test]
    fn guard_run_errors_name_the_screens_controls_not_flags() {
        use verdikt_core::guard::run::RunError;
        for e in [
            RunError::Unfinished {
                id: 3,
                profile: "polyguard".into(),
                status: "cancelled".into(),
            },
            RunError::ProfileMismatch {
                profile: "llama-guard-3-1b".into(),
                missing: "<|eot_id|>".into(),
                fitting: "qwen3guard-gen".into(),
            },
            RunError::NoGuardsToJudge {
                judge: "refuseu-judge".into(),
            },
        ] {
            assert!(e.to_string().contains("--"), "the core's words name a flag");
            assert_window_words(AppError::from(e));
        }
    }

    #[test]
    fn a_locked_project_is_busy_not_a_raw_sqlite_message() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.sqlite");
        let a = rusqlite::Connection::open(&path).unwrap();
        a.execute_batch("CREATE TABLE t (x); BEGIN IMMEDIATE; INSERT INTO t VALUES (1);")
            .unwrap();
        let b = rusqlite::Connection::open(&path).unwrap();
        b.busy_timeout(std::time::Duration::ZERO).unwrap();
        let e = AppError::from(b.execute("INSERT INTO t VALUES (2)", []).unwrap_err());
        assert!(e.busy);
        assert_eq!(e.message, BUSY_MESSAGE);
        let wrapped = AppError::from(AuditError::Sql(
            b.execute("INSERT INTO t VALUES (3)", []).unwrap_err(),
        ));
        assert!(wrapped.busy, "{}", wrapped.message);
    }
}
