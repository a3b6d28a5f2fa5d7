//! Which files an import reads and in which format; for Hugging Face dataset folders, the
//! language and split each file's path implies (`lang_pl/train-00000-of-00001.parquet`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::compression::{self, Compression};
use crate::sample::{normalise_language, normalise_split};

/// The format the user asked for (`--format`).
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputFormat {
    #[default]
    Auto,
    Jsonl,
    Json,
    Csv,
    Parquet,
    Hf,
}

/// The format of one file, as read.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    Jsonl,
    Json,
    Csv,
    Tsv,
    Parquet,
}

impl FileFormat {
    pub fn name(self) -> &'static str {
        match self {
            FileFormat::Jsonl => "jsonl",
            FileFormat::Json => "json",
            FileFormat::Csv => "csv",
            FileFormat::Tsv => "tsv",
            FileFormat::Parquet => "parquet",
        }
    }
}

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SourceFile {
    pub path: PathBuf,
    pub format: FileFormat,
    /// Language and split implied by a dataset folder's layout, used when rows lack them.
    pub language: Option<String>,
    pub split: Option<String>,
}

#[derive(Debug, Default)]
pub struct Resolved {
    pub files: Vec<SourceFile>,
    /// Things the user should know (configs skipped, …).
    pub notes: Vec<String>,
}

/// The file's name without a compression ending: `train.jsonl.gz` → `train.jsonl`.
fn content_name(path: &Path) -> Option<&str> {
    Some(compression::strip_extension(path.file_name()?.to_str()?))
}

fn by_extension(path: &Path) -> Option<FileFormat> {
    let ext = Path::new(content_name(path)?)
        .extension()?
        .to_str()?
        .to_ascii_lowercase();
    Some(match ext.as_str() {
        "jsonl" | "ndjson" => FileFormat::Jsonl,
        "json" => FileFormat::Json,
        "csv" => FileFormat::Csv,
        "tsv" | "tab" => FileFormat::Tsv,
        "parquet" | "pq" => FileFormat::Parquet,
        _ => return None,
    })
}

/// The first bytes of a file's content, decompressed where it is compressed.
fn content_head(path: &Path) -> Result<(Vec<u8>, Option<Compression>), String> {
    use std::io::Read;
    let input = compression::open(path).map_err(|e| e.to_string())?;
    let mut head = Vec::with_capacity(512);
    input
        .reader
        .take(512)
        .read_to_end(&mut head)
        .map_err(|e| e.to_string())?;
    Ok((head, input.compression))
}

/// `.json` files holding one object per line are JSON Lines; unknown extensions are sniffed,
/// through any compression.
fn sniff(path: &Path, guess: Option<FileFormat>) -> Result<FileFormat, String> {
    let (head, compression) = content_head(path)?;
    let head = head.as_slice();
    if let Some(c) = compression
        && (head.starts_with(b"PAR1") || guess == Some(FileFormat::Parquet))
    {
        return Err(format!(
            "a {}-compressed Parquet file cannot be read as a stream; decompress it first",
            c.name()
        ));
    }
    if head.starts_with(b"PAR1") {
        return Ok(FileFormat::Parquet);
    }
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let first = text.iter().find(|b| !b.is_ascii_whitespace());
    match (guess, first) {
        (Some(FileFormat::Json), Some(b'{')) => Ok(FileFormat::Jsonl),
        (Some(f), _) => Ok(f),
        (None, Some(b'[')) => Ok(FileFormat::Json),
        (None, Some(b'{')) => Ok(FileFormat::Jsonl),
        (None, _) => Err("cannot tell its format from the name or content; pass --format".into()),
    }
}

/// `lang_pl`, `lang-pl`, `language_pl` or a bare code name a language; other names do not.
fn config_language(config: &str) -> Option<String> {
    let code = ["lang_", "lang-", "language_"]
        .iter()
        .find_map(|p| config.strip_prefix(p))
        .unwrap_or(config);
    normalise_language(code).ok()
}

/// `train-00000-of-00003` → `train`; `default/train/0000.parquet` → `train`; `eval` → `eval`.
fn path_split(file: &Path) -> Option<String> {
    let stem = Path::new(content_name(file)?).file_stem()?.to_str()?;
    let stem = stem.strip_suffix(".jsonl").unwrap_or(stem);
    let mut parts = stem.splitn(2, '-');
    let head = parts.next()?;
    let candidate = if head.bytes().all(|b| b.is_ascii_digit()) {
        file.parent()?.file_name()?.to_str()?
    } else if parts
        .next()
        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
    {
        head
    } else {
        stem
    };
    normalise_split(candidate).ok()
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            walk(&path, out)?;
        } else if by_extension(&path).is_some() {
            out.push(path);
        }
    }
    Ok(())
}

