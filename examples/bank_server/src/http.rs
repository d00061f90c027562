//! The HTTP layer: routes, handlers, JSON bodies in and out, errors as
//! `{"error": "..."}`, and the tower-http layers around them.
//!
//! | status | when                                                                  |
//! |--------|-----------------------------------------------------------------------|
//! | 400    | malformed JSON, a missing or unknown field, a number that is not a whole `i64`, a bad id in the path, amount ≤ 0, a transfer to the same account, a negative opening balance, a sum past `i64::MAX`; no `Host` header |
//! | 403    | `POST /shutdown` from elsewhere than loopback; a `Host` that is not a loopback name; a cross-site browser request |
//! | 404    | unknown account or route                                              |
//! | 405    | a known route with the wrong method                                   |
//! | 408    | the body did not arrive within `body_timeout`                         |
//! | 409    | insufficient funds                                                    |
//! | 413    | a body larger than `body_limit`                                       |
//! | 415    | a `POST` whose `Content-Type` is not `application/json`               |
//! | 500    | a bug: a handler panicked, or the audit found the books do not add up |
//! | 503    | the transfer queue is full; `Retry-After: 1`                          |
//!
//! The replicated mode (feature `postgres`) adds: 503 with `Retry-After: 1`
//! when the database or an account's lock cannot be had (nothing was done);
//! 422 for an `Idempotency-Key` reused for another transfer, 400 for a
//! malformed one; and, when a write's answer was lost and the database
//! could not be asked whether it happened, 503 (a transfer with a key: its
//! retry is safe) or 500 (otherwise: check before retrying).
//!
//! hyper answers some malformed requests itself, before any of this runs,
//! with an empty body, and closes the connection: 400 (a request line or
//! header it cannot parse), 414 (a URI too long), 431 (too many or too
//! large headers).

use std::any::Any;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection};
use axum::extract::{ConnectInfo, FromRequest, Path, Request, State};
use axum::http::uri::Authority;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::csrf::{CsrfLayer, ProtectionError};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::{RequestBodyDeadlineLayer, TimeoutError};
use tower_http::trace::TraceLayer;

use crate::bank::{Account, Audit, BankError, Receipt, Store};
use crate::{App, Config, telemetry};

/// The routes, for the messages that list them.
#[cfg(not(feature = "debug-locks"))]
const API: &str = "the API is POST /accounts, GET /accounts/{id}, POST /transfer, GET /audit, \
                   POST /shutdown";
#[cfg(feature = "debug-locks")]
const API: &str = "the API is POST /accounts, GET /accounts/{id}, POST /transfer, GET /audit, \
                   POST /shutdown, GET /debug/locks";

/// The header that makes a transfer safe to retry (replicated mode).
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Valid bodies, for the messages about invalid ones.
const BODIES: &str = r#"POST /accounts takes {"balance": 1000}, POST /transfer takes {"from": 1, "to": 2, "amount": 10}"#;

// ANCHOR: router
/// The API: five routes, JSON everywhere (and, with the feature
/// `debug-locks`, warden's hang report as text), with every layer of
/// [`with_layers`] around them.
pub fn router<S: Store>(app: Arc<App<S>>) -> Router {
    let config = app.config.clone();
    let routes = Router::new()
        .route("/accounts", post(open::<S>))
        .route("/accounts/{id}", get(account::<S>))
        .route("/transfer", post(transfer::<S>))
        .route("/audit", get(audit::<S>))
        .route("/shutdown", post(shutdown::<S>));
    #[cfg(feature = "debug-locks")]
    let routes = routes.route("/debug/locks", get(debug_locks));
    let routes = routes
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .with_state(app);
    with_layers(routes, &config)
}
// ANCHOR_END: router

// ANCHOR: layers
/// Wraps `routes` in the service's layers. A request meets them from the
/// top down; its response passes them from the bottom up.
pub fn with_layers(routes: Router, config: &Config) -> Router {
    routes.layer(
        ServiceBuilder::new()
            // `x-request-id`: the client's if it sent one, else a new UUID.
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
            // One span per request (id, method, URI, client), and one log
            // line per response at a level set by its status.
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(telemetry::request_span)
                    .on_request(())
                    .on_response(telemetry::log_response)
                    .on_eos(())
                    .on_failure(()),
            )
            // The request id goes back in the response.
            .layer(PropagateRequestIdLayer::x_request_id())
            // Every error answer is JSON, whichever layer made it.
            .layer(middleware::from_fn_with_state(config.clone(), json_errors))
            // A panicking handler answers 500 instead of dropping the
            // connection.
            .layer(CatchPanicLayer::custom(panicked))
            // `Host` must name this machine; a POST must be JSON.
            .layer(middleware::from_fn(screen))
            // The body must arrive within `body_timeout` (else 408) ...
            .layer(RequestBodyDeadlineLayer::new(config.body_timeout))
            // ... and be at most `body_limit` bytes (else 413).
            .layer(RequestBodyLimitLayer::new(config.body_limit))
            // Browsers' cross-site requests are refused (403).
            .layer(CsrfLayer::new().with_rejection_response(cross_site)),
    )
}
// ANCHOR_END: layers

