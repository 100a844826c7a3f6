//! HTTP errors as OGC API exceptions: `{"code": …, "description": …}` with the right status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Seconds a client told 503 should wait before retrying.
const RETRY_AFTER_SECONDS: &str = "5";

/// An error a request ends in.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Short code (InvalidParameterValue, NotFound …).
    pub code: &'static str,
    /// What was wrong and what to do, in words.
    pub description: String,
    /// Seconds to send as `Retry-After` (503 always has one).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// 400: a parameter the endpoint does not take, or a value it cannot use.
    pub fn bad(description: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "InvalidParameterValue",
            description: description.into(),
            retry_after: None,
        }
    }

    /// 404.
    pub fn not_found(description: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code: "NotFound",
            description: description.into(),
            retry_after: None,
        }
    }

    /// 503: the server is saturated; the answer says when to retry (`Retry-After`).
    pub fn busy(description: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "ServiceUnavailable",
            description: description.into(),
            retry_after: None,
        }
    }

    /// 405: the resource is there, but not for this method.
    pub fn method_not_allowed(description: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::METHOD_NOT_ALLOWED,
            code: "MethodNotAllowed",
            description: description.into(),
            retry_after: None,
        }
    }

    /// 413: a request body larger than the endpoint takes.
    pub fn payload_too_large(description: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "PayloadTooLarge",
            description: description.into(),
            retry_after: None,
        }
    }

    /// 401: no valid token; the answer carries the `WWW-Authenticate` challenge.
    pub fn unauthorized(description: impl Into<String>) -> ApiError {
        ApiError::with(StatusCode::UNAUTHORIZED, "Unauthorized", description)
    }

    /// 403: a valid token whose account's role is too low.
    pub fn forbidden(description: impl Into<String>) -> ApiError {
        ApiError::with(StatusCode::FORBIDDEN, "Forbidden", description)
    }

    /// 429: an address shut out after refused tokens, told when to try again.
    pub fn too_many_requests(description: impl Into<String>, seconds: u64) -> ApiError {
        ApiError {
            retry_after: Some(seconds),
            ..ApiError::with(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                description,
            )
        }
    }

    /// 412: an `If-Match` that no longer matches.
    pub fn precondition_failed(description: impl Into<String>) -> ApiError {
        ApiError::with(
            StatusCode::PRECONDITION_FAILED,
            "PreconditionFailed",
            description,
        )
    }

    /// 422: a well-formed write that a rule refuses (the description names the rule).
    pub fn unprocessable(description: impl Into<String>) -> ApiError {
        ApiError::with(
            StatusCode::UNPROCESSABLE_ENTITY,
            "UnprocessableEntity",
            description,
        )
    }

    /// 409: the store is in a state that refuses the write (read-only, a name taken).
    pub fn conflict(description: impl Into<String>) -> ApiError {
        ApiError::with(StatusCode::CONFLICT, "Conflict", description)
    }

    /// 415: a body of a kind the endpoint does not take.
    pub fn unsupported_media(description: impl Into<String>) -> ApiError {
        ApiError::with(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            description,
        )
    }

    fn with(status: StatusCode, code: &'static str, description: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            description: description.into(),
            retry_after: None,
        }
    }

    /// 500: something that is our fault, logged.
    pub fn internal(description: impl Into<String>) -> ApiError {
        let description = description.into();
        tracing::error!("{description}");
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "ServerError",
            description,
            retry_after: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"code": self.code, "description": self.description});
        let mut res = (
            self.status,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static(RETRY_AFTER_SECONDS),
            );
        }
        if let Some(s) = self.retry_after {
            res.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, s.into());
        }
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"landwatch\""),
            );
        }
        res
    }
}

/// The result type of handlers.
pub type ApiResult<T> = Result<T, ApiError>;
