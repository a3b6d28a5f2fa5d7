//! `--only-passed`: the samples the audit let through, as one SQL condition on `samples AS s`
//! added to the export's selection.

use crate::audit::disputed_fields_sql;

/// What the current answers (each reviewer's latest version) must say for a sample to pass.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PassRule {
    /// Accept Q3 = no (style adherence) too; by default Q3 must be yes or na.
    pub q3_optional: bool,
}

impl PassRule {
    /// At least one current answer; every current answer passes Q1 and Q2 (and Q3 unless
    /// optional) and does not exclude the sample: one reviewer's doubt is enough to hold a
    /// sample back. Every disputed text needs some reviewer's own verdict.
    pub(crate) fn condition(&self) -> String {
        let q3 = if self.q3_optional {
            ""
        } else {
            " AND c.q3 IN ('yes', 'na')"
        };
        let unresolved = disputed_fields_sql(
            "s.id",
            "NOT EXISTS (SELECT 1 FROM current_annotations AS c WHERE c.sample_id = v.sample_id
                         AND json_type(c.verdicts, '$.' || v.field) IS NOT NULL)",
        );
        format!(
            "EXISTS (SELECT 1 FROM current_annotations AS c WHERE c.sample_id = s.id)
             AND NOT EXISTS (SELECT 1 FROM current_annotations AS c WHERE c.sample_id = s.id
                 AND NOT coalesce(c.q1 = 'yes' AND c.q2 = 'yes' AND c.exclude = 0{q3}, 0))
             AND NOT EXISTS ({unresolved})"
        )
    }
}
