//! What the server answers: JSON values, and every error as JSON of the window's `AppError`
//! shape (`message`, `details`, `busy`) with a fitting status, so the UI's `call()` reads both
//! faces' errors alike. A message is the core error's words, never a backtrace or a panic's text.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use verdikt_core::access::AccessError;
use verdikt_core::review_api::ReviewApiError;
use verdikt_core::store::is_busy;

#[derive(Debug, Serialize)]
pub struct ApiError {
    #[serde(skip)]
    pub status: StatusCode,
    pub message: String,
    pub details: Vec<String>,
    /// Another program holds the project's write lock: nothing was stored; send it again.
    pub busy: bool,
    /// Seconds before trying again (`Retry-After`).
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            details: Vec::new(),
            busy: false,
            retry_after: None,
        }
    }

    pub fn internal() -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the server failed to answer this request; nothing was stored",
        )
    }

    pub fn busy() -> ApiError {
        ApiError {
            busy: true,
            retry_after: Some(1),
            ..ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "The project is busy: another program is writing to it. Retrying; nothing is lost.",
            )
        }
    }

    pub fn slowed(status: StatusCode, message: &str, wait: std::time::Duration) -> ApiError {
        ApiError {
            retry_after: Some(wait.as_secs().max(1)),
            ..ApiError::new(status, message)
        }
    }

    /// A core error in words, with the status it deserves.
    pub fn from_core<E: std::error::Error + 'static>(e: E) -> ApiError {
        if is_busy(&e) {
            return ApiError::busy();
        }
        let any: &(dyn std::error::Error + 'static) = &e;
        let status = if let Some(e) = any.downcast_ref::<ReviewApiError>() {
            match e {
                ReviewApiError::OutsideLanguages { .. } => StatusCode::FORBIDDEN,
                ReviewApiError::NoSample(_) => StatusCode::NOT_FOUND,
                _ => StatusCode::BAD_REQUEST,
            }
        } else if let Some(e) = any.downcast_ref::<AccessError>() {
            match e {
                AccessError::BadInvite | AccessError::NoSession => StatusCode::UNAUTHORIZED,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            }
        } else {
            StatusCode::BAD_REQUEST
        };
        ApiError::new(status, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry = self.retry_after;
        let mut response = (self.status, axum::Json(&self)).into_response();
        if let Some(secs) = retry {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
