//! The guard-model catalog: which GGUF files Verdikt knows how to fetch, and the downloader.
//!
//! The catalog is data: `assets/models.toml`, built into the binary, plus an optional user file
//! `models.toml` in [`crate::paths::data_dir`] whose entries add to or replace (by `name`) the
//! built-in ones. The format is described at the top of `assets/models.toml`.
//!
//! [`download`] fetches an entry into a folder: it writes `NAME.gguf.part`, resumes an existing
//! part with an HTTP `Range` request (starting over when the server ignores it), checks the size
//! and the SHA-256 (when the catalog knows them) and only then renames the part to the entry's
//! file name, so a file under its final name is always a complete, checked one.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The built-in catalog, embedded so the tool works without any file next to it.
const BUILTIN: &str = include_str!("../../../assets/models.toml");
/// How the built-in catalog is named in errors.
pub const BUILTIN_ORIGIN: &str = "assets/models.toml (built-in)";
/// The user catalog's file name inside the data folder.
pub const USER_FILE_NAME: &str = "models.toml";

/// One downloadable model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    /// The guard profile that knows this model's prompt format.
    pub profile: String,
    pub url: String,
    /// Size in bytes, when known.
    pub size: Option<u64>,
    /// SHA-256 in lowercase hex, when known.
    pub sha256: Option<String>,
    /// The local file name (by default the last part of the URL).
    pub file: String,
    /// Where the entry comes from (the built-in catalog or a user file), for messages.
    pub origin: String,
}

/// What is on disk for an entry, judged by names and sizes only (no hashing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocalState {
    /// The file is there, with the catalog's size (or the catalog gives none).
    Downloaded,
    /// Only a partial download of this many bytes.
    Partial(u64),
    /// A file of that name with another size than the catalog's.
    WrongSize(u64),
    Missing,
}

impl Entry {
    /// An entry that is in no catalog: a name and a URL, with nothing to check but the server's
    /// own length. `profile` may be empty when unknown.
    pub fn ad_hoc(name: &str, profile: &str, url: &str) -> Result<Entry, CatalogError> {
        let raw = RawEntry {
            name: name.to_string(),
            profile: profile.to_string(),
            url: url.to_string(),
            size: None,
            sha256: None,
            file: None,
        };
        raw.check("command line", profile.is_empty())
    }

    /// This entry fetched from `url` instead (a mirror): same name, file, size and checksum.
    pub fn with_url(&self, url: &str) -> Result<Entry, CatalogError> {
        let origin = "command line";
        check_url(url).map_err(|message| invalid(origin, &self.name, "url", message))?;
        Ok(Entry {
            url: url.to_string(),
            origin: origin.to_string(),
            ..self.clone()
        })
    }

    /// Where the complete file lives in `dir`.
    pub fn local_path(&self, dir: &Path) -> PathBuf {
        dir.join(&self.file)
    }

    /// Where a download in progress is kept in `dir`.
    pub fn part_path(&self, dir: &Path) -> PathBuf {
        dir.join(format!("{}.gguf.part", self.name))
    }

    /// What `dir` holds for this entry, from file sizes alone.
    pub fn local_state(&self, dir: &Path) -> LocalState {
        if let Ok(meta) = fs::metadata(self.local_path(dir))
            && meta.is_file()
        {
            return match self.size {
                Some(size) if size != meta.len() => LocalState::WrongSize(meta.len()),
                _ => LocalState::Downloaded,
            };
        }
        match fs::metadata(self.part_path(dir)) {
            Ok(meta) if meta.is_file() => LocalState::Partial(meta.len()),
            _ => LocalState::Missing,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("cannot read model catalog {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// TOML syntax, a missing field, a wrong type or an unknown field (toml's message names it).
    #[error("model catalog {file}: {message}")]
    Syntax { file: String, message: String },
    #[error("model catalog {file}: model `{model}`: field `{field}`: {message}")]
    Invalid {
        file: String,
        model: String,
        field: String,
        message: String,
    },
    #[error("model catalog {file}: model name `{name}` is used twice")]
    Duplicate { file: String, name: String },
}

fn invalid(file: &str, model: &str, field: &str, message: impl Into<String>) -> CatalogError {
    CatalogError::Invalid {
        file: file.to_string(),
        model: model.to_string(),
        field: field.to_string(),
        message: message.into(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalog {
    #[serde(default)]
    model: Vec<RawEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    name: String,
    profile: String,
    url: String,
    size: Option<u64>,
    sha256: Option<String>,
    file: Option<String>,
}

/// Names that end up in file names: no separators, no leading dot, nothing a shell or a file
/// system could read differently.
fn check_plain_name(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("is empty".into());
    }
    if value.starts_with('.') {
        return Err(format!("`{value}` starts with a dot"));
    }
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "`{value}` contains {c:?}; use letters, digits, `.`, `_` and `-`"
        ));
    }
    Ok(())
}

fn check_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("`{url}` is not an http:// or https:// URL"))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(format!("`{url}` has no host"));
    }
    if url.chars().any(char::is_whitespace) {
        return Err(format!("`{url}` contains white space"));
    }
    Ok(())
}

