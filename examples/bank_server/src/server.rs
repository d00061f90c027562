//! The server's own accept loop: hyper's HTTP/1 connection with
//! hyper-util's tokio timer (so the header-read timeout applies, also to idle
//! keep-alive connections), a warden [`Semaphore`](warden::Semaphore)
//! capping the open connections, and hyper-util's graceful shutdown of the
//! open connections when the shutdown [`Event`](warden::Event) is set.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::bank::{Audit, Settlement, Store};
use crate::{App, http};

/// How the server ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// The final audit.
    pub audit: Audit,
    /// What the settlement task settled.
    pub settlement: Settlement,
    /// `false` if requests were still in flight when `shutdown_grace` ran out.
    pub graceful: bool,
}

// ANCHOR: serve
/// Serves `app` on `listener` until `app.shutdown` is set, then shuts down
/// gracefully: stops accepting (the listener is closed), closes the idle
/// connections, lets the requests in flight finish (for at most
/// `shutdown_grace`), settles what is pending, and returns the final audit.
pub async fn serve<S: Store>(app: Arc<App<S>>, listener: TcpListener) -> io::Result<Summary> {
    let addr = listener.local_addr()?;
    tracing::info!("listening on http://{addr}");
    let settlement = tokio::spawn({
        let app = app.clone();
        async move { app.bank.settle().await }
    });

    let router = http::router(app.clone());
    let mut connection = http1::Builder::new();
    connection
        .timer(TokioTimer::new())
        .header_read_timeout(app.config.header_timeout);
    let open = GracefulShutdown::new();
    loop {
        // A connection permit first: at the cap, stop accepting (the kernel
        // queues new connections) until an open one closes.
        let permit = tokio::select! {
            () = app.shutdown.wait() => break,
            permit = app.connections.clone().acquire_owned() => permit,
        };
        let (stream, peer) = tokio::select! {
            () = app.shutdown.wait() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(&e).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            // What axum's `ConnectInfo` extractor (and the request span) read.
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request)
        });
        // `open.shutdown()` will ask hyper to finish the request in flight
        // and close; an idle connection (kept alive, or one that never sent
        // a byte) closes at once.
        let served = open.watch(connection.serve_connection(TokioIo::new(stream), service));
        let app = app.clone();
        tokio::spawn(async move {
            let _counted = app.connection_opened();
            if let Err(e) = served.await {
                // A client that went away, or one that sent no request
                // headers within `header_timeout` (idle or too slow).
                tracing::debug!(%peer, "connection closed: {e}");
            }
            drop(permit);
        });
    }
    drop(listener); // new connections are refused from here on
    tracing::info!("shutting down: not accepting; finishing the requests in flight");
    let graceful = tokio::time::timeout(app.config.shutdown_grace, open.shutdown())
        .await
        .is_ok();
    if !graceful {
        tracing::warn!(
            grace = ?app.config.shutdown_grace,
            "requests still in flight after the grace period; stopping anyway"
        );
    }

    app.bank.close().await; // settle the last, partial batch
    let settlement = settlement.await.map_err(io::Error::other)?;
    let audit = app.bank.audit().await.map_err(io::Error::other)?;
    tracing::info!(
        accounts = audit.accounts,
        total = audit.total,
        transfers = audit.transfers,
        settled = settlement.settled,
        "stopped"
    );
    Ok(Summary {
        audit,
        settlement,
        graceful,
    })
}
// ANCHOR_END: serve

/// An `accept` that failed. A connection that was reset before we took it
/// is the client's business; anything else (out of file descriptors, say)
/// is logged, and the loop pauses a moment rather than spin on it.
async fn accept_failed(e: &io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!("accept failed: {e}; retrying in 100 ms");
    tokio::time::sleep(Duration::from_millis(100)).await;
}
