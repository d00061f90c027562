//! The server's own accept loop: hyper's HTTP/1 connection with
//! hyper-util's tokio timer (so the header-read timeout applies, also to idle
//! keep-alive connections), a warden [`Semaphore`](warden::Semaphore)
//! capping the open connections, and hyper-util's graceful shutdown of the
//! open connections when the shutdown [`Event`](warden::Event) is set.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
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
        let (stream, heard) = Heard::new(stream);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            // What axum's `ConnectInfo` extractor (and the request span) read.
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request)
        });
        let served = open.watch(connection.serve_connection(TokioIo::new(stream), service));
        let app = app.clone();
        tokio::spawn(async move {
            let _counted = app.connection_opened();
            let mut served = std::pin::pin!(served);
            let result = tokio::select! {
                result = &mut served => result,
                () = app.shutdown.wait() => {
                    // `open.shutdown()` asks hyper to finish the request in
                    // flight and close; an idle keep-alive connection closes
                    // at once. One that never sent a byte would wait for its
                    // first request: close it now (drop it) instead.
                    if heard.load(Ordering::Acquire) {
                        served.await
                    } else {
                        Ok(())
                    }
                }
            };
            if let Err(e) = result {
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

/// A connection's stream that notes whether the client has sent anything.
struct Heard {
    stream: TcpStream,
    heard: Arc<AtomicBool>,
}

impl Heard {
    fn new(stream: TcpStream) -> (Heard, Arc<AtomicBool>) {
        let heard = Arc::new(AtomicBool::new(false));
        let stream = Heard {
            stream,
            heard: heard.clone(),
        };
        (stream, heard)
    }
}

impl AsyncRead for Heard {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let read = Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.heard.store(true, Ordering::Release);
        }
        read
    }
}

impl AsyncWrite for Heard {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
