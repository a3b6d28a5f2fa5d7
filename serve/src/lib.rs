//! `verdikt serve`: the review opened to the team's browsers. It serves the same UI bundle as
//! the window and, over HTTPS, only the review commands (`api.rs`), each one call into
//! `verdikt_core::review_api` — the layer the window's Review screen calls too, so the queue,
//! blind review, hidden guard verdicts, answers, undo and adjudication exist once. Who a browser
//! is comes from its session alone (`verdikt_core::access`: single-use invites, hashed tokens,
//! expiry, revocation); a session reaches its reviewer's languages only.
//!
//! The parts:
//! - `http.rs` the router, hardening headers (strict CSP, `nosniff`, `frame-ancestors 'none'`,
//!   no referrer, no CORS), the body limit, JSON-only API, session cookies
//! - `api.rs` the review commands by name, and nothing else (curator commands have no route)
//! - `pool.rs` connections to the project; busy retried, never shown
//! - `limits.rs` requests per session, failed invite codes per address
//! - `tls.rs` the user's certificate, or one made once per project and kept beside it; or plain
//!   HTTP on a loopback address behind a TLS-terminating reverse proxy (`behind_proxy`), where
//!   the client's address is the proxy's `X-Forwarded-For`
//! - `ui.rs` the bundle built into the binary, or `--ui DIR`; inline scripts refused
//! - `reply.rs` every error as JSON in the window's `AppError` shape
//!
//! Why these crates (each kept and widely used, rather than written here):
//! - tokio: the runtime the app already uses; requests run the blocking SQLite work on its
//!   blocking pool, so a slow write never stalls other clients.
//! - axum (on hyper 1 via hyper-util): routing, extractors and body limits from the tokio
//!   project itself, with no macros to learn; hyper's HTTP/1.1 server under it is the most
//!   used Rust HTTP implementation. Served by hand over TLS (accept, handshake, `serve_connection`),
//!   as axum's own TLS example does, so a slow handshake holds up only its own connection.
//! - rustls through tokio-rustls, on the `ring` provider: TLS in Rust with no OpenSSL to find
//!   on the user's machine; `ring` builds with a C compiler alone (aws-lc needs CMake and more),
//!   and is the provider ureq (the guard downloads) already brings.
//! - rcgen (on `ring`): the self-signed certificate, made by the rustls project's own writer.
//!
//! [`start`] serves on its own threads until [`Running::stop`] (the window's "Share with
//! reviewers"); [`run`], for `verdikt serve`, is `start` then wait.

mod api;
mod http;
mod limits;
mod pool;
mod reply;
mod tls;
mod ui;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

pub use api::COMMANDS;
pub use http::{BODY_LIMIT, CSP};
pub use limits::Limits;
pub use tls::{fingerprint, project_files};

/// A TLS handshake that takes longer than this is dropped.
const HANDSHAKE: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Store(#[from] verdikt_core::store::StoreError),
    #[error("certificate: {0}")]
    Certificate(String),
    #[error("UI bundle: {0}")]
    Ui(String),
    #[error(
        "plain HTTP (behind a reverse proxy) listens on a loopback address only, such as \
         127.0.0.1:8080; {0} is reachable from other machines, so serve it over HTTPS instead"
    )]
    PlainNotLoopback(SocketAddr),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

pub struct Options {
    pub project: PathBuf,
    /// 127.0.0.1 unless the user names another address.
    pub bind: SocketAddr,
    /// The user's certificate and key (PEM); `None`: the project's own.
    pub cert: Option<(PathBuf, PathBuf)>,
    /// A built UI to serve instead of the one built into the binary.
    pub ui: Option<PathBuf>,
    /// Plain HTTP for a TLS-terminating reverse proxy on this machine; `bind` must be loopback.
    pub behind_proxy: bool,
    pub session_lifetime: Duration,
    pub limits: Limits,
}

/// What the curator needs to know once the server listens.
#[derive(Clone, Debug)]
pub struct Started {
    pub url: String,
    pub addr: SocketAddr,
    /// The certificate served; `None` behind a reverse proxy (plain HTTP).
    pub tls: Option<StartedTls>,
    pub ui: bool,
}

#[derive(Clone, Debug)]
pub struct StartedTls {
    /// SHA-256 of the certificate, for reviewers to check in their browser.
    pub fingerprint: String,
    pub cert: PathBuf,
    /// The certificate was made now.
    pub made: bool,
}

/// Serves until the process ends. `on_start` hears where once it listens.
pub fn run(options: Options, on_start: impl FnOnce(&Started)) -> Result<(), ServeError> {
    let running = start(options)?;
    on_start(running.started());
    running.wait()
}

