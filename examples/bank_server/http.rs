//! The HTTP layer: routes, handlers, JSON bodies in and out, errors as
//! `{"error": "..."}`, and one log line per request.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, Path, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, extract::DefaultBodyLimit};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::App;
use super::bank::{Account, Audit, BankError, Receipt, Store};

// ANCHOR: router
/// The API, exactly: five routes, JSON everywhere, bodies capped at
/// `config.body_limit` bytes.
pub fn router<S: Store>(app: Arc<App<S>>) -> Router {
    let limit = app.config.body_limit;
    Router::new()
        .route("/accounts", post(open::<S>))
        .route("/accounts/{id}", get(account::<S>))
        .route("/transfer", post(transfer::<S>))
        .route("/audit", get(audit::<S>))
        .route("/shutdown", post(shutdown::<S>))
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn(log_request))
        .with_state(app)
}
// ANCHOR_END: router

/// `POST /accounts` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenRequest {
    /// Opening balance.
    pub balance: WholeNumber,
}

/// `POST /transfer` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// Paying account id.
    pub from: u64,
    /// Receiving account id.
    pub to: u64,
    /// Amount.
    pub amount: WholeNumber,
}

/// A JSON number that must be whole, read wider than `i64` so that a number
/// too large for a balance gets a message about the limit (400) rather than
/// a parse error. Integers too large even for `i128` saturate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WholeNumber(pub i128);

impl<'de> Deserialize<'de> for WholeNumber {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = WholeNumber;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a whole number")
            }
            fn visit_i64<E>(self, v: i64) -> Result<WholeNumber, E> {
                Ok(WholeNumber(v.into()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<WholeNumber, E> {
                Ok(WholeNumber(v.into()))
            }
            fn visit_i128<E>(self, v: i128) -> Result<WholeNumber, E> {
                Ok(WholeNumber(v))
            }
            fn visit_u128<E>(self, v: u128) -> Result<WholeNumber, E> {
                Ok(WholeNumber(i128::try_from(v).unwrap_or(i128::MAX)))
            }
            // serde_json reads integers past u64 as floats.
            #[allow(clippy::cast_possible_truncation)] // saturating, and whole
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<WholeNumber, E> {
                if v.is_finite() && v.fract() == 0.0 {
                    Ok(WholeNumber(v as i128))
                } else {
                    Err(E::invalid_value(serde::de::Unexpected::Float(v), &self))
                }
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// A request body type, with an example to quote in error messages.
pub trait Example {
    /// A valid body.
    const EXAMPLE: &'static str;
}

impl Example for OpenRequest {
    const EXAMPLE: &'static str = r#"{"balance": 1000}"#;
}

impl Example for TransferRequest {
    const EXAMPLE: &'static str = r#"{"from": 1, "to": 2, "amount": 10}"#;
}

// ANCHOR: handlers
async fn open<S: Store>(
    State(app): State<Arc<App<S>>>,
    JsonBody(req): JsonBody<OpenRequest>,
) -> Result<(StatusCode, Json<Account>), ApiError> {
    let account = app.bank.open(req.balance.0).await?;
    Ok((StatusCode::CREATED, Json(account)))
}

async fn account<S: Store>(
    State(app): State<Arc<App<S>>>,
    id: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<Json<Account>, ApiError> {
    let id = id
        .ok()
        .and_then(|Path(id)| id.parse::<u64>().ok())
        .ok_or_else(|| {
            ApiError::bad_request("account ids are positive integers, as in GET /accounts/1")
        })?;
    Ok(Json(app.bank.account(id).await?))
}

async fn transfer<S: Store>(
    State(app): State<Arc<App<S>>>,
    JsonBody(req): JsonBody<TransferRequest>,
) -> Result<Json<Receipt>, ApiError> {
    // At most `max_transfers` at once; a bounded queue waits; past it, 503.
    let _slot = app.transfer_slot().await?;
    Ok(Json(
        app.bank.transfer(req.from, req.to, req.amount.0).await?,
    ))
}

async fn audit<S: Store>(State(app): State<Arc<App<S>>>) -> Result<Json<Audit>, ApiError> {
    Ok(Json(app.bank.audit().await?))
}
// ANCHOR_END: handlers

// ANCHOR: shutdown
async fn shutdown<S: Store>(
    State(app): State<Arc<App<S>>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    if !peer.ip().is_loopback() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "POST /shutdown is accepted only from this machine (loopback), not from {peer}"
            ),
        ));
    }
    tracing::info!(%peer, "shutdown requested over HTTP");
    app.shutdown.set(); // the Event that `serve` waits on
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({"status": "shutting down"})),
    ))
}
// ANCHOR_END: shutdown