/// The last path segment of `url`, without query or fragment.
fn file_from_url(url: &str) -> &str {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    let path = &url[..end];
    path.rsplit('/').next().unwrap_or("")
}

impl RawEntry {
    fn check(self, origin: &str, allow_empty_profile: bool) -> Result<Entry, CatalogError> {
        let name = self.name;
        check_plain_name(&name).map_err(|m| invalid(origin, &name, "name", m))?;
        if !(allow_empty_profile && self.profile.is_empty()) {
            check_plain_name(&self.profile).map_err(|m| invalid(origin, &name, "profile", m))?;
        }
        check_url(&self.url).map_err(|m| invalid(origin, &name, "url", m))?;
        if self.size == Some(0) {
            return Err(invalid(origin, &name, "size", "must be more than 0 bytes"));
        }
        let sha256 = match self.sha256 {
            None => None,
            Some(hex) => {
                let hex = hex.trim().to_ascii_lowercase();
                if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(invalid(
                        origin,
                        &name,
                        "sha256",
                        format!(
                            "expected 64 hexadecimal digits, found `{hex}` ({} characters)",
                            hex.chars().count()
                        ),
                    ));
                }
                Some(hex)
            }
        };
        let file = match self.file {
            Some(file) => {
                check_plain_name(&file).map_err(|m| invalid(origin, &name, "file", m))?;
                file
            }
            None => {
                let file = file_from_url(&self.url);
                check_plain_name(file).map_err(|m| {
                    invalid(
                        origin,
                        &name,
                        "url",
                        format!("no usable file name at its end ({m}); give one in `file`"),
                    )
                })?;
                file.to_string()
            }
        };
        Ok(Entry {
            name,
            profile: self.profile,
            url: self.url,
            size: self.size,
            sha256,
            file,
            origin: origin.to_string(),
        })
    }
}

/// The known models: the built-in ones, then those of the user file (replacing built-ins of the
/// same name in place, new ones appended in file order).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Catalog {
    entries: Vec<Entry>,
}

