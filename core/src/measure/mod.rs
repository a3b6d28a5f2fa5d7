//! Measurement of an audit: agreement between raters, per-language audit results, attack
//! success rate of model responses, and the report with its charts.
//!
//! `agreement` is pure math; `ratings` gathers rater × item matrices from the store;
//! `results` and `asr` compute the tables; `charts` draws them as SVG (the same SVG the app
//! shows); `report` writes them all to a folder.

pub mod agreement;
