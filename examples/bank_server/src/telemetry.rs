//! Logs: `tracing` to stderr through a non-blocking writer, filtered by
//! `RUST_LOG` (`EnvFilter`), as text or JSON; one span per request; one
//! line per response at a level set by its status; panics logged, not
//! printed.

use std::io::{self, IsTerminal};
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::StatusCode;
use axum::response::Response;
use tracing::Span;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::prelude::*;

use crate::http::ErrorMessage;

/// How log lines look (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event (in colour on a terminal, unless
    /// `NO_COLOR` is set).
    #[default]
    Text,
    /// One JSON object per line, with the request's span fields.
    Json,
}

// ANCHOR: init
/// Installs the global subscriber: stderr through a non-blocking writer
/// (a log pipe nobody reads drops lines rather than stall a request),
/// filtered by `RUST_LOG` (default `info`). A `RUST_LOG` that does not parse
/// is reported as the first line, and `info` is used. Keep the returned
/// guard until the program ends: dropping it flushes the last lines.
pub fn init(format: LogFormat) -> WorkerGuard {
    let (writer, guard) = tracing_appender::non_blocking(io::stderr());
    let filter = || EnvFilter::builder().with_default_directive(LevelFilter::INFO.into());
    let spec = std::env::var("RUST_LOG").unwrap_or_default();
    let (filter, bad) = match filter().parse(&spec) {
        Ok(parsed) => (parsed, None),
        Err(e) => (filter().parse_lossy(""), Some(e)),
    };
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        LogFormat::Text => {
            let colour = io::stderr().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
            registry
                .with(
                    tracing_subscriber::fmt::layer()
                        .with_writer(writer)
                        .with_ansi(colour),
                )
                .init();
        }
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(writer),
            )
            .init(),
    }
    if let Some(e) = bad {
        tracing::warn!("RUST_LOG={spec:?} is not a valid filter ({e}); logging at info instead");
    }
    guard
}
// ANCHOR_END: init

// ANCHOR: span
/// The span of one request: its id (`x-request-id`), the client's address,
/// the method and the URI. Every event logged while handling the request,
/// a panic included, is inside it.
pub fn request_span(request: &Request<Body>) -> Span {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| tracing::field::display(*peer));
    tracing::info_span!(
        "request",
        id,
        client,
        method = %request.method(),
        uri = %request.uri(),
    )
}

/// One line per response: successes and the client's mistakes (4xx, a
/// normal outcome: 409 is "insufficient funds") at DEBUG, a full transfer
/// queue (503, the server shedding load as designed) at WARN, other server
/// errors at ERROR. An error answer's message is logged with it.
pub fn log_response(response: &Response<Body>, latency: Duration, _span: &Span) {
    let status = response.status();
    let code = status.as_u16();
    let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
    let error = response
        .extensions()
        .get::<ErrorMessage>()
        .map(|ErrorMessage(m)| m.as_str());
    if status == StatusCode::SERVICE_UNAVAILABLE {
        tracing::warn!(status = code, micros, error, "shed load");
    } else if status.is_server_error() {
        tracing::error!(status = code, micros, error, "request failed");
    } else if status.is_client_error() {
        tracing::debug!(status = code, micros, error, "request refused");
    } else {
        tracing::debug!(status = code, micros, "request");
    }
}
// ANCHOR_END: span

// ANCHOR: panics
/// Logs panics through `tracing` (at ERROR, inside the span of the request
/// that panicked, with the location, and the backtrace if `RUST_BACKTRACE`
/// asks for one) instead of printing them on stderr.
pub fn log_panics() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("(a panic without a message)");
        let location = info.location().map(ToString::to_string);
        let backtrace = std::backtrace::Backtrace::capture();
        if backtrace.status() == std::backtrace::BacktraceStatus::Captured {
            tracing::error!(location, %backtrace, "panicked: {message}");
        } else {
            tracing::error!(location, "panicked: {message}");
        }
    }));
}
// ANCHOR_END: panics