impl Catalog {
    /// Parses a catalog file's text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Vec<Entry>, CatalogError> {
        let raw: RawCatalog = toml::from_str(text).map_err(|e| CatalogError::Syntax {
            file: origin.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        let mut entries: Vec<Entry> = Vec::with_capacity(raw.model.len());
        for raw_entry in raw.model {
            let entry = raw_entry.check(origin, false)?;
            if entries.iter().any(|e| e.name == entry.name) {
                return Err(CatalogError::Duplicate {
                    file: origin.to_string(),
                    name: entry.name,
                });
            }
            entries.push(entry);
        }
        Ok(entries)
    }

    /// The built-in catalog. It is checked by the tests, so a failure here is a bug.
    pub fn builtin() -> Catalog {
        let entries = Catalog::parse(BUILTIN, BUILTIN_ORIGIN).unwrap_or_else(|e| panic!("{e}"));
        Catalog { entries }
    }

    /// The user catalog's path: `models.toml` in the data folder.
    pub fn user_file() -> Option<PathBuf> {
        crate::paths::data_dir().map(|d| d.join(USER_FILE_NAME))
    }

    /// The built-in catalog plus the user file, if there is one.
    pub fn load() -> Result<Catalog, CatalogError> {
        Catalog::load_with(Catalog::user_file().as_deref())
    }

    /// The built-in catalog plus `user_file`; a missing file just means no user entries.
    pub fn load_with(user_file: Option<&Path>) -> Result<Catalog, CatalogError> {
        let mut catalog = Catalog::builtin();
        let Some(path) = user_file else {
            return Ok(catalog);
        };
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(catalog),
            Err(source) => {
                return Err(CatalogError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        for entry in Catalog::parse(&text, &path.display().to_string())? {
            catalog.insert(entry);
        }
        Ok(catalog)
    }

    /// Adds `entry`, replacing one of the same name where it stands.
    pub fn insert(&mut self, entry: Entry) {
        match self.entries.iter_mut().find(|e| e.name == entry.name) {
            Some(slot) => *slot = entry,
            None => self.entries.push(entry),
        }
    }

    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.name == name)
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn names(&self) -> Vec<&str> {
        self.entries.iter().map(|e| e.name.as_str()).collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Download

/// What a download is doing when it reports progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Hashing a file already on disk (a complete file, or the part being resumed).
    Checking,
    /// Receiving bytes; `bytes_done` counts those of an earlier, resumed run too.
    Downloading,
    /// Hashing the complete part before it gets its final name.
    Verifying,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Checking => "checking",
            Stage::Downloading => "downloading",
            Stage::Verifying => "verifying",
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DownloadProgress {
    pub stage: Stage,
    pub bytes_done: u64,
    /// The file's size, when the catalog or the server says it.
    pub bytes_total: Option<u64>,
    /// Throughput of this stage so far (bytes received in this run, or bytes hashed).
    pub bytes_per_sec: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error(transparent)]
    Project(#[from] crate::open_project::IsProject),
    #[error("downloading {url}: {message}")]
    Http { url: String, message: String },
    #[error("downloading {url}: the server answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error(
        "downloading {url}: the connection ended after {received} of {expected} bytes; run the download again to resume"
    )]
    Incomplete {
        url: String,
        received: u64,
        expected: u64,
    },
    #[error(
        "size check failed for {name}: the catalog says {expected} bytes, the server sends {actual} bytes; the partial file was deleted"
    )]
    ServerSize {
        name: String,
        expected: u64,
        actual: u64,
    },
    #[error(
        "size check failed for {name}: expected {expected} bytes, got {actual} bytes; the partial file was deleted"
    )]
    Size {
        name: String,
        expected: u64,
        actual: u64,
    },
    #[error(
        "sha256 check failed for {name}: expected {expected}, got {actual}; the downloaded file was deleted"
    )]
    Sha256 {
        name: String,
        expected: String,
        actual: String,
    },
    #[error("download cancelled; {} is kept to resume", path.display())]
    Cancelled { path: PathBuf },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> DownloadError + '_ {
    move |source| DownloadError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Lowercase hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use fmt::Write as _;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// How often progress is reported at most (the last report of a stage always comes).
const REPORT_EVERY: Duration = Duration::from_millis(100);
const CHUNK: usize = 256 * 1024;

/// Calls the progress callback at most every [`REPORT_EVERY`].
struct Reporter<'a> {
    callback: &'a mut dyn FnMut(DownloadProgress),
    stage: Stage,
    total: Option<u64>,
    /// Bytes that count toward `bytes_done` but not toward the rate (a resumed prefix).
    base: u64,
    started: Instant,
    last: Option<Instant>,
}

impl<'a> Reporter<'a> {
    fn new(callback: &'a mut dyn FnMut(DownloadProgress)) -> Reporter<'a> {
        Reporter {
            callback,
            stage: Stage::Checking,
            total: None,
            base: 0,
            started: Instant::now(),
            last: None,
        }
    }

    fn start(&mut self, stage: Stage, total: Option<u64>, base: u64) {
        self.stage = stage;
        self.total = total;
        self.base = base;
        self.started = Instant::now();
        self.last = None;
        self.emit(base);
    }

    fn tick(&mut self, done: u64) {
        if self.last.is_none_or(|t| t.elapsed() >= REPORT_EVERY) {
            self.emit(done);
        }
    }

    fn emit(&mut self, done: u64) {
        let secs = self.started.elapsed().as_secs_f64();
        let moved = done.saturating_sub(self.base) as f64;
        let rate = if secs > 0.0 { moved / secs } else { 0.0 };
        self.last = Some(Instant::now());
        (self.callback)(DownloadProgress {
            stage: self.stage,
            bytes_done: done,
            bytes_total: self.total,
            bytes_per_sec: rate,
        });
    }
}

/// Feeds `reader` to `hasher` in chunks, telling `tick` the bytes so far; `None` when cancelled.
fn feed(
    reader: &mut dyn Read,
    hasher: &mut Sha256,
    tick: &mut dyn FnMut(u64),
    cancel: &AtomicBool,
) -> io::Result<Option<u64>> {
    let mut buf = vec![0u8; CHUNK];
    let mut done = 0u64;
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(Some(done)),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        done += n as u64;
        tick(done);
    }
}

/// SHA-256 of a whole file as lowercase hex, streamed (guard models are gigabytes).
pub fn sha256_file(path: &Path) -> io::Result<String> {
    let mut hasher = Sha256::new();
    feed(
        &mut File::open(path)?,
        &mut hasher,
        &mut |_| {},
        &AtomicBool::new(false),
    )?;
    Ok(hex(&hasher.finalize()))
}