// ANCHOR: bodies
/// `POST /accounts` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenRequest {
    /// Opening balance.
    pub balance: i64,
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
    pub amount: i64,
}

/// axum's [`Json`](axum::Json) extractor, whose every rejection is an
/// [`ApiError`] (see `From<JsonRejection>`).
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct JsonBody<T>(pub T);
// ANCHOR_END: bodies

// ANCHOR: handlers
async fn open<S: Store>(
    State(app): State<Arc<App<S>>>,
    JsonBody(req): JsonBody<OpenRequest>,
) -> Result<(StatusCode, axum::Json<Account>), ApiError> {
    let account = app.bank.open(req.balance).await?;
    Ok((StatusCode::CREATED, axum::Json(account)))
}

async fn account<S: Store>(
    State(app): State<Arc<App<S>>>,
    id: Result<Path<String>, PathRejection>,
) -> Result<axum::Json<Account>, ApiError> {
    let id = id
        .ok()
        .and_then(|Path(id)| id.parse::<u64>().ok())
        .ok_or_else(|| {
            ApiError::bad_request("account ids are positive integers, as in GET /accounts/1")
        })?;
    Ok(axum::Json(app.bank.account(id).await?))
}

async fn transfer<S: Store>(
    State(app): State<Arc<App<S>>>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<TransferRequest>,
) -> Result<axum::Json<Receipt>, ApiError> {
    // The body is in (the extractor read it): from here on no timeout can
    // answer 408, so a client never retries a transfer that happened.
    // At most `max_transfers` at once; a bounded queue waits; past it, 503.
    let _slot = app.transfer_slot().await?;
    // Honoured by the replicated bank (a repeated key moves nothing),
    // ignored by the in-memory ones.
    let key = headers.get(IDEMPOTENCY_KEY).map(HeaderValue::as_bytes);
    Ok(axum::Json(
        app.bank
            .transfer_keyed(key, req.from, req.to, req.amount)
            .await?,
    ))
}

async fn audit<S: Store>(State(app): State<Arc<App<S>>>) -> Result<axum::Json<Audit>, ApiError> {
    Ok(axum::Json(app.bank.audit().await?))
}
// ANCHOR_END: handlers

// ANCHOR: shutdown
async fn shutdown<S: Store>(
    State(app): State<Arc<App<S>>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Result<(StatusCode, axum::Json<serde_json::Value>), ApiError> {
    from_loopback(peer, "POST /shutdown")?;
    tracing::info!("shutdown requested over HTTP");
    app.shutdown.set(); // the Event that `serve` waits on
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(serde_json::json!({"status": "shutting down"})),
    ))
}
// ANCHOR_END: shutdown

/// 403 unless `peer` is this machine: for the routes that only its
/// operator may call.
fn from_loopback(peer: SocketAddr, route: &str) -> Result<(), ApiError> {
    if peer.ip().is_loopback() {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        format!("{route} is accepted only from this machine (loopback), not from {peer}"),
    ))
}

// ANCHOR: debug_locks
/// `GET /debug/locks` (feature `debug-locks`): warden's hang report as
/// text — every named lock and semaphore held or waited on, who holds it,
/// since when, acquired at which line, and who waits. It reads warden's
/// records, never the locks, so it answers even when they are stuck.
#[cfg(feature = "debug-locks")]
async fn debug_locks(ConnectInfo(peer): ConnectInfo<SocketAddr>) -> Result<String, ApiError> {
    from_loopback(peer, "GET /debug/locks")?;
    Ok(warden::debug::dump().to_string())
}
// ANCHOR_END: debug_locks

async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("no route {method} {}: {API}", uri.path()),
    )
}

async fn wrong_method(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{} does not take {method}: {API}", uri.path()),
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

/// The message of an error answer, kept in the response's extensions for
/// the log line ([`telemetry::log_response`]).
#[derive(Debug, Clone)]
pub struct ErrorMessage(pub String);

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
            // Nothing was done (or, with a key, a retry cannot do it twice).
            #[cfg(feature = "postgres")]
            BankError::Unavailable(_)
            | BankError::OutcomeUnknown {
                retry_safe: true, ..
            } => {
                return ApiError::busy(e.to_string(), 1);
            }
            // Maybe done: a blind retry could move the money twice.
            #[cfg(feature = "postgres")]
            BankError::OutcomeUnknown {
                retry_safe: false, ..
            } => StatusCode::INTERNAL_SERVER_ERROR,
            #[cfg(feature = "postgres")]
            BankError::KeyReused { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            #[cfg(feature = "postgres")]
            BankError::BadKey => StatusCode::BAD_REQUEST,
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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = axum::Json(serde_json::json!({ "error": self.message }));
        let mut response = (self.status, body).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response.extensions_mut().insert(ErrorMessage(self.message));
        response
    }
}
// ANCHOR_END: errors

