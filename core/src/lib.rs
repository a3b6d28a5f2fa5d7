//! Verdikt's engine, one module per stage of the audit workflow. It has no UI dependency: the
//! `verdikt` command line and the desktop app are two thin faces on it.
//!
//! import → store → guard → triage → queue → audit → measure → split → export

pub mod access;
pub mod activity;
pub mod audit;
pub mod export;
pub mod filter;
pub mod formula;
pub mod guard;
pub mod import;
pub mod keep;
pub mod lease;
pub mod measure;
pub mod open_project;
pub mod paths;
pub mod project_guards;
pub mod queue;
pub mod review;
pub mod review_api;
pub mod sample;
pub mod split;
pub mod staged;
pub mod stats;
pub mod store;
pub mod triage;

#[cfg(test)]
mod team_tests;
