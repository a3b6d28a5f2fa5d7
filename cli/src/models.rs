//! `verdikt models`: the guard models Verdikt knows (the built-in catalog plus the user's
//! `models.toml`) and their download into the models folder.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use verdikt_core::guard::catalog::{self, Catalog, DownloadProgress, Entry, LocalState, Stage};

#[derive(Args)]
pub struct ModelsArgs {
    #[command(subcommand)]
    pub command: Option<ModelsCommand>,
}

#[derive(Subcommand)]
pub enum ModelsCommand {
    /// List the known guard models and whether each is downloaded (the default).
    List {
        /// One JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Download a model into the models folder; an interrupted download resumes.
    Download {
        /// The model's name, as `verdikt models` lists it.
        name: String,
        /// Fetch from this URL instead (a mirror; the catalog's size and sha256 checks still
        /// apply). With a name that is in no catalog, downloads that URL unchecked.
        #[arg(long)]
        url: Option<String>,
    },
    /// Write the tokenizer.json of a GGUF model (for `guard run --server … --tokenizer`).
    Tokenizer {
        /// The model's GGUF file (byte-level BPE vocabularies: Llama 3, Qwen, SmolLM, …).
        gguf: PathBuf,
        /// Where to write it.
        #[arg(long, short, default_value = "tokenizer.json")]
        output: PathBuf,
        /// Replace an existing file at the output path.
        #[arg(long)]
        force: bool,
    },
}

pub fn run(args: ModelsArgs) -> Result<(), String> {
    let catalog = Catalog::load().map_err(|e| e.to_string())?;
    let dir = verdikt_core::paths::models_dir()
        .ok_or("no data folder on this system; set VERDIKT_HOME to choose one")?;
    match args.command.unwrap_or(ModelsCommand::List { json: false }) {
        ModelsCommand::List { json } => {
            list(&catalog, &dir, json);
            Ok(())
        }
        ModelsCommand::Download { name, url } => download(&catalog, &dir, &name, url.as_deref()),
        ModelsCommand::Tokenizer {
            gguf,
            output,
            force,
        } => {
            let json =
                verdikt_core::guard::gguf::tokenizer_json(&gguf).map_err(|e| e.to_string())?;
            verdikt_core::staged::write_file(&output, force, json.to_string().as_bytes())
                .map_err(|e| e.to_string())?;
            println!("{}", output.display());
            Ok(())
        }
    }
}

fn list(catalog: &Catalog, dir: &Path, json: bool) {
    if json {
        let items: Vec<serde_json::Value> = catalog
            .entries()
            .iter()
            .map(|e| {
                let state = e.local_state(dir);
                serde_json::json!({
                    "name": e.name,
                    "profile": e.profile,
                    "url": e.url,
                    "file": e.file,
                    "size": e.size,
                    "sha256": e.sha256,
                    "downloaded": state == LocalState::Downloaded,
                    "path": (state == LocalState::Downloaded)
                        .then(|| e.local_path(dir).display().to_string()),
                    "partial_bytes": match state {
                        LocalState::Partial(n) => Some(n),
                        _ => None,
                    },
                    "origin": e.origin,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string(&items).expect("the listing serialises")
        );
        return;
    }
    let rows: Vec<[String; 6]> = catalog
        .entries()
        .iter()
        .map(|e| {
            [
                e.name.clone(),
                e.profile.clone(),
                e.size.map_or_else(|| "?".to_string(), human_bytes),
                if e.sha256.is_some() {
                    "known"
                } else {
                    "unknown"
                }
                .to_string(),
                state_word(e, dir),
                e.url.clone(),
            ]
        })
        .collect();
    let header = ["NAME", "PROFILE", "SIZE", "SHA256", "DOWNLOADED", "URL"].map(String::from);
    let mut widths = [0usize; 5];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (w, cell) in widths.iter().zip(row) {
            line.push_str(&format!("{cell:<w$}  "));
        }
        line.push_str(&row[5]);
        println!("{line}");
    }
    println!();
    println!("models folder: {}", dir.display());
    if let Some(user) = Catalog::user_file() {
        let note = if user.is_file() {
            "adds to and overrides the built-in list"
        } else {
            "absent; create it to add models"
        };
        println!("user catalog:  {} ({note})", user.display());
    }
}

fn state_word(entry: &Entry, dir: &Path) -> String {
    match entry.local_state(dir) {
        LocalState::Downloaded => "yes".into(),
        LocalState::Missing => "no".into(),
        LocalState::Partial(n) => match entry.size {
            Some(size) => format!("partial {}%", n * 100 / size.max(1)),
            None => format!("partial {}", human_bytes(n)),
        },
        LocalState::WrongSize(n) => format!("wrong size ({})", human_bytes(n)),
    }
}

pub(crate) fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn download(catalog: &Catalog, dir: &Path, name: &str, url: Option<&str>) -> Result<(), String> {
    let entry = match (catalog.get(name), url) {
        (Some(entry), None) => entry.clone(),
        (Some(entry), Some(url)) => entry.with_url(url).map_err(|e| e.to_string())?,
        (None, Some(url)) => {
            eprintln!(
                "note: `{name}` is in no catalog, so only the server's length is checked; add it to {} with its size and sha256 to check it",
                Catalog::user_file()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| catalog::USER_FILE_NAME.to_string())
            );
            Entry::ad_hoc(name, "", url).map_err(|e| e.to_string())?
        }
        (None, None) => {
            return Err(format!(
                "no model named `{name}`; known: {} (or give --url)",
                catalog.names().join(", ")
            ));
        }
    };
    if entry.sha256.is_none() && catalog.get(name).is_some() {
        eprintln!("note: the catalog gives no sha256 for `{name}`; only its size is checked");
    }

    let was_there = entry.local_state(dir) == LocalState::Downloaded;
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    let mut stage = None;
    let mut started_at = None;
    let cancel = AtomicBool::new(false);
    let result = catalog::download(
        &entry,
        dir,
        &mut |p: DownloadProgress| {
            if stage != Some(p.stage) {
                stage = Some(p.stage);
                restyle(&bar, &entry.name, p);
            }
            if p.stage == Stage::Downloading && started_at.is_none() {
                started_at = Some(p.bytes_done);
            }
            if let Some(total) = p.bytes_total {
                bar.set_length(total);
            }
            bar.set_position(p.bytes_done);
            bar.set_prefix(format!("{}/s", human_bytes(p.bytes_per_sec as u64)));
        },
        &cancel,
    );
    bar.finish_and_clear();
    let path: PathBuf = result.map_err(|e| e.to_string())?;
    match started_at {
        None if was_there => eprintln!("{}: already downloaded and checked", entry.name),
        None => eprintln!("{}: partial download complete and checked", entry.name),
        Some(0) => eprintln!("{}: downloaded and checked", entry.name),
        Some(n) => eprintln!(
            "{}: downloaded and checked (resumed after {})",
            entry.name,
            human_bytes(n)
        ),
    }
    println!("{}", path.display());
    Ok(())
}

fn restyle(bar: &ProgressBar, name: &str, p: DownloadProgress) {
    let template = if p.bytes_total.is_some() {
        "{msg} [{bar:30}] {bytes}/{total_bytes} {prefix} eta {eta}"
    } else {
        "{spinner} {msg} {bytes} {prefix}"
    };
    bar.set_style(
        ProgressStyle::with_template(template)
            .expect("the template is valid")
            .progress_chars("=> "),
    );
    bar.set_message(format!("{} {name}", p.stage));
    bar.reset_eta();
}

#[cfg(test)]
mod tests {
    use super::human_bytes;

    #[test]
    fn sizes_read_like_sizes() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(955_444_032), "911.2 MiB");
        assert_eq!(human_bytes(4_920_735_552), "4.6 GiB");
    }
}
