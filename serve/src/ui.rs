//! The UI bundle served to browsers: the same Vite build of `ui/` the window embeds, read into
//! memory once at start (only the files that are there then are served: no path from a request
//! ever reaches the file system). A bundle whose HTML carries an inline script is refused, since
//! the CSP (`script-src 'self'`) would block it anyway and it would mean the bundle is not ours.

use std::collections::HashMap;
use std::path::Path;

use crate::ServeError;

pub struct Bundle {
    files: HashMap<String, (&'static str, Vec<u8>)>,
}

impl Bundle {
    /// The files under `dir`; none when it does not exist (the API is still served).
    pub fn load(dir: &Path) -> Result<Bundle, ServeError> {
        let mut files = HashMap::new();
        if dir.is_dir() {
            add(dir, dir, &mut files)?;
        }
        Ok(Bundle { files })
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// A file by request path; the app's own pages (`/`, `/invite`) are `index.html`.
    pub fn get(&self, path: &str) -> Option<(&'static str, &[u8])> {
        let key = match path.trim_start_matches('/') {
            "" | "invite" => "index.html",
            other => other,
        };
        self.files.get(key).map(|(t, b)| (*t, b.as_slice()))
    }
}

fn add(
    root: &Path,
    dir: &Path,
    files: &mut HashMap<String, (&'static str, Vec<u8>)>,
) -> Result<(), ServeError> {
    let bad = |e: std::io::Error| ServeError::Ui(format!("{}: {e}", dir.display()));
    for entry in std::fs::read_dir(dir).map_err(bad)? {
        let path = entry.map_err(bad)?.path();
        if path.is_dir() {
            add(root, &path, files)?;
            continue;
        }
        let bytes = std::fs::read(&path).map_err(bad)?;
        let kind = content_type(&path);
        if kind.starts_with("text/html") && has_inline_script(&String::from_utf8_lossy(&bytes)) {
            return Err(ServeError::Ui(format!(
                "{} has an inline script; the served UI allows only the bundle's own script files",
                path.display()
            )));
        }
        let key = path
            .strip_prefix(root)
            .expect("under the root")
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        files.insert(key, (kind, bytes));
    }
    Ok(())
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "json" => "application/json",
        _ => "application/octet-stream",
    }
}

/// A `<script>` element without a `src`: code in the page itself.
pub fn has_inline_script(html: &str) -> bool {
    let lower = html.to_ascii_lowercase();
    lower.match_indices("<script").any(|(at, _)| {
        let tag = &lower[at..];
        let end = tag.find('>').unwrap_or(tag.len());
        !tag[..end].contains("src=")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_scripts_are_found() {
        assert!(!has_inline_script(
            r#"<script type="module" crossorigin src="/assets/index.js"></script>"#
        ));
        assert!(has_inline_script("<SCRIPT>alert(1)</SCRIPT>"));
        assert!(has_inline_script(
            r#"<script type="module">import "x"</script>"#
        ));
    }
}
