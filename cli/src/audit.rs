//! Audit commands: reviewers, answers and their history, adjudication, the team's audit
//! settings, question wording, review packs.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Subcommand;
use verdikt_core::access;
use verdikt_core::audit::pack::{self, PackOptions};
use verdikt_core::audit::{
    self, Answer, AnswerRecord, FieldVerdict, Provenance, Q3, TextVerdict, YesNo,
};
use verdikt_core::store::Store;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Reviewers and the languages they read.
    Reviewer {
        #[command(subcommand)]
        command: ReviewerCommand,
    },
    /// Answer the audit questions for a sample (appends a new version; nothing is overwritten).
    Annotate(AnswerTo),
    /// Record the final answer to a sample whose reviewers disagree (the reviewer must be an
    /// adjudicator of its language; appends a new version; nothing is overwritten).
    Adjudicate(AnswerTo),
    /// Show the team's audit settings, or set one: answers-per-sample N (1–10), overlap-share S
    /// (0–1: the share of samples that need N answers; the rest need one), blind on|off,
    /// hide-guard-verdicts on|off; reviewer care: blur-categories (codes, e.g. S3,S4,S11,S12, or
    /// none), blur-texts (of prompt, chosen, rejected, response, or none), break-minutes M (a
    /// pause suggested after M minutes of continuous review; off or 0: never).
    Config {
        key: Option<String>,
        #[arg(requires = "key")]
        value: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Undo a reviewer's last answer to a sample: appends a copy of their previous version.
    Undo {
        sample: String,
        #[arg(long)]
        dataset: Option<String>,
        #[arg(long)]
        reviewer: String,
    },
    /// Every version of every answer to a sample, oldest first.
    History {
        sample: String,
        #[arg(long)]
        dataset: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show the audit questions and guidelines, or reword them.
    Questions {
        #[command(subcommand)]
        command: Option<QuestionsCommand>,
        #[arg(long)]
        json: bool,
    },
    /// Review packs: a reviewer's work as a project file they answer in, merged back later.
    Pack {
        #[command(subcommand)]
        command: PackCommand,
    },
}

/// Who answers which sample, and the answer: what `annotate` and `adjudicate` take.
#[derive(clap::Args)]
pub struct AnswerTo {
    /// The sample's id as imported.
    sample: String,
    /// The sample's dataset, where two datasets share the id.
    #[arg(long)]
    dataset: Option<String>,
    #[arg(long)]
    reviewer: String,
    #[command(flatten)]
    answer: AnswerArgs,
    #[arg(long)]
    json: bool,
}

/// Stores an answer through `write` (`audit::annotate` or `audit::adjudicate`).
fn store_answer(
    store: &mut Store,
    to: AnswerTo,
    write: fn(
        &mut Store,
        i64,
        &str,
        &Answer,
        &Provenance,
    ) -> Result<AnswerRecord, audit::AuditError>,
) -> Result<(), String> {
    let id = store
        .resolve_sample(&to.sample, to.dataset.as_deref())
        .map_err(err)?;
    let stored = write(
        store,
        id,
        &to.reviewer,
        &to.answer.into_answer()?,
        &Provenance::CLI,
    )
    .map_err(err)?;
    if to.json {
        json(serde_json::to_string(&stored));
    } else if stored.is_final {
        println!(
            "stored final answer version {} to `{}` by {}",
            stored.version, stored.sample, stored.reviewer
        );
    } else {
        println!(
            "stored version {} of {}'s answer to `{}`",
            stored.version, stored.reviewer, stored.sample
        );
    }
    Ok(())
}

/// An answer to Q1–Q3, as `annotate` and `adjudicate` take it.
#[derive(clap::Args)]
pub struct AnswerArgs {
    /// Q1 refusal validity: yes or no.
    #[arg(long)]
    q1: YesNo,
    /// Q2 topic relevance: yes or no.
    #[arg(long)]
    q2: YesNo,
    /// Q3 style adherence: yes, no or na (not applicable).
    #[arg(long)]
    q3: Q3,
    /// Your own verdict on a text: TEXT=safe or TEXT=unsafe[:S1,S2] (TEXT: prompt, chosen,
    /// rejected, response). Repeat for several texts.
    #[arg(long = "verdict", value_name = "TEXT=VERDICT", value_parser = parse_verdict)]
    verdicts: Vec<(String, FieldVerdict)>,
    #[arg(long, default_value = "")]
    note: String,
    /// Keep this sample out of `export --only-passed`.
    #[arg(long)]
    exclude: bool,
    /// Seconds spent on the sample, shown → answered (the app records this itself).
    #[arg(long)]
    seconds: Option<f64>,
}

impl AnswerArgs {
    fn into_answer(self) -> Result<Answer, String> {
        let mut by_text = BTreeMap::new();
        for (text, v) in self.verdicts {
            if by_text.insert(text.clone(), v).is_some() {
                return Err(format!("--verdict for `{text}` is given twice"));
            }
        }
        Ok(Answer {
            q1: self.q1,
            q2: self.q2,
            q3: self.q3,
            verdicts: by_text,
            note: self.note,
            exclude: self.exclude,
            seconds: self.seconds,
        })
    }
}

#[derive(Subcommand)]
pub enum PackCommand {
    /// Write the samples in LANGUAGE that still need REVIEWER's answer, as a project file: the
    /// reviewer's queue, shared out among the reviewers of that language so each sample goes
    /// to as many as it still needs answers (`verdikt config answers-per-sample`,
    /// `overlap-share`).
    Export {
        #[arg(long)]
        reviewer: String,
        #[arg(long)]
        language: String,
        /// Which samples go to whom is decided by a hash of the sample, the reviewer names and
        /// the seed, so the same call gives the same pack.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Replace an existing file at --out.
        #[arg(long)]
        force: bool,
    },
    /// Merge the answers made in a pack into this project (origin = the pack id). Importing the
    /// same pack again adds only answers made since; packs from another project or altered
    /// packs are refused.
    Import { file: PathBuf },
}

#[derive(Subcommand)]
pub enum ReviewerCommand {
    /// Add a reviewer.
    Add {
        name: String,
        /// The languages they read, comma-separated codes (e.g. `pl,cs`).
        #[arg(long)]
        languages: String,
        /// They record final answers where reviewers of these languages disagree.
        #[arg(long)]
        adjudicator: bool,
    },
    /// Replace a reviewer's languages, or make them an adjudicator or no longer one.
    Set {
        name: String,
        #[arg(long, required_unless_present = "adjudicator")]
        languages: Option<String>,
        #[arg(long, value_name = "on|off", value_parser = parse_switch)]
        adjudicator: Option<bool>,
    },
    /// List the reviewers.
    List {
        #[arg(long)]
        json: bool,
    },
    /// A reviewer's own choice to see a category's texts unblurred on every sample (on), or
    /// blurred again as the project's `blur-categories` say (off); without a category, lists
    /// their choices.
    Reveal {
        name: String,
        /// A category code, e.g. S11.
        #[arg(requires = "always")]
        category: Option<String>,
        #[arg(value_name = "on|off", value_parser = parse_switch)]
        always: Option<bool>,
    },
    /// A single-use link that opens a browser session as this reviewer (`verdikt serve`).
    Invite {
        name: String,
        /// How long the link stays valid: e.g. 30m, 24h, 7d.
        #[arg(long, default_value = "24h", value_parser = parse_duration)]
        expires: Duration,
        /// The address reviewers reach the server at (as `verdikt serve` prints it).
        #[arg(long, default_value = "https://127.0.0.1:8443")]
        url: String,
        #[arg(long)]
        json: bool,
    },
    /// End every session and unused invite of this reviewer at once.
    Revoke { name: String },
    /// The open browser sessions: whose, until when, answers stored, the last one's time, and
    /// when the session was last used (to within a minute).
    Sessions {
        #[arg(long)]
        json: bool,
    },
}

/// `90s`, `30m`, `24h`, `7d`.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{s}`: expected a number and a unit, e.g. 24h"))?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return Err(format!("`{s}`: the unit is s, m, h or d")),
    };
    n.checked_mul(seconds)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("`{s}` is too long"))
}

