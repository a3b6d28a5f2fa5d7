//! The Curator screen's "Share with reviewers": starts and stops the server of `verdikt serve`
//! (`verdikt_serve::start`, the same code) on the project the window has open, makes invite
//! links that name the running server, ends a reviewer's sessions, and shows who is working
//! (`verdikt_core::activity`). The server has its own connections, so the window keeps working
//! on the project while it is served; it stops when the window closes or opens another project.
//!
//! Like a guard server, opening the review beyond this computer needs the curator's yes in a
//! native dialog, which the web view cannot answer; an own certificate and key are used only
//! from files the curator picked (`grants.rs`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Manager, State};
use verdikt_core::access::{self, Revoked};
use verdikt_core::activity::{ReviewerActivity, activity};
use verdikt_serve::{Running, ServeError};

use crate::error::{AppError, AppResult};
use crate::given;
use crate::grants::ask;
use crate::state::AppState;

/// As `verdikt serve`'s defaults.
const SESSION_LASTS: Duration = Duration::from_secs(12 * 3600);
const INVITE_LASTS: Duration = Duration::from_secs(24 * 3600);

/// The server while it runs, and what the window shows of it.
pub struct Sharing {
    running: Running,
    status: ShareStatus,
}

#[derive(Clone, Debug, Deserialize, specta::Type)]
pub struct ShareRequest {
    /// Blank: 127.0.0.1, this computer only. Another address opens the review to the network
    /// (after the curator confirms it).
    pub address: Option<String>,
    pub port: u16,
    /// The curator's own certificate and key (PEM), picked with Browse…; blank: the project's
    /// own certificate, made once and kept beside it.
    pub cert: Option<String>,
    pub key: Option<String>,
}

/// Where the review is served, for the curator to pass on.
#[derive(Clone, Debug, Serialize, specta::Type)]
pub struct ShareStatus {
    pub url: String,
    /// SHA-256 of the certificate: reviewers check it in their browser.
    pub fingerprint: String,
    pub cert: String,
    /// The project's certificate was made just now.
    pub made_cert: bool,
    /// Listens beyond this computer.
    pub network: bool,
    /// The browser UI is served (without it, only the review API).
    pub ui: bool,
    /// When serving started (UTC).
    pub since: String,
}

/// A fresh invite: the link is shown once (only its hash is kept).
#[derive(Clone, Debug, Serialize, specta::Type)]
pub struct InviteLink {
    pub reviewer: String,
    pub link: String,
    pub expires_at: String,
}

/// The address to listen on: 127.0.0.1 unless the curator typed another. An unspecified
/// address (0.0.0.0) is refused: invite links must name this computer as reviewers reach it.
fn bind_address(typed: Option<String>, port: u16) -> AppResult<SocketAddr> {
    let ip = match given(typed) {
        None => IpAddr::V4(Ipv4Addr::LOCALHOST),
        Some(text) => text.trim().parse::<IpAddr>().map_err(|_| {
            AppError::new(format!(
                "“{}” is not an IP address: type this computer's address on the network (e.g. 192.168.1.20), or leave it blank for this computer only",
                text.trim()
            ))
        })?,
    };
    if ip.is_unspecified() {
        return Err(AppError::new(format!(
            "{ip} names no computer, so invite links could not say where to go: type this computer's address on the network (e.g. 192.168.1.20)"
        )));
    }
    Ok(SocketAddr::new(ip, port))
}

/// The curator's yes, in a native dialog, to listening beyond this computer.
async fn confirm_network(app: &AppHandle, addr: SocketAddr) -> AppResult<()> {
    let yes = ask(
        app,
        "Open the review to the network?",
        format!(
            "Open the review to the network at\n\nhttps://{addr}/\n\nAnyone who can reach this address can load the page; only an invite link opens a session, and a session reaches only its reviewer's queue."
        ),
        "Open to the network",
    )
    .await?;
    if yes {
        Ok(())
    } else {
        Err(AppError::new(
            "Not shared: opening the review to the network was not confirmed.",
        ))
    }
}

/// Another built UI for the browsers, as `verdikt serve --ui` takes (default: the one built in).
fn ui_override() -> Option<PathBuf> {
    std::env::var_os("VERDIKT_UI_DIR").map(PathBuf::from)
}

fn not_started(e: ServeError) -> AppError {
    let hint = match e {
        ServeError::Bind { .. } => "; choose another port, or stop the program that uses it",
        ServeError::Certificate(_) => {
            "; pick a certificate and its key in PEM form, or leave both blank"
        }
        _ => "",
    };
    AppError::new(format!("Not shared: {e}{hint}"))
}