// ANCHOR: rejection
impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        // axum's own message, without its "Failed to ..." preamble.
        let detail = std::error::Error::source(&rejection)
            .and_then(std::error::Error::source)
            .map_or_else(|| rejection.body_text(), ToString::to_string);
        match rejection {
            JsonRejection::JsonSyntaxError(_) => {
                ApiError::bad_request(format!("malformed JSON body ({detail}): {BODIES}"))
            }
            JsonRejection::JsonDataError(_) => ApiError::bad_request(format!(
                "the JSON body does not fit ({detail}): ids, amounts and balances are whole \
                 numbers up to {}; {BODIES}",
                i64::MAX
            )),
            JsonRejection::MissingJsonContentType(_) => not_json(),
            JsonRejection::BytesRejection(e) => body_unread(&e),
            other => ApiError::new(other.status(), other.body_text()),
        }
    }
}

/// Reading the body failed: too slow (408), too large (413), or cut off.
/// The 408 and 413 messages are worded by [`json_errors`], which knows the
/// limits.
fn body_unread(e: &BytesRejection) -> ApiError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(error) = source {
        if error.is::<TimeoutError>() {
            return ApiError::new(StatusCode::REQUEST_TIMEOUT, "the body came too late");
        }
        source = error.source();
    }
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "the body is too large");
    }
    ApiError::bad_request(format!(
        "could not read the request body: {}",
        e.body_text()
    ))
}
// ANCHOR_END: rejection

fn not_json() -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "a POST must carry Content-Type: application/json (curl --json does)",
    )
}

// ANCHOR: screen
/// Refuses what no client of a loopback service sends: a `Host` that is not
/// a loopback name (how a DNS-rebinding page would reach us), and a `POST`
/// that is not JSON (how any page could send one without a CORS preflight).
async fn screen(request: Request, next: Next) -> Result<Response, ApiError> {
    let host = match request.uri().authority() {
        Some(authority) => Some(authority.clone()),
        None => match request.headers().get(header::HOST) {
            None => None,
            Some(value) => Some(
                value
                    .to_str()
                    .ok()
                    .and_then(|v| v.parse::<Authority>().ok())
                    .ok_or_else(|| ApiError::bad_request("the Host header is not a host name"))?,
            ),
        },
    };
    let Some(host) = host else {
        return Err(ApiError::bad_request(
            "a request needs a Host header: 127.0.0.1, localhost or [::1], with the port",
        ));
    };
    if !is_loopback_name(host.host()) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "this server answers only to loopback names (127.0.0.1, localhost, [::1]), \
                 not to Host {host}"
            ),
        ));
    }
    if request.method() == Method::POST && !is_json(request.headers()) {
        return Err(not_json());
    }
    Ok(next.run(request).await)
}

/// `127.0.0.1` (or any `127.x.y.z`), `[::1]`, or `localhost`.
fn is_loopback_name(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// `Content-Type: application/json`, with or without parameters.
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}
// ANCHOR_END: screen

// ANCHOR: json_errors
/// Makes every error answer `{"error": ...}`: the layers below that answer
/// by themselves (the body limit's 413, say) send an empty body; this gives
/// it a message. 408 and 413 are worded here, for all their sources, since
/// this layer knows the limits.
async fn json_errors(State(config): State<Config>, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE => format!(
            "the request body is larger than {} bytes: send a small JSON object ({BODIES})",
            config.body_limit
        ),
        StatusCode::REQUEST_TIMEOUT => format!(
            "the request body did not arrive within {:?} of its headers: send it at once; \
             nothing was done",
            config.body_timeout
        ),
        _ if !status.is_client_error() && !status.is_server_error() => return response,
        _ if response.extensions().get::<ErrorMessage>().is_some() => return response,
        _ => format!(
            "{}: {API}",
            status.canonical_reason().unwrap_or("error").to_lowercase()
        ),
    };
    let (mut parts, _) = response.into_parts();
    let json = ApiError::new(status, message).into_response();
    let (json_parts, body) = json.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.extend(json_parts.headers);
    parts.extensions.extend(json_parts.extensions);
    Response::from_parts(parts, body)
}
// ANCHOR_END: json_errors

// ANCHOR: panicked
/// What a panicking handler answers (tower-http's `CatchPanicLayer` calls
/// this). The panic itself is logged by the panic hook that
/// [`telemetry::log_panics`] installs, inside the request's span.
#[allow(clippy::needless_pass_by_value)] // the signature CatchPanicLayer calls
fn panicked(_panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "the server hit a bug handling this request; it is logged under this response's \
         x-request-id. Check GET /audit before retrying",
    )
    .into_response()
}
// ANCHOR_END: panicked

#[allow(clippy::needless_pass_by_value)] // the signature CsrfLayer calls
fn cross_site(error: ProtectionError) -> Response<Body> {
    ApiError::new(
        StatusCode::FORBIDDEN,
        format!("refused a cross-site request from a browser ({error}): call this API directly"),
    )
    .into_response()
}