async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!(
            "no route {method} {}: the API is POST /accounts, GET /accounts/{{id}}, \
             POST /transfer, GET /audit, POST /shutdown",
            uri.path()
        ),
    )
}

async fn wrong_method(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "{} does not take {method}: the API is POST /accounts, GET /accounts/{{id}}, \
             POST /transfer, GET /audit, POST /shutdown",
            uri.path()
        ),
    )
}

// ANCHOR: errors
/// An error answer: a status and `{"error": "a sentence a person can act on"}`.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    retry_after: Option<u32>,
}

impl ApiError {
    /// An error with this status and message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400 Bad Request.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 503 with `Retry-After: seconds`.
    pub fn busy(message: impl Into<String>, seconds: u32) -> ApiError {
        ApiError {
            retry_after: Some(seconds),
            ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message)
        }
    }
}

impl From<BankError> for ApiError {
    fn from(e: BankError) -> ApiError {
        let status = match e {
            BankError::NoSuchAccount(_) => StatusCode::NOT_FOUND,
            BankError::InsufficientFunds { .. } => StatusCode::CONFLICT,
            BankError::NegativeBalance(_)
            | BankError::NonPositiveAmount(_)
            | BankError::SameAccount(_)
            | BankError::BalanceOverflow { .. }
            | BankError::TotalOverflow { .. } => StatusCode::BAD_REQUEST,
            BankError::AuditFailed { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, e.to_string())
    }
}

/// The message of an error response, for the log line.
#[derive(Debug, Clone)]
struct LoggedError(String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(serde_json::json!({ "error": self.message }));
        let mut response = (self.status, body).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response.extensions_mut().insert(LoggedError(self.message));
        response
    }
}
// ANCHOR_END: errors

// ANCHOR: body
/// A JSON request body, like `axum::Json`, but every failure is an
/// [`ApiError`]: 413 past the size limit, 400 for anything malformed
/// (quoting a valid body). Any `Content-Type` is accepted, so a bare
/// `curl -d '{"balance": 5}'` works.
pub struct JsonBody<T>(pub T);

impl<T, S> FromRequest<Arc<App<S>>> for JsonBody<T>
where
    T: DeserializeOwned + Example,
    S: Store,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, app: &Arc<App<S>>) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, app).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "the request body is larger than {} bytes: send a small JSON object such as {}",
                        app.config.body_limit,
                        T::EXAMPLE
                    ),
                )
            } else {
                ApiError::bad_request(format!("could not read the request body: {}", e.body_text()))
            }
        })?;
        serde_json::from_slice(&bytes).map(JsonBody).map_err(|e| {
            ApiError::bad_request(format!(
                "malformed JSON body ({e}): send a JSON object such as {}",
                T::EXAMPLE
            ))
        })
    }
}
// ANCHOR_END: body

// ANCHOR: log
/// One line per request: at debug when it succeeded, at warn (with the
/// error message) when it did not.
async fn log_request(req: Request, next: Next) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let start = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16();
    let micros = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
    if let Some(LoggedError(error)) = response.extensions().get::<LoggedError>() {
        tracing::warn!(%method, path, status, micros, error, "request failed");
    } else {
        tracing::debug!(%method, path, status, micros, "request");
    }
    response
}
// ANCHOR_END: log