/// Feeds the first `limit` bytes of `path` (all of it when `None`) to `hasher`.
fn hash_file(
    path: &Path,
    limit: Option<u64>,
    hasher: &mut Sha256,
    reporter: &mut Reporter,
    cancel: &AtomicBool,
) -> Result<u64, DownloadError> {
    let file = File::open(path).map_err(io_err(path))?;
    let mut reader: Box<dyn Read> = match limit {
        Some(n) => Box::new(file.take(n)),
        None => Box::new(file),
    };
    let done = feed(&mut reader, hasher, &mut |n| reporter.tick(n), cancel)
        .map_err(io_err(path))?
        .ok_or_else(|| DownloadError::Cancelled {
            path: path.to_path_buf(),
        })?;
    reporter.emit(done);
    Ok(done)
}

/// `start` and `total` of a `Content-Range: bytes START-END/TOTAL` (or `bytes */TOTAL`) header.
fn parse_content_range(value: &str) -> Option<(Option<u64>, Option<u64>)> {
    let rest = value.trim().strip_prefix("bytes")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    let start = match range.trim() {
        "*" => None,
        r => Some(r.split_once('-')?.0.trim().parse().ok()?),
    };
    Some((start, total))
}

fn header<'r>(response: &'r Response, name: &str) -> Option<&'r str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        // Statuses are handled here: 206, 200 and 416 all mean something for a resume.
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        // A stalled transfer fails (and can be resumed) instead of hanging forever.
        .timeout_per_read(Some(Duration::from_secs(60)))
        .user_agent(concat!("verdikt/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

type Response = ureq::http::Response<ureq::Body>;
/// What to do with the part, the file's total size when the server says it, and the body to read.
type Answer = (Plan, Option<u64>, Option<Response>);

/// Where a response leaves the part file.
enum Plan {
    /// Append the body to the part's first `offset` bytes.
    Append { offset: u64 },
    /// Write the body from the start, dropping what the part held.
    Restart,
    /// The part already holds the whole file; nothing to receive.
    Complete,
}

/// Downloads `entry` into `dest_dir` and returns the path of the checked file.
///
/// A complete file already there (right size, right SHA-256 when known) is kept without any
/// request. Otherwise the bytes go to `NAME.gguf.part`, resuming an existing part with a `Range`
/// request; a server that ignores it sends the whole file, which then replaces the part. Once
/// complete, the part is checked against the catalog's size and SHA-256: a mismatch deletes it
/// and the error names the check and both values; a match renames it to the entry's file name.
///
/// A failed or cancelled transfer keeps the part, so calling again resumes it.
pub fn download(
    entry: &Entry,
    dest_dir: &Path,
    progress: &mut dyn FnMut(DownloadProgress),
    cancel: &AtomicBool,
) -> Result<PathBuf, DownloadError> {
    let mut reporter = Reporter::new(progress);
    let final_path = entry.local_path(dest_dir);
    let part_path = entry.part_path(dest_dir);
    for path in [&final_path, &part_path] {
        crate::open_project::check_target(path)?;
    }

    if already_present(entry, &final_path, &mut reporter, cancel)? {
        return Ok(final_path);
    }
    fs::create_dir_all(dest_dir).map_err(io_err(dest_dir))?;

    let mut offset = match fs::metadata(&part_path) {
        Ok(meta) => meta.len(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
        Err(e) => return Err(io_err(&part_path)(e)),
    };
    if entry.size.is_some_and(|size| offset > size) {
        // Longer than the file can be: not a prefix of it.
        offset = 0;
    }

    // Hash the prefix already on disk before asking for the rest, so a resumed transfer is
    // not left waiting; what follows is hashed as it arrives.
    let mut hasher = Sha256::new();
    if offset > 0 {
        reporter.start(Stage::Checking, Some(offset), 0);
        offset = hash_file(&part_path, Some(offset), &mut hasher, &mut reporter, cancel)?;
    }
    let (plan, total, response) = if offset > 0 && entry.size == Some(offset) {
        (Plan::Complete, entry.size, None)
    } else {
        request(entry, offset, cancel, &part_path)?
    };
    if let (Some(expected), Some(actual)) = (entry.size, total)
        && expected != actual
    {
        remove_if_exists(&part_path)?;
        return Err(DownloadError::ServerSize {
            name: entry.name.clone(),
            expected,
            actual,
        });
    }
    let mut done = match plan {
        Plan::Append { offset } => offset,
        Plan::Complete => offset,
        Plan::Restart => {
            hasher = Sha256::new();
            0
        }
    };

    if let Some(response) = response {
        let file = match plan {
            Plan::Restart => File::create(&part_path),
            _ => OpenOptions::new().append(true).open(&part_path),
        }
        .map_err(io_err(&part_path))?;
        if let Plan::Append { offset } = plan {
            // The part could have grown since it was measured; keep exactly the hashed prefix.
            file.set_len(offset).map_err(io_err(&part_path))?;
        }
        let mut out = BufWriter::with_capacity(1 << 20, file);
        reporter.start(Stage::Downloading, total, done);
        let received = receive(
            response,
            &mut out,
            &mut hasher,
            &mut done,
            &mut reporter,
            cancel,
        );
        // Whatever arrived is a valid prefix: keep it for a resume, even on error.
        let flushed = out
            .flush()
            .and_then(|()| out.get_ref().sync_all())
            .map_err(io_err(&part_path));
        reporter.emit(done);
        match received {
            Ok(()) => flushed?,
            Err(Receive::Cancelled) => {
                flushed?;
                return Err(DownloadError::Cancelled { path: part_path });
            }
            Err(Receive::Read(e)) => {
                flushed?;
                return Err(match total {
                    Some(expected) if e.kind() == io::ErrorKind::UnexpectedEof => {
                        DownloadError::Incomplete {
                            url: entry.url.clone(),
                            received: done,
                            expected,
                        }
                    }
                    _ => DownloadError::Http {
                        url: entry.url.clone(),
                        message: format!(
                            "{e} (after {done} bytes; run the download again to resume)"
                        ),
                    },
                });
            }
            Err(Receive::Write(e)) => return Err(io_err(&part_path)(e)),
        }
    }

    // Size: the catalog's, else what the server announced.
    if let Some(expected) = entry.size.or(total) {
        if done < expected {
            return Err(DownloadError::Incomplete {
                url: entry.url.clone(),
                received: done,
                expected,
            });
        }
        if done > expected {
            remove_if_exists(&part_path)?;
            return Err(DownloadError::Size {
                name: entry.name.clone(),
                expected,
                actual: done,
            });
        }
    }
    if let Some(expected) = &entry.sha256 {
        reporter.start(Stage::Verifying, Some(done), done);
        let actual = hex(&hasher.finalize());
        if &actual != expected {
            remove_if_exists(&part_path)?;
            return Err(DownloadError::Sha256 {
                name: entry.name.clone(),
                expected: expected.clone(),
                actual,
            });
        }
    }
    if final_path.exists() {
        // A stale or damaged file of that name (Windows will not rename over it).
        fs::remove_file(&final_path).map_err(io_err(&final_path))?;
    }
    fs::rename(&part_path, &final_path).map_err(io_err(&final_path))?;
    Ok(final_path)
}

/// Whether `path` already holds the complete, checked file.
fn already_present(
    entry: &Entry,
    path: &Path,
    reporter: &mut Reporter,
    cancel: &AtomicBool,
) -> Result<bool, DownloadError> {
    let len = match fs::metadata(path) {
        Ok(meta) if meta.is_file() => meta.len(),
        _ => return Ok(false),
    };
    if entry.size.is_some_and(|size| size != len) {
        return Ok(false);
    }
    let Some(expected) = &entry.sha256 else {
        return Ok(true);
    };
    let mut hasher = Sha256::new();
    reporter.start(Stage::Checking, Some(len), 0);
    hash_file(path, None, &mut hasher, reporter, cancel)?;
    Ok(&hex(&hasher.finalize()) == expected)
}

fn remove_if_exists(path: &Path) -> Result<(), DownloadError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_err(path)(e)),
        _ => Ok(()),
    }
}

