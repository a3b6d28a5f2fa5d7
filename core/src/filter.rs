//! Which samples a command works on (`--dataset`, `--language`, `--split`, `--keep-rule`), as
//! one SQL condition shared by export, split, stats and triage.

use rusqlite::Connection;

use crate::sample::normalise_language;

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct SampleFilter {
    pub dataset: Option<String>,
    /// Comma-separated language codes, matched after normalisation.
    pub language: Option<String>,
    /// Comma-separated split names.
    pub split: Option<String>,
    /// Only samples the paper's keep rule keeps under the project's guards.
    pub keep_rule: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    #[error("no dataset named `{0}` in this project")]
    NoDataset(String),
    #[error("--language: {0}")]
    Language(String),
    #[error("--keep-rule: {0}")]
    Guards(#[from] crate::project_guards::GuardsError),
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
}

fn list(value: &Option<String>) -> Vec<String> {
    value
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

impl SampleFilter {
    /// A condition over `samples AS s` (`s.dataset_id` is compared by id) with its parameters.
    pub fn where_clause(
        &self,
        conn: &Connection,
    ) -> Result<(String, Vec<rusqlite::types::Value>), FilterError> {
        use rusqlite::types::Value;
        let mut clauses = vec!["1 = 1".to_string()];
        let mut params: Vec<Value> = Vec::new();
        if let Some(name) = &self.dataset {
            let id: i64 = conn
                .query_row("SELECT id FROM datasets WHERE name = ?1", [name], |r| {
                    r.get(0)
                })
                .map_err(|e| match e {
                    rusqlite::Error::QueryReturnedNoRows => FilterError::NoDataset(name.clone()),
                    other => FilterError::Sql(other),
                })?;
            params.push(Value::Integer(id));
            clauses.push(format!("s.dataset_id = ?{}", params.len()));
        }
        let languages: Vec<String> = list(&self.language)
            .iter()
            .map(|l| normalise_language(l))
            .collect::<Result<_, _>>()
            .map_err(FilterError::Language)?;
        for (column, values) in [("s.language", languages), ("s.split", list(&self.split))] {
            if values.is_empty() {
                continue;
            }
            let mut marks = Vec::new();
            for v in values {
                params.push(Value::Text(v));
                marks.push(format!("?{}", params.len()));
            }
            clauses.push(format!("{column} IN ({})", marks.join(", ")));
        }
        if self.keep_rule {
            clauses.push(crate::keep::condition(conn)?);
        }
        Ok((clauses.join(" AND "), params))
    }
}