/// A server listening on its own threads, until [`Running::stop`] (or until dropped: the
/// window stops serving when it closes or opens another project).
pub struct Running {
    started: Started,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<(), ServeError>>>,
}

/// Starts serving and returns once it listens (or could not: the error, in words).
pub fn start(options: Options) -> Result<Running, ServeError> {
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let (tell, listening) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("verdikt-serve".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            let served = runtime.block_on(serve(
                options,
                |started| {
                    let _ = tell.send(started);
                },
                stopped,
            ));
            // Requests under way get a moment to finish; an answer is committed or not at all.
            runtime.shutdown_timeout(Duration::from_secs(5));
            served
        })?;
    match listening.recv() {
        Ok(started) => Ok(Running {
            started,
            stop: Some(stop),
            thread: Some(thread),
        }),
        // It ended before listening: its error says why.
        Err(_) => match thread.join() {
            Ok(Err(e)) => Err(e),
            _ => Err(ServeError::Io(std::io::Error::other(
                "the server ended at start",
            ))),
        },
    }
}

impl Running {
    pub fn started(&self) -> &Started {
        &self.started
    }

    /// Stops listening and waits until the port is closed.
    pub fn stop(mut self) -> Result<(), ServeError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.wait_thread()
    }

    /// Serves until the server fails (or forever).
    pub fn wait(mut self) -> Result<(), ServeError> {
        self.wait_thread()
    }

    fn wait_thread(&mut self) -> Result<(), ServeError> {
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(served)) => served,
            Some(Err(_)) => Err(ServeError::Io(std::io::Error::other(
                "the server stopped on a bug",
            ))),
            None => Ok(()),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = self.wait_thread();
    }
}

async fn serve(
    options: Options,
    on_start: impl FnOnce(Started),
    mut stop: tokio::sync::oneshot::Receiver<()>,
) -> Result<(), ServeError> {
    if options.behind_proxy && !options.bind.ip().is_loopback() {
        return Err(ServeError::PlainNotLoopback(options.bind));
    }
    let pool = pool::Pool::open(options.project.clone())?;
    let cert = match options.behind_proxy {
        true => None,
        false => Some(tls::certificate(
            &options.project,
            options
                .cert
                .as_ref()
                .map(|(c, k)| (c.as_path(), k.as_path())),
            options.bind.ip(),
        )?),
    };
    let bundle = match &options.ui {
        Some(dir) => ui::Bundle::load(dir)?,
        None => ui::Bundle::embedded()?,
    };
    let listener = TcpListener::bind(options.bind)
        .await
        .map_err(|source| ServeError::Bind {
            addr: options.bind,
            source,
        })?;
    let addr = listener.local_addr()?;
    on_start(Started {
        url: format!(
            "{}://{addr}/",
            if cert.is_some() { "https" } else { "http" }
        ),
        addr,
        tls: cert.as_ref().map(|c| StartedTls {
            fingerprint: c.fingerprint.clone(),
            cert: c.cert.clone(),
            made: c.made,
        }),
        ui: !bundle.is_empty(),
    });
    let served = Arc::new(http::Served {
        pool,
        limiter: limits::Limiter::new(options.limits),
        bundle,
        session_lifetime: options.session_lifetime,
    });
    let app = http::router(served);
    let acceptor = cert.map(|c| TlsAcceptor::from(c.config));
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            // Told to stop, or the handle is gone: the listener closes as this returns.
            _ = &mut stop => return Ok(()),
        };
        let (tcp, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait, then accept again.
                log::warn!("accepting a connection: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        tokio::spawn(async move {
            let Some(acceptor) = acceptor else {
                return connection(TokioIo::new(tcp), peer, app, true).await;
            };
            let Ok(Ok(tls)) = tokio::time::timeout(HANDSHAKE, acceptor.accept(tcp)).await else {
                return;
            };
            connection(TokioIo::new(tls), peer, app, false).await
        });
    }
}

/// Serves one connection's requests. Over plain HTTP (behind the proxy, on loopback), the
/// client is the one the proxy names in `X-Forwarded-For`.
async fn connection<I>(io: I, peer: SocketAddr, app: axum::Router, plain: bool)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request| {
        let client = match plain && peer.ip().is_loopback() {
            true => http::forwarded_for(request.headers()).unwrap_or(peer.ip()),
            false => peer.ip(),
        };
        request.extensions_mut().insert(http::ClientAddr(client));
        tower::ServiceExt::oneshot(app.clone(), request)
    });
    let served = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(20))
        .serve_connection(io, service)
        .await;
    if let Err(e) = served {
        log::debug!("connection from {peer}: {e}");
    }
}