/// Sends the GET (with a `Range` when resuming) and decides what to do with the answer.
/// Returns the plan, the file's total size when the server says it, and the body to read.
fn request(
    entry: &Entry,
    offset: u64,
    cancel: &AtomicBool,
    part_path: &Path,
) -> Result<Answer, DownloadError> {
    let agent = agent();
    let http = |e: ureq::Error| DownloadError::Http {
        url: entry.url.clone(),
        message: e.to_string(),
    };
    if cancel.load(Ordering::Relaxed) {
        return Err(DownloadError::Cancelled {
            path: part_path.to_path_buf(),
        });
    }
    let mut req = agent.get(&entry.url);
    if offset > 0 {
        req = req.header("Range", format!("bytes={offset}-"));
    }
    let response = req.call().map_err(http)?;
    let status = response.status().as_u16();
    let length = header(&response, "content-length").and_then(|v| v.trim().parse::<u64>().ok());
    let range = header(&response, "content-range").and_then(parse_content_range);
    match status {
        206 if offset > 0 => match range {
            Some((Some(start), total)) if start == offset => {
                let total = total.or(length.map(|l| l + offset));
                Ok((Plan::Append { offset }, total, Some(response)))
            }
            // A range we did not ask for: start over without one.
            _ => {
                drop(response);
                restart(entry, &agent, part_path, cancel)
            }
        },
        200 => Ok((Plan::Restart, length, Some(response))),
        416 if offset > 0 => {
            // Nothing at or after `offset`: the part may already be the whole file.
            match range {
                Some((_, Some(total))) if total == offset => {
                    Ok((Plan::Complete, Some(total), None))
                }
                _ => {
                    drop(response);
                    restart(entry, &agent, part_path, cancel)
                }
            }
        }
        _ => Err(DownloadError::Status {
            url: entry.url.clone(),
            status,
        }),
    }
}