#[derive(Subcommand)]
pub enum QuestionsCommand {
    /// Reword q1, q2 or q3, or set the guidelines (`guidelines`); empty text restores the default.
    Set { key: String, text: String },
}

fn parse_verdict(spec: &str) -> Result<(String, FieldVerdict), String> {
    let (text, verdict) = spec
        .split_once('=')
        .ok_or("expected TEXT=safe or TEXT=unsafe:S1,S2")?;
    let (verdict, categories) = verdict.split_once(':').unwrap_or((verdict, ""));
    let categories = categories
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(String::from)
        .collect();
    Ok((
        text.trim().to_string(),
        FieldVerdict {
            verdict: verdict.parse::<TextVerdict>()?,
            categories,
        },
    ))
}

fn parse_switch(s: &str) -> Result<bool, String> {
    audit::parse_switch(s).ok_or_else(|| format!("`{s}` is not on or off"))
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn json(text: serde_json::Result<String>) {
    println!("{}", text.expect("serialises"));
}

fn verdicts_text(a: &Answer) -> String {
    a.verdicts
        .iter()
        .map(|(text, v)| {
            let cats = if v.categories.is_empty() {
                String::new()
            } else {
                format!(":{}", v.categories.join(","))
            };
            format!("{text}={}{cats}", v.verdict.as_str())
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn print_record(r: &AnswerRecord) {
    let a = &r.answer;
    println!(
        "{}v{}\t{}\t{}\t{}\tq1={} q2={} q3={}{}{}{}",
        if r.is_final { "final " } else { "" },
        r.version,
        r.reviewer,
        r.created_at,
        r.origin,
        a.q1.as_str(),
        a.q2.as_str(),
        a.q3.as_str(),
        if a.verdicts.is_empty() { "" } else { " " },
        verdicts_text(a),
        if a.exclude { " exclude" } else { "" },
    );
    if !a.note.is_empty() {
        // Notes are reviewers' free text: shown escaped, one line, never interpreted.
        println!("\tnote: {}", a.note.escape_debug());
    }
}

pub fn run(store: &mut Store, command: AuditCommand) -> Result<(), String> {
    match command {
        AuditCommand::Pack { command } => pack_command(store, command),
        AuditCommand::Reviewer { command } => reviewer(store, command),
        AuditCommand::Annotate(to) => store_answer(store, to, audit::annotate),
        AuditCommand::Adjudicate(to) => store_answer(store, to, audit::adjudicate),
        AuditCommand::Config {
            key,
            value,
            json: as_json,
        } => {
            match (key, value) {
                (Some(key), Some(value)) if audit::is_care_key(&key) => {
                    audit::set_care(store, &key, &value).map(drop)
                }
                (Some(key), Some(value)) => audit::set_config(store, &key, &value).map(drop),
                (Some(key), None) => {
                    return Err(format!(
                        "give a value for `{key}`, e.g. `verdikt config {key} …`"
                    ));
                }
                _ => Ok(()),
            }
            .map_err(err)?;
            let config = audit::audit_config(store.conn()).map_err(err)?;
            let care = audit::care_settings(store.conn()).map_err(err)?;
            if as_json {
                #[derive(serde::Serialize)]
                struct Settings {
                    #[serde(flatten)]
                    audit: audit::AuditConfig,
                    #[serde(flatten)]
                    care: audit::CareSettings,
                }
                json(serde_json::to_string(&Settings {
                    audit: config,
                    care,
                }));
            } else {
                let on = |b: bool| if b { "on" } else { "off" };
                println!("answers-per-sample   {}", config.answers_per_sample);
                println!("overlap-share        {}", config.overlap_share);
                println!("blind                {}", on(config.blind));
                println!("hide-guard-verdicts  {}", on(config.hide_guard_verdicts));
                for key in audit::CARE_KEYS {
                    println!("{key:<21}{}", care.value(key));
                }
            }
            Ok(())
        }
        AuditCommand::Undo {
            sample,
            dataset,
            reviewer,
        } => {
            let id = store
                .resolve_sample(&sample, dataset.as_deref())
                .map_err(err)?;
            let stored = audit::revert_last(store, id, &reviewer, &Provenance::CLI).map_err(err)?;
            println!(
                "version {} of {}'s answer to `{}` restores version {}",
                stored.version,
                stored.reviewer,
                stored.sample,
                stored.version - 2
            );
            Ok(())
        }
        AuditCommand::History {
            sample,
            dataset,
            json: as_json,
        } => {
            let id = store
                .resolve_sample(&sample, dataset.as_deref())
                .map_err(err)?;
            let records = audit::history(store, id).map_err(err)?;
            if as_json {
                json(serde_json::to_string(&records));
            } else if records.is_empty() {
                println!("no answers to `{sample}` yet");
            } else {
                records.iter().for_each(print_record);
            }
            Ok(())
        }
        AuditCommand::Questions {
            command: Some(QuestionsCommand::Set { key, text }),
            ..
        } => audit::set_question(store, &key, &text).map_err(err),
        AuditCommand::Questions {
            command: None,
            json: as_json,
        } => {
            let q = audit::questions(store).map_err(err)?;
            if as_json {
                json(serde_json::to_string(&q));
            } else {
                for question in &q.questions {
                    println!(
                        "{} {} ({}): {}",
                        question.key,
                        question.title,
                        question.options.join("/"),
                        question.text
                    );
                }
                if !q.guidelines.is_empty() {
                    println!("guidelines: {}", q.guidelines);
                }
            }
            Ok(())
        }
    }
}

fn reviewer(store: &mut Store, command: ReviewerCommand) -> Result<(), String> {
    match command {
        ReviewerCommand::Add {
            name,
            languages,
            adjudicator,
        } => {
            let mut r = audit::add_reviewer(store, &name, &languages).map_err(err)?;
            if adjudicator {
                r = audit::set_adjudicator(store, &r.name, true).map_err(err)?;
            }
            println!(
                "added reviewer {} ({}){}",
                r.name,
                r.languages.join(", "),
                if r.adjudicator { ", adjudicator" } else { "" }
            );
        }
        ReviewerCommand::Set {
            name,
            languages,
            adjudicator,
        } => {
            let mut r = audit::reviewer(store, &name).map_err(err)?;
            if let Some(languages) = languages {
                r = audit::set_languages(store, &name, &languages).map_err(err)?;
            }
            if let Some(on) = adjudicator {
                r = audit::set_adjudicator(store, &name, on).map_err(err)?;
            }
            println!(
                "{} reads {}{}",
                r.name,
                r.languages.join(", "),
                if r.adjudicator {
                    " and adjudicates"
                } else {
                    ""
                }
            );
        }
        ReviewerCommand::Reveal {
            name,
            category,
            always,
        } => {
            let shown = match (category, always) {
                (Some(category), Some(always)) => {
                    audit::set_revealed_always(store, &name, &category, always)
                }
                _ => audit::revealed_always(store, &name),
            }
            .map_err(err)?;
            let list = if shown.is_empty() {
                "none".to_string()
            } else {
                shown.join(", ")
            };
            println!("{name} always sees unblurred: {list}");
        }
        ReviewerCommand::Invite {
            name,
            expires,
            url,
            json: as_json,
        } => {
            let invite = access::invite(store, &name, expires).map_err(err)?;
            let link = access::invite_link(&url, &invite.code);
            if as_json {
                json(serde_json::to_string(&serde_json::json!({
                    "reviewer": invite.reviewer,
                    "link": link,
                    "code": invite.code,
                    "expires_at": invite.expires_at,
                })));
            } else {
                println!("{link}");
                eprintln!(
                    "a single-use link for {}, valid until {} (UTC); `verdikt serve` must be running",
                    invite.reviewer, invite.expires_at
                );
            }
        }
        ReviewerCommand::Revoke { name } => {
            let ended = access::revoke(store, &name).map_err(err)?;
            println!(
                "ended {} session(s) and {} unused invite(s) of {name}",
                ended.sessions, ended.invites
            );
        }
        ReviewerCommand::Sessions { json: as_json } => {
            let open = access::open_sessions(store).map_err(err)?;
            if as_json {
                json(serde_json::to_string(&open));
            } else {
                for s in open {
                    println!(
                        "{}\tsession {}\tuntil {}\t{} answer(s)\tlast {}\tseen {}",
                        s.reviewer,
                        s.id,
                        s.expires_at,
                        s.answers,
                        s.last_answer_at.as_deref().unwrap_or("-"),
                        s.last_seen_at.as_deref().unwrap_or("-")
                    );
                }
            }
        }
        ReviewerCommand::List { json: as_json } => {
            let all = audit::list_reviewers(store).map_err(err)?;
            if as_json {
                json(serde_json::to_string(&all));
            } else {
                for r in all {
                    let role = if r.adjudicator { "\tadjudicator" } else { "" };
                    println!("{}\t{}{role}", r.name, r.languages.join(","));
                }
            }
        }
    }
    Ok(())
}

fn pack_command(store: &mut Store, command: PackCommand) -> Result<(), String> {
    match command {
        PackCommand::Export {
            reviewer,
            language,
            seed,
            out,
            force,
        } => {
            let opts = PackOptions {
                reviewer,
                language,
                seed,
                out,
                force,
            };
            let r = pack::export_pack(store, &opts).map_err(err)?;
            println!(
                "wrote pack {} with {} samples ({} also for another reviewer) to {}",
                r.pack_id,
                r.samples,
                r.shared,
                r.out.display()
            );
        }
        PackCommand::Import { file } => {
            let r = pack::import_pack(store, &file).map_err(err)?;
            println!(
                "merged {} answer versions by {} from pack {} ({} were already merged)",
                r.merged, r.reviewer, r.pack_id, r.already_merged
            );
        }
    }
    Ok(())
}
