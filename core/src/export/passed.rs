//! `--only-passed`: the samples the audit let through, as one SQL condition on `samples AS s`
//! added to the export's selection.

use crate::audit::disputed_fields_sql;

/// What the final answers must say for a sample to pass.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PassRule {
    /// Accept Q3 = no (style adherence) too; by default Q3 must be yes or na.
    pub q3_optional: bool,
}

impl PassRule {
    /// Where an adjudicator recorded a final answer, it alone decides. Elsewhere: at least one
    /// current answer, and every current answer passes Q1 and Q2 (and Q3 unless optional) and
    /// does not exclude the sample, so reviewers who differ hold the sample back until an
    /// adjudicator decides. Every disputed text needs a verdict, from a reviewer or the final
    /// answer.
    pub(crate) fn condition(&self) -> String {
        let passes = |a: &str| {
            let q3 = if self.q3_optional {
                String::new()
            } else {
                format!(" AND {a}.q3 IN ('yes', 'na')")
            };
            format!("coalesce({a}.q1 = 'yes' AND {a}.q2 = 'yes' AND {a}.exclude = 0{q3}, 0)")
        };
        let has_verdict = |table: &str| {
            format!(
                "EXISTS (SELECT 1 FROM {table} AS c WHERE c.sample_id = v.sample_id
                         AND json_type(c.verdicts, '$.' || v.field) IS NOT NULL)"
            )
        };
        let unresolved = disputed_fields_sql(
            "s.id",
            &format!(
                "NOT {} AND NOT {}",
                has_verdict("current_annotations"),
                has_verdict("current_final_answers")
            ),
        );
        format!(
            "(CASE WHEN EXISTS (SELECT 1 FROM final_answers AS f WHERE f.sample_id = s.id)
             THEN EXISTS (SELECT 1 FROM current_final_answers AS f WHERE f.sample_id = s.id AND {final_passes})
             ELSE EXISTS (SELECT 1 FROM current_annotations AS c WHERE c.sample_id = s.id)
                  AND NOT EXISTS (SELECT 1 FROM current_annotations AS c WHERE c.sample_id = s.id
                                  AND NOT {each_passes}) END
             AND NOT EXISTS ({unresolved}))",
            final_passes = passes("f"),
            each_passes = passes("c"),
        )
    }
}