/// A plain GET from the start, after a resume attempt went wrong.
fn restart(
    entry: &Entry,
    agent: &ureq::Agent,
    part_path: &Path,
    cancel: &AtomicBool,
) -> Result<Answer, DownloadError> {
    if cancel.load(Ordering::Relaxed) {
        return Err(DownloadError::Cancelled {
            path: part_path.to_path_buf(),
        });
    }
    let response = agent
        .get(&entry.url)
        .call()
        .map_err(|e| DownloadError::Http {
            url: entry.url.clone(),
            message: e.to_string(),
        })?;
    let status = response.status().as_u16();
    if status != 200 {
        return Err(DownloadError::Status {
            url: entry.url.clone(),
            status,
        });
    }
    let length = header(&response, "content-length").and_then(|v| v.trim().parse::<u64>().ok());
    Ok((Plan::Restart, length, Some(response)))
}

enum Receive {
    Cancelled,
    Read(io::Error),
    Write(io::Error),
}

/// Copies the body to `out`, hashing it and counting into `done`.
fn receive(
    response: Response,
    out: &mut impl Write,
    hasher: &mut Sha256,
    done: &mut u64,
    reporter: &mut Reporter,
    cancel: &AtomicBool,
) -> Result<(), Receive> {
    let mut body = response.into_body().into_reader();
    let mut buf = vec![0u8; CHUNK];
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(Receive::Cancelled);
        }
        let n = match body.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Receive::Read(e)),
        };
        out.write_all(&buf[..n]).map_err(Receive::Write)?;
        hasher.update(&buf[..n]);
        *done += n as u64;
        reporter.tick(*done);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[[model]]