/// A Hugging Face dataset folder: every data file below it, with config and split from the
/// path. A `multilingual` config next to per-language ones repeats them and is skipped.
fn dataset_folder(root: &Path, resolved: &mut Resolved) -> Result<(), String> {
    let mut paths = Vec::new();
    walk(root, &mut paths).map_err(|e| e.to_string())?;
    let root_name = root
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    let mut files = Vec::new();
    for path in paths {
        let rel = path.strip_prefix(root).expect("walked below root");
        let config = if rel.components().count() >= 2 {
            rel.components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy()
                .into_owned()
        } else {
            root_name.clone()
        };
        let format =
            sniff(&path, by_extension(&path)).map_err(|e| format!("{}: {e}", path.display()))?;
        files.push((
            config.clone(),
            SourceFile {
                language: config_language(&config),
                split: path_split(&path),
                path,
                format,
            },
        ));
    }
    let per_language = files.iter().any(|(_, f)| f.language.is_some());
    let mut skipped = Vec::new();
    for (config, file) in files {
        if per_language && config == "multilingual" {
            if !skipped.contains(&config) {
                skipped.push(config);
            }
            continue;
        }
        resolved.files.push(file);
    }
    for config in skipped {
        resolved.notes.push(format!(
            "skipped config `{config}` of {}: it repeats the per-language configs (import its folder alone to use it)",
            root.display()
        ));
    }
    Ok(())
}

/// Expands the user's paths into files with formats. Errors name the path.
pub fn resolve(paths: &[PathBuf], format: InputFormat) -> Result<Resolved, (PathBuf, String)> {
    let mut resolved = Resolved::default();
    for path in paths {
        let fail = |message: String| (path.clone(), message);
        let meta = std::fs::metadata(path).map_err(|e| fail(e.to_string()))?;
        if meta.is_dir() {
            if !matches!(format, InputFormat::Auto | InputFormat::Hf) {
                return Err(fail(
                    "is a folder; folders are read as Hugging Face datasets (--format hf)".into(),
                ));
            }
            let before = resolved.files.len();
            dataset_folder(path, &mut resolved).map_err(fail)?;
            if resolved.files.len() == before {
                return Err(fail(
                    "holds no data files (.parquet, .jsonl, .json, .csv, .tsv, each maybe .gz, .zst, .bz2 or .xz)".into(),
                ));
            }
            continue;
        }
        let guess = match format {
            InputFormat::Auto => by_extension(path),
            InputFormat::Jsonl => Some(FileFormat::Jsonl),
            InputFormat::Json => Some(FileFormat::Json),
            InputFormat::Csv => Some(if by_extension(path) == Some(FileFormat::Tsv) {
                FileFormat::Tsv
            } else {
                FileFormat::Csv
            }),
            InputFormat::Parquet => Some(FileFormat::Parquet),
            InputFormat::Hf => return Err(fail("--format hf expects a dataset folder".into())),
        };
        let format = if format == InputFormat::Auto {
            sniff(path, guess)
        } else {
            refuse_compressed_parquet(path, guess.expect("set above"))
        };
        resolved.files.push(SourceFile {
            path: path.clone(),
            format: format.map_err(fail)?,
            language: None,
            split: None,
        });
    }
    Ok(resolved)
}

/// `--format` names the format, but a compressed Parquet file still cannot be read.
fn refuse_compressed_parquet(path: &Path, format: FileFormat) -> Result<FileFormat, String> {
    match format {
        FileFormat::Parquet => sniff(path, Some(format)),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_from_paths() {
        let s = |p: &str| path_split(Path::new(p));
        assert_eq!(
            s("lang_pl/train-00000-of-00003.parquet").as_deref(),
            Some("train")
        );
        assert_eq!(
            s("evaluation/eval-00000-of-00001.parquet").as_deref(),
            Some("eval")
        );
        assert_eq!(s("default/test/0000.parquet").as_deref(), Some("test"));
        assert_eq!(s("lang_pl/validation.jsonl").as_deref(), Some("validation"));
        assert_eq!(s("lang_pl/test.jsonl.gz").as_deref(), Some("test"));
        assert_eq!(
            s("lang_pl/train-00000-of-00001.csv.zst").as_deref(),
            Some("train")
        );
    }

    #[test]
    fn languages_from_configs() {
        assert_eq!(config_language("lang_pl").as_deref(), Some("pl"));
        assert_eq!(config_language("pt-BR").as_deref(), Some("pt-BR"));
        assert_eq!(config_language("evaluation"), None);
        assert_eq!(config_language("multilingual"), None);
    }
}
