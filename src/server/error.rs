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
}

impl ApiError {
    /// 400: a parameter the endpoint does not take, or a value it cannot use.
    pub fn bad(description: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "InvalidParameterValue",
            description: description.into(),
        }
    }

    /// 404.
    pub fn not_found(description: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code: "NotFound",
            description: description.into(),
        }
    }

    /// 503: the server is saturated; the answer says when to retry (`Retry-After`).
    pub fn busy(description: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "ServiceUnavailable",
            description: description.into(),
        }
    }

    /// 405: the resource is there, but not for this method.
    pub fn method_not_allowed(description: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::METHOD_NOT_ALLOWED,
            code: "MethodNotAllowed",
            description: description.into(),
        }
    }

    /// 413: a request body larger than the endpoint takes.
    pub fn payload_too_large(description: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "PayloadTooLarge",
            description: description.into(),
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
        res
    }
}

/// The result type of handlers.
pub type ApiResult<T> = Result<T, ApiError>;