name = "tiny"
profile = "llama-guard-3-1b"
url = "https://example.org/models/Tiny.Q4_K_M.gguf?download=true"
size = 1234
sha256 = "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"
"#;

    fn err(text: &str) -> String {
        Catalog::parse(text, "user.toml").unwrap_err().to_string()
    }

    #[test]
    fn builtin_catalog_parses_and_names_builtin_profiles() {
        let catalog = Catalog::builtin();
        assert!(!catalog.entries().is_empty());
        let profiles = crate::guard::load_builtin();
        for entry in catalog.entries() {
            assert!(
                profiles.get(&entry.profile).is_some(),
                "{}: unknown profile {}",
                entry.name,
                entry.profile
            );
            assert!(
                entry.url.starts_with("https://huggingface.co/"),
                "{}",
                entry.url
            );
            assert!(entry.url.contains("/resolve/main/"), "{}", entry.url);
            assert!(entry.file.ends_with(".gguf"), "{}", entry.file);
            assert!(
                entry.size.is_some(),
                "{}: built-in entries give a size",
                entry.name
            );
            assert_eq!(entry.origin, BUILTIN_ORIGIN);
        }
        assert!(catalog.get("llama-guard-3-8b-q4_k_m").is_some());
        assert!(catalog.get("llama-guard-3-1b-q4_k_m").is_some());
    }

    #[test]
    fn parses_an_entry_and_normalises_it() {
        let entries = Catalog::parse(GOOD, "user.toml").unwrap();
        assert_eq!(entries.len(), 1);
        let e = &entries[0];
        assert_eq!(e.name, "tiny");
        assert_eq!(e.size, Some(1234));
        assert_eq!(
            e.sha256.as_deref(),
            Some("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        // The file name is the URL's last segment, query left out.
        assert_eq!(e.file, "Tiny.Q4_K_M.gguf");
        assert_eq!(e.origin, "user.toml");
        let dir = Path::new("/m");
        assert_eq!(e.local_path(dir), Path::new("/m/Tiny.Q4_K_M.gguf"));
        assert_eq!(e.part_path(dir), Path::new("/m/tiny.gguf.part"));
    }

    #[test]
    fn size_sha256_and_file_are_optional() {
        let entries = Catalog::parse(
            r#"
[[model]]
name = "bare"
profile = "polyguard"
url = "http://127.0.0.1:8080/x.gguf"
file = "local-name.gguf"
"#,
            "user.toml",
        )
        .unwrap();
        assert_eq!(entries[0].size, None);
        assert_eq!(entries[0].sha256, None);
        assert_eq!(entries[0].file, "local-name.gguf");
        assert!(Catalog::parse("", "empty.toml").unwrap().is_empty());
    }

    #[test]
    fn errors_name_the_file_and_the_field() {
        let missing = err(&GOOD.replace("url = ", "urls = "));
        assert!(missing.contains("user.toml"), "{missing}");
        assert!(missing.contains("urls"), "{missing}");

        let no_url = err("[[model]]\nname = \"a\"\nprofile = \"p\"\n");
        assert!(
            no_url.contains("user.toml") && no_url.contains("`url`"),
            "{no_url}"
        );

        let bad_sha = err(&GOOD.replace("BA7816BF", "XX"));
        assert!(bad_sha.starts_with("model catalog user.toml: model `tiny`: field `sha256`"));
        assert!(bad_sha.contains("64 hexadecimal digits"), "{bad_sha}");

        let short_sha = err(&GOOD.replace("BA7816BF", ""));
        assert!(short_sha.contains("field `sha256`") && short_sha.contains("56 characters"));

        let bad_url = err(&GOOD.replace("https://example.org", "ftp://example.org"));
        assert!(bad_url.contains("field `url`"), "{bad_url}");

        let bad_name = err(&GOOD.replace("\"tiny\"", "\"../evil\""));
        assert!(bad_name.contains("field `name`"), "{bad_name}");

        let bad_file = err(&format!("{GOOD}file = \"a/b.gguf\"\n"));
        assert!(bad_file.contains("field `file`"), "{bad_file}");

        let no_file_name = err(&GOOD.replace("Tiny.Q4_K_M.gguf?download=true", ""));
        assert!(no_file_name.contains("field `url`") && no_file_name.contains("`file`"));

        let zero = err(&GOOD.replace("1234", "0"));
        assert!(zero.contains("field `size`"), "{zero}");

        let negative = err(&GOOD.replace("1234", "-5"));
        assert!(
            negative.contains("user.toml") && negative.contains("size"),
            "{negative}"
        );

        let wrong_type = err(&GOOD.replace("1234", "\"big\""));
        assert!(wrong_type.contains("size"), "{wrong_type}");

        let syntax = err("[[model]\nname = ");
        assert!(syntax.starts_with("model catalog user.toml:"), "{syntax}");

        let dup = err(&format!("{GOOD}{GOOD}"));
        assert_eq!(
            dup,
            "model catalog user.toml: model name `tiny` is used twice"
        );

        let top = err("[[models]]\nname = \"a\"\n");
        assert!(top.contains("models"), "{top}");
    }

    #[test]
    fn user_file_overrides_by_name_and_adds() {
        let dir = tempfile::tempdir().unwrap();
        let user = dir.path().join("models.toml");
        let builtin = Catalog::builtin();
        let first = builtin.entries()[0].clone();
        fs::write(
            &user,
            format!(
                "{GOOD}\n[[model]]\nname = \"{}\"\nprofile = \"{}\"\nurl = \"https://mirror.example/{}\"\n",
                first.name, first.profile, first.file
            ),
        )
        .unwrap();
        let catalog = Catalog::load_with(Some(&user)).unwrap();
        assert_eq!(catalog.entries().len(), builtin.entries().len() + 1);
        // Replaced where it stood, with the user's values only.
        let replaced = &catalog.entries()[0];
        assert_eq!(replaced.name, first.name);
        assert!(replaced.url.starts_with("https://mirror.example/"));
        assert_eq!(replaced.sha256, None);
        assert_eq!(replaced.origin, user.display().to_string());
        // New ones come last.
        assert_eq!(catalog.entries().last().unwrap().name, "tiny");

        // A missing user file is no error; an unreadable or bad one is, naming the file.
        let missing = Catalog::load_with(Some(&dir.path().join("none.toml"))).unwrap();
        assert_eq!(missing, builtin);
        fs::write(&user, "[[model]]\nname = 3\n").unwrap();
        let e = Catalog::load_with(Some(&user)).unwrap_err().to_string();
        assert!(
            e.contains(&user.display().to_string()) && e.contains("name"),
            "{e}"
        );
    }

    #[test]
    fn ad_hoc_and_mirror_entries_are_checked() {
        let e = Entry::ad_hoc("x", "", "https://h/a/b.gguf").unwrap();
        assert_eq!(e.file, "b.gguf");
        assert!(Entry::ad_hoc("x", "", "nope").is_err());
        let base = &Catalog::parse(GOOD, "user.toml").unwrap()[0];
        let mirror = base.with_url("http://mirror/other-name.gguf").unwrap();
        assert_eq!(mirror.file, base.file);
        assert_eq!(mirror.sha256, base.sha256);
        let bad = base.with_url("mirror").unwrap_err().to_string();
        assert!(bad.contains("field `url`"), "{bad}");
    }

    #[test]
    fn sha256_matches_the_standard_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn content_range_parsing() {
        assert_eq!(
            parse_content_range("bytes 100-199/1000"),
            Some((Some(100), Some(1000)))
        );
        assert_eq!(
            parse_content_range("bytes */1000"),
            Some((None, Some(1000)))
        );
        assert_eq!(parse_content_range("bytes 0-9/*"), Some((Some(0), None)));
        assert_eq!(parse_content_range("items 0-9/10"), None);
        assert_eq!(parse_content_range("bytes x-9/10"), None);
    }

    fn local_entry(data: &[u8], sha: Option<String>) -> Entry {
        Entry {
            sha256: sha,
            size: Some(data.len() as u64),
            // Port 9 (discard) on loopback: nothing listens, so any request would fail.
            ..Entry::ad_hoc("here", "polyguard", "http://127.0.0.1:9/here.gguf").unwrap()
        }
    }

    #[test]
    fn a_present_complete_file_is_not_downloaded_again() {
        let dir = tempfile::tempdir().unwrap();
        let data = b"already here".to_vec();
        let entry = local_entry(&data, Some(sha256_hex(&data)));
        fs::write(entry.local_path(dir.path()), &data).unwrap();
        assert_eq!(entry.local_state(dir.path()), LocalState::Downloaded);
        let mut stages = Vec::new();
        let path = download(
            &entry,
            dir.path(),
            &mut |p| stages.push(p.stage),
            &AtomicBool::new(false),
        )
        .unwrap();
        assert_eq!(path, entry.local_path(dir.path()));
        assert!(stages.iter().all(|s| *s == Stage::Checking));
    }

    #[test]
    fn a_complete_part_is_checked_and_renamed_without_a_request() {
        let dir = tempfile::tempdir().unwrap();
        let data = b"complete part".to_vec();
        let entry = local_entry(&data, Some(sha256_hex(&data)));
        fs::write(entry.part_path(dir.path()), &data).unwrap();
        assert_eq!(
            entry.local_state(dir.path()),
            LocalState::Partial(data.len() as u64)
        );
        let path = download(&entry, dir.path(), &mut |_| {}, &AtomicBool::new(false)).unwrap();
        assert_eq!(fs::read(path).unwrap(), data);
        assert!(!entry.part_path(dir.path()).exists());
    }

    #[test]
    fn a_bad_complete_part_is_deleted_with_both_hashes_named() {
        let dir = tempfile::tempdir().unwrap();
        let data = b"complete part".to_vec();
        let wrong = sha256_hex(b"something else");
        let entry = local_entry(&data, Some(wrong.clone()));
        fs::write(entry.part_path(dir.path()), &data).unwrap();
        let e = download(&entry, dir.path(), &mut |_| {}, &AtomicBool::new(false)).unwrap_err();
        let message = e.to_string();
        assert!(message.contains(&wrong), "{message}");
        assert!(message.contains(&sha256_hex(&data)), "{message}");
        assert!(message.starts_with("sha256 check failed"), "{message}");
        assert!(!entry.part_path(dir.path()).exists());
        assert!(!entry.local_path(dir.path()).exists());
    }

    #[test]
    fn a_file_of_the_wrong_size_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let entry = local_entry(b"four", None);
        fs::write(entry.local_path(dir.path()), b"five!").unwrap();
        assert_eq!(entry.local_state(dir.path()), LocalState::WrongSize(5));
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(entry.local_state(empty.path()), LocalState::Missing);
    }
}