/// Starts serving the open project's review to browsers.
#[tauri::command]
#[specta::specta]
pub async fn share_start(
    app: AppHandle,
    state: State<'_, AppState>,
    request: ShareRequest,
) -> AppResult<ShareStatus> {
    if let Some(url) = state.sharing().as_ref().map(|s| s.status.url.clone()) {
        return Err(AppError::new(format!(
            "Already sharing at {url}; stop sharing first to change where."
        )));
    }
    let bind = bind_address(request.address, request.port)?;
    let cert = own_certificate(&state, request.cert, request.key)?;
    if !bind.ip().is_loopback() {
        confirm_network(&app, bind).await?;
    }
    start_sharing(&state, bind, cert).await
}

/// The curator's own certificate and key: both or neither, each a file they picked.
fn own_certificate(
    state: &AppState,
    cert: Option<String>,
    key: Option<String>,
) -> AppResult<Option<(PathBuf, PathBuf)>> {
    match (given(cert), given(key)) {
        (None, None) => Ok(None),
        (Some(cert), Some(key)) => {
            let grants = state.grants();
            Ok(Some((grants.source(&cert)?, grants.source(&key)?)))
        }
        _ => Err(AppError::new(
            "Choose both your certificate and its key, or neither (the project's own certificate).",
        )),
    }
}

/// Serves the open project on `bind` (checked and, beyond this computer, confirmed).
async fn start_sharing(
    state: &AppState,
    bind: SocketAddr,
    cert: Option<(PathBuf, PathBuf)>,
) -> AppResult<ShareStatus> {
    let project = state
        .project_path()
        .ok_or_else(|| AppError::new("Open a project first: sharing serves the open project."))?;
    let options = verdikt_serve::Options {
        project: project.clone(),
        bind,
        cert,
        ui: ui_override(),
        behind_proxy: false,
        session_lifetime: SESSION_LASTS,
        limits: verdikt_serve::Limits::default(),
    };
    let running = tauri::async_runtime::spawn_blocking(move || verdikt_serve::start(options))
        .await?
        .map_err(not_started)?;
    let since = state.with_store(|store| {
        Ok(store
            .conn()
            .query_row("SELECT strftime('%Y-%m-%dT%H:%M:%SZ', 'now')", [], |r| {
                r.get::<_, String>(0)
            })?)
    })?;
    let started = running.started();
    // Never behind a proxy from the window, so always over TLS.
    let Some(tls) = started.tls.as_ref() else {
        return Err(AppError::new("Not shared: the server started without TLS."));
    };
    let status = ShareStatus {
        url: started.url.clone(),
        fingerprint: tls.fingerprint.clone(),
        cert: tls.cert.display().to_string(),
        made_cert: tls.made,
        network: !bind.ip().is_loopback(),
        ui: started.ui,
        since,
    };
    let mut sharing = state.sharing();
    // Another start or another project won meanwhile: this server stops as it is dropped.
    if sharing.is_some() || state.project_path().as_deref() != Some(project.as_path()) {
        return Err(AppError::new(
            "Not shared: sharing was started, or another project opened, meanwhile.",
        ));
    }
    *sharing = Some(Sharing {
        running,
        status: status.clone(),
    });
    Ok(status)
}

/// Stops serving: the port closes, open browser sessions wait until the next start.
#[tauri::command]
#[specta::specta]
pub async fn share_stop(state: State<'_, AppState>) -> AppResult<()> {
    let stopped = state.sharing().take();
    if let Some(sharing) = stopped {
        tauri::async_runtime::spawn_blocking(move || sharing.running.stop())
            .await?
            .map_err(|e| AppError::new(format!("The server stopped with an error: {e}")))?;
    }
    Ok(())
}

/// Where the review is served now; `None` while not shared.
#[tauri::command]
#[specta::specta]
pub async fn share_status(state: State<'_, AppState>) -> AppResult<Option<ShareStatus>> {
    Ok(state.sharing().as_ref().map(|s| s.status.clone()))
}

/// A single-use invite link for `reviewer`, naming the running server.
#[tauri::command]
#[specta::specta]
pub async fn share_invite(state: State<'_, AppState>, reviewer: String) -> AppResult<InviteLink> {
    let url = state
        .sharing()
        .as_ref()
        .map(|s| s.status.url.clone())
        .ok_or_else(|| {
            AppError::new("Start sharing first: an invite link names the running server's address.")
        })?;
    let invite = state.with_store(|store| Ok(access::invite(store, &reviewer, INVITE_LASTS)?))?;
    Ok(InviteLink {
        link: access::invite_link(&url, &invite.code),
        reviewer: invite.reviewer,
        expires_at: invite.expires_at,
    })
}

