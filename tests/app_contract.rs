//! The desktop app's contract with its window: the generated TypeScript bindings are current,
//! and the registered commands, the generated permissions and the capability file agree
//! exactly (every command callable, nothing else permitted).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn committed_bindings() -> String {
    std::fs::read_to_string(repo().join("ui/src/bindings.ts")).expect("ui/src/bindings.ts")
}

#[test]
fn bindings_are_fresh() {
    assert!(
        committed_bindings() == verdikt_app::bindings(),
        "ui/src/bindings.ts is stale: run `cargo run -p verdikt-app -- --write-bindings ui/src/bindings.ts`"
    );
}

/// Command names the invoke handler serves, read from the bindings the same builder renders.
fn registered() -> BTreeSet<String> {
    let ts = verdikt_app::bindings();
    ts.match_indices("TAURI_INVOKE(\"")
        .map(|(i, m)| {
            let rest = &ts[i + m.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .collect()
}

/// Plugin permissions the window holds besides its own commands, each for a reason.
const PLUGIN_PERMISSIONS: &[&str] = &[
    // Drag-and-drop of files onto the Import screen is delivered as an event.
    "core:event:allow-listen",
    "core:event:allow-unlisten",
];

#[test]
fn commands_and_capabilities_agree() {
    let listed: BTreeSet<String> = verdikt_app::COMMANDS
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        registered(),
        listed,
        "registered commands vs COMMANDS (build.rs)"
    );

    let cap: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("src-tauri/capabilities/default.json")).unwrap(),
    )
    .unwrap();
    let permissions: Vec<&str> = cap["permissions"]
        .as_array()
        .expect("a permissions list")
        .iter()
        .map(|p| p.as_str().expect("plain permission names"))
        .collect();
    let (plugin, own): (Vec<&str>, Vec<&str>) = permissions.iter().partition(|p| p.contains(':'));
    let own: BTreeSet<String> = own
        .iter()
        .map(|p| {
            p.strip_prefix("allow-")
                .unwrap_or_else(|| panic!("`{p}`: the app grants only allow-<command>"))
                .replace('-', "_")
        })
        .collect();
    assert_eq!(own, listed, "capability allow-* vs registered commands");
    let plugin: BTreeSet<&str> = plugin.into_iter().collect();
    let expected: BTreeSet<&str> = PLUGIN_PERMISSIONS.iter().copied().collect();
    assert_eq!(plugin, expected, "plugin permissions");
}

#[test]
fn csp_forbids_inline_and_remote_scripts() {
    let conf: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("src-tauri/tauri.conf.json")).unwrap(),
    )
    .unwrap();
    let csp = &conf["app"]["security"]["csp"];
    assert_eq!(csp["script-src"], "'self'");
    assert_eq!(csp["default-src"], "'self'");
    assert_eq!(csp["object-src"], "'none'");
    assert!(conf["app"]["security"]["dangerousDisableAssetCspModification"].is_null());
    assert_ne!(conf["app"]["withGlobalTauri"], true);
}

#[test]
fn the_ui_never_renders_data_as_html() {
    let mut stack = vec![repo().join("ui/src")];
    let mut checked = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("svelte" | "ts")
            ) && !path.ends_with("bindings.ts")
                && !path.to_string_lossy().ends_with(".test.ts")
            {
                let text = std::fs::read_to_string(&path).unwrap();
                for banned in [
                    "{@html",
                    "innerHTML",
                    "outerHTML",
                    "insertAdjacentHTML",
                    "document.write",
                    "eval(",
                ] {
                    assert!(!text.contains(banned), "{}: uses {banned}", path.display());
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 5, "found only {checked} UI files");
}
