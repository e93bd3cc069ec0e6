//! A TCP listener whose connections can be killed from a handler: the next write fails and
//! the socket closes with `SO_LINGER` 0, so the client sees a real TCP reset.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// Handed to every request (as connect info) so a fault can reset its connection.
#[derive(Debug, Clone)]
pub struct KillSwitch(Arc<AtomicBool>);

impl KillSwitch {
    /// Resets the connection instead of answering.
    pub fn kill(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Wraps a [`TcpListener`].
#[derive(Debug)]
pub struct ResettableListener(pub TcpListener);

impl Listener for ResettableListener {
    type Io = ResettableStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((stream, addr)) => {
                    // Best effort: small JSON answers should not wait for Nagle.
                    let _ = stream.set_nodelay(true);
                    let kill = KillSwitch(Arc::new(AtomicBool::new(false)));
                    return (
                        ResettableStream {
                            inner: stream,
                            kill,
                        },
                        addr,
                    );
                }
                // Too many open files and the like: back off briefly, as axum's own listener does.
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

impl Connected<IncomingStream<'_, ResettableListener>> for KillSwitch {
    fn connect_info(stream: IncomingStream<'_, ResettableListener>) -> Self {
        stream.io().kill.clone()
    }
}

/// A connection that fails with a reset once its switch is thrown.
#[derive(Debug)]
pub struct ResettableStream {
    inner: TcpStream,
    kill: KillSwitch,
}

impl ResettableStream {
    fn reset(&self) -> io::Error {
        // Linger 0 turns the close into an RST instead of a FIN.
        let _ = self.inner.set_zero_linger();
        io::Error::new(
            io::ErrorKind::ConnectionReset,
            "connection reset by fault injection",
        )
    }

    fn killed(&self) -> bool {
        self.kill.0.load(Ordering::SeqCst)
    }
}

impl AsyncRead for ResettableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.killed() {
            return Poll::Ready(Err(self.reset()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResettableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.killed() {
            return Poll::Ready(Err(self.reset()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.killed() {
            return Poll::Ready(Err(self.reset()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