/// Ends every browser session and unused invite of `reviewer` at once.
#[tauri::command]
#[specta::specta]
pub async fn share_revoke(state: State<'_, AppState>, reviewer: String) -> AppResult<Revoked> {
    state.with_store(|store| Ok(access::revoke(store, &reviewer)?))
}

/// Who is working: each reviewer's progress, last answer, answers by source, open sessions.
#[tauri::command]
#[specta::specta]
pub async fn share_activity(state: State<'_, AppState>) -> AppResult<Vec<ReviewerActivity>> {
    state.with_store(|store| Ok(activity(store)?))
}

/// Stops serving as the app exits, so the port is closed with the window.
pub fn stop_on_exit(app: &AppHandle) {
    let stopped = app.state::<AppState>().sharing().take();
    if let Some(sharing) = stopped {
        let _ = sharing.running.stop();
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpStream;

    use tauri::async_runtime::block_on;

    use super::*;

    #[test]
    fn the_address_is_this_computer_unless_a_reachable_one_is_typed() {
        let local = bind_address(Some("  ".into()), 8443).unwrap();
        assert_eq!(local, "127.0.0.1:8443".parse().unwrap());
        let lan = bind_address(Some("192.168.1.20".into()), 9000).unwrap();
        assert!(!lan.ip().is_loopback());
        let words = |typed: &str| bind_address(Some(typed.into()), 1).unwrap_err().message;
        assert!(words("0.0.0.0").contains("names no computer"));
        assert!(words("example.org").contains("is not an IP address"));
    }

    fn closed(addr: SocketAddr) -> bool {
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err()
    }

    #[test]
    fn the_window_starts_invites_and_stops_and_the_port_closes() {
        let dir = tempfile::tempdir().unwrap();
        let app = tauri::test::mock_app();
        app.manage(AppState::default());
        let state = app.state::<AppState>();
        let refused = |r: AppResult<InviteLink>| r.unwrap_err().message;
        assert!(
            block_on(start_sharing(&state, "127.0.0.1:0".parse().unwrap(), None))
                .unwrap_err()
                .message
                .contains("Open a project first")
        );
        state.open(&dir.path().join("p.sqlite")).unwrap();
        state
            .with_store(|s| Ok(verdikt_core::audit::add_reviewer(s, "ana", "pl")?))
            .unwrap();
        assert!(
            refused(block_on(share_invite(app.state(), "ana".into())))
                .contains("Start sharing first")
        );
        let picked = dir.path().join("cert.pem");
        assert!(
            own_certificate(&state, Some(picked.display().to_string()), Some("k".into()))
                .unwrap_err()
                .message
                .contains("was not chosen by you")
        );
        assert!(
            own_certificate(&state, Some("c".into()), None)
                .unwrap_err()
                .message
                .contains("both your certificate and its key")
        );

        let status = block_on(start_sharing(&state, "127.0.0.1:0".parse().unwrap(), None)).unwrap();
        assert!(!status.network && status.made_cert, "{status:?}");
        let addr = state.sharing().as_ref().unwrap().running.started().addr;
        TcpStream::connect(addr).expect("listening");
        assert_eq!(
            state.running_jobs(),
            ["sharing with reviewers"],
            "asked before closing"
        );
        assert_eq!(
            block_on(share_status(app.state())).unwrap().map(|s| s.url),
            Some(status.url.clone())
        );
        let invite = block_on(share_invite(app.state(), "ana".into())).unwrap();
        assert!(
            invite.link.starts_with(&format!("{}invite#", status.url)),
            "{}",
            invite.link
        );
        // The window keeps working on the project while it is served.
        let who = block_on(share_activity(app.state())).unwrap();
        assert_eq!(who[0].reviewer, "ana");
        assert!(
            block_on(start_sharing(&state, "127.0.0.1:0".parse().unwrap(), None))
                .unwrap_err()
                .message
                .contains("Not shared")
        );
        assert_eq!(
            block_on(share_revoke(app.state(), "ana".into())).unwrap(),
            Revoked {
                invites: 1,
                sessions: 0
            }
        );

        block_on(share_stop(app.state())).unwrap();
        assert!(closed(addr), "the port is closed after stop");
        assert!(block_on(share_status(app.state())).unwrap().is_none());

        // Opening another project stops serving the first.
        block_on(start_sharing(&state, "127.0.0.1:0".parse().unwrap(), None)).unwrap();
        let addr = state.sharing().as_ref().unwrap().running.started().addr;
        state.open(&dir.path().join("other.sqlite")).unwrap();
        assert!(closed(addr), "another project ends sharing");
        assert!(state.sharing().is_none());
    }
}
