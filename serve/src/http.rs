//! The router: the session door (`POST /api/session`), the review commands (`api.rs`), the UI
//! bundle for `GET`, and a JSON 404 for everything else. Every response carries the hardening
//! headers; every request body is bounded (`413` past `BODY_LIMIT`); an API call needs
//! `Content-Type: application/json` (a cross-site form cannot send it, and the cookie is
//! `SameSite=Strict` as well) and a valid session cookie, whose reviewer is the caller.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Extension, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use verdikt_core::access::{self, AccessError, Session};
use verdikt_core::review_api::Caller;

use crate::api::{Access, Command, TABLE};
use crate::limits::Limiter;
use crate::pool::Pool;
use crate::reply::ApiError;
use crate::ui::Bundle;

/// Request bodies past this are refused with 413 (an answer is a few hundred bytes).
pub const BODY_LIMIT: usize = 64 * 1024;
pub const COOKIE: &str = "verdikt_session";

/// The hardening headers, on every response.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-src 'none'; frame-ancestors 'none'";

/// The client's address, set per request by the accept loop.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub IpAddr);

/// The client a reverse proxy names: the last address of the last `X-Forwarded-For`, the one
/// the proxy itself added (those before it came from the client and may be forged).
pub fn forwarded_for(headers: &HeaderMap) -> Option<IpAddr> {
    let last = headers.get_all("x-forwarded-for").iter().next_back()?;
    last.to_str().ok()?.rsplit(',').next()?.trim().parse().ok()
}

pub struct Served {
    pub pool: Arc<Pool>,
    pub limiter: Limiter,
    pub bundle: Bundle,
    pub session_lifetime: Duration,
}

pub fn router(served: Arc<Served>) -> Router {
    let mut router = Router::new().route("/api/session", post(open_session));
    for (name, access, command) in TABLE {
        router = router.route(
            &format!("/api/{name}"),
            post(
                move |state: State<Arc<Served>>,
                      headers: HeaderMap,
                      body: Result<Bytes, BytesRejection>| {
                    call(state, name, access, command, headers, body)
                },
            ),
        );
    }
    router
        .fallback(fallback)
        .method_not_allowed_fallback(|_body: Result<Bytes, BytesRejection>| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "API commands are POST requests",
            )
        })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(harden))
        .with_state(served)
}

async fn harden(request: axum::extract::Request, next: Next) -> Response {
    let api = request.uri().path().starts_with("/api/");
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        "Cross-Origin-Opener-Policy",
        HeaderValue::from_static("same-origin"),
    );
    if api {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// The body, refused when too large (413) or not JSON (415).
fn json_body(headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    let body = body.map_err(|e| {
        let status = e.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                status,
                format!("the request is larger than {} KiB", BODY_LIMIT / 1024),
            )
        } else {
            ApiError::new(status, "the request's body could not be read")
        }
    })?;
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
        });
    if !json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "API requests are JSON (Content-Type: application/json)",
        ));
    }
    Ok(body)
}

fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE && !value.is_empty()).then(|| value.to_string())
        })
}

/// The caller's session, or 401; over the session's rate, 429.
async fn session(served: &Arc<Served>, headers: &HeaderMap) -> Result<Session, ApiError> {
    let Some(token) = session_token(headers) else {
        return Err(ApiError::from_core(AccessError::NoSession));
    };
    let session = served
        .pool
        .run(move |store| access::session(store, &token).map_err(ApiError::from_core))
        .await?;
    served.limiter.request(session.id).map_err(|slowed| {
        ApiError::slowed(
            StatusCode::TOO_MANY_REQUESTS,
            "too many requests from this session; wait a moment",
            slowed.0,
        )
    })?;
    Ok(session)
}

async fn call(
    State(served): State<Arc<Served>>,
    name: &'static str,
    access: Access,
    command: Command,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let body = json_body(&headers, body)?;
    let session = session(&served, &headers).await?;
    if name == "review_adjudicate" && !session.reviewer.adjudicator {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("{} is not an adjudicator", session.reviewer.name),
        ));
    }
    let caller = Caller::Session {
        id: session.id,
        reviewer: session.reviewer.name,
    };
    let run = move |store: &mut verdikt_core::store::Store| command(store, &caller, &body);
    let out = match access {
        Access::Write => served.pool.write(run).await?,
        Access::Read => served.pool.run(run).await?,
    };
    Ok(axum::Json(out))
}

#[derive(Deserialize)]
struct Code {
    code: String,
}

/// Opens a session with an invite code: a `Secure; HttpOnly; SameSite=Strict` cookie bound to
/// the invite's reviewer. Bad codes count against the client's address.
async fn open_session(
    State(served): State<Arc<Served>>,
    Extension(ClientAddr(from)): Extension<ClientAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = json_body(&headers, body)?;
    served.limiter.may_try_code(from).map_err(|slowed| {
        ApiError::slowed(
            StatusCode::TOO_MANY_REQUESTS,
            "too many wrong invite codes from this address; try again later",
            slowed.0,
        )
    })?;
    let Code { code } = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("the request's arguments: {e}"),
        )
    })?;
    let lifetime = served.session_lifetime;
    let opened = served
        .pool
        .write(move |store| {
            access::open_session(store, &code, lifetime).map_err(ApiError::from_core)
        })
        .await;
    let opened = match opened {
        Ok(s) => s,
        Err(e) => {
            if e.status == StatusCode::UNAUTHORIZED {
                served.limiter.code_failed(from);
            }
            return Err(e);
        }
    };
    let cookie = format!(
        "{COOKIE}={}; Path=/; Max-Age={}; Secure; HttpOnly; SameSite=Strict",
        opened.token,
        lifetime.as_secs()
    );
    let mut response = axum::Json(serde_json::json!({
        "reviewer": opened.reviewer,
        "expires_at": opened.expires_at,
    }))
    .into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|_| ApiError::internal())?,
    );
    Ok(response)
}

/// `GET` of the bundle's files; anything else is a JSON 404 (curator commands included).
/// The body is read (and dropped) so the connection stays usable for the client's next request.
async fn fallback(
    State(served): State<Arc<Served>>,
    method: Method,
    uri: Uri,
    _body: Result<Bytes, BytesRejection>,
) -> Response {
    if method == Method::GET || method == Method::HEAD {
        if let Some((kind, bytes)) = served.bundle.get(uri.path()) {
            return ([(header::CONTENT_TYPE, kind)], bytes.to_vec()).into_response();
        }
        if served.bundle.is_empty() && !uri.path().starts_with("/api/") {
            return ApiError::new(
                StatusCode::NOT_FOUND,
                "the UI bundle is not built on this machine (scripts/setup builds ui/dist)",
            )
            .into_response();
        }
    }
    ApiError::new(StatusCode::NOT_FOUND, format!("nothing at {}", uri.path())).into_response()
}
