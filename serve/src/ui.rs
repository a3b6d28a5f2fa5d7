//! The UI bundle served to browsers: the same Vite build of `ui/` the window embeds. By
//! default the one built into the binary (`build.rs` embeds `ui/dist`; empty when the build had
//! none), or `--ui DIR` read into memory once at start. Either way only the files known at start
//! are served: no path from a request ever reaches the file system. A bundle whose HTML carries
//! an inline script is refused, since the CSP (`script-src 'self'`) would block it anyway and it
//! would mean the bundle is not ours.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use crate::ServeError;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/ui_bundle.rs"));
}

pub struct Bundle {
    files: HashMap<String, (&'static str, Cow<'static, [u8]>)>,
}

impl Bundle {
    /// The files under `dir`; none when it does not exist (the API is still served).
    pub fn load(dir: &Path) -> Result<Bundle, ServeError> {
        let mut bundle = Bundle {
            files: HashMap::new(),
        };
        if dir.is_dir() {
            add(dir, dir, &mut bundle)?;
        }
        Ok(bundle)
    }

    /// The bundle built into the binary.
    pub fn embedded() -> Result<Bundle, ServeError> {
        let mut bundle = Bundle {
            files: HashMap::new(),
        };
        for (key, bytes) in embedded::FILES {
            bundle.insert(key.to_string(), Cow::Borrowed(bytes), || {
                format!("the built-in {key}")
            })?;
        }
        Ok(bundle)
    }

    fn insert(
        &mut self,
        key: String,
        bytes: Cow<'static, [u8]>,
        named: impl Fn() -> String,
    ) -> Result<(), ServeError> {
        let kind = content_type(&key);
        if kind.starts_with("text/html") && has_inline_script(&String::from_utf8_lossy(&bytes)) {
            return Err(ServeError::Ui(format!(
                "{} has an inline script; the served UI allows only the bundle's own script files",
                named()
            )));
        }
        self.files.insert(key, (kind, bytes));
        Ok(())
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
        self.files.get(key).map(|(t, b)| (*t, b.as_ref()))
    }
}

fn add(root: &Path, dir: &Path, bundle: &mut Bundle) -> Result<(), ServeError> {
    let bad = |e: std::io::Error| ServeError::Ui(format!("{}: {e}", dir.display()));
    for entry in std::fs::read_dir(dir).map_err(bad)? {
        let path = entry.map_err(bad)?.path();
        if path.is_dir() {
            add(root, &path, bundle)?;
            continue;
        }
        let bytes = std::fs::read(&path).map_err(bad)?;
        let key = path
            .strip_prefix(root)
            .expect("under the root")
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        bundle.insert(key, Cow::Owned(bytes), || path.display().to_string())?;
    }
    Ok(())
}

fn content_type(key: &str) -> &'static str {
    match key.rsplit_once('.').map_or("", |(_, e)| e) {
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
