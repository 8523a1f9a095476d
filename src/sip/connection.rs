//! One SIP stream connection, TCP or TLS (RFC 3261 §18.3, §26.2): opened
//! (connect, or adopt an accepted socket, then the TLS handshake if any),
//! framed by Content-Length through the core's [`StreamFramer`], written
//! from a bounded queue. Ends on error, EOF or a framing error; the driver
//! then opens a fresh one for the next message to that peer.

use std::net::SocketAddr;
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, OwnedSemaphorePermit};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use orderline_sip::stream::{Frame, StreamFramer};
use orderline_sip::Transport;

/// Connect and handshake within this, or give up (the transaction's own
/// timer then reports the failure).
const OPEN_TIMEOUT: Duration = Duration::from_secs(5);

/// A message framed off a stream: who sent it, over what, and its octets.
pub(super) type Inbound = (SocketAddr, Transport, Vec<u8>);

/// How a connection comes to be.
pub(super) enum Open {
    /// A TCP connection the listener accepted.
    Accepted(TcpStream),
    /// A TCP connection the TLS listener accepted: handshake as the server.
    AcceptedTls(TcpStream, TlsAcceptor),
    /// Connect out over TCP.
    Connect,
    /// Connect out over TCP, then handshake as the client, verifying the
    /// peer's certificate for `name`.
    ConnectTls(TlsConnector, ServerName<'static>),
}

impl Open {
    fn transport(&self) -> Transport {
        match self {
            Open::Accepted(_) | Open::Connect => Transport::Tcp,
            Open::AcceptedTls(..) | Open::ConnectTls(..) => Transport::Tls,
        }
    }
}

/// Run one connection to `peer` until it ends.
pub(super) async fn run(
    open: Open,
    peer: SocketAddr,
    out: mpsc::Receiver<Vec<u8>>,
    inbound: mpsc::Sender<Inbound>,
    _permit: OwnedSemaphorePermit,
) {
    let transport = open.transport();
    let opened = tokio::time::timeout(OPEN_TIMEOUT, async {
        match open {
            Open::Accepted(s) => Ok(Stream::Tcp(s)),
            Open::Connect => TcpStream::connect(peer).await.map(Stream::Tcp),
            Open::AcceptedTls(s, acceptor) => acceptor
                .accept(s)
                .await
                .map(|s| Stream::Tls(Box::new(s.into()))),
            Open::ConnectTls(connector, name) => {
                let tcp = TcpStream::connect(peer).await?;
                connector
                    .connect(name, tcp)
                    .await
                    .map(|s| Stream::Tls(Box::new(s.into())))
            }
        }
    })
    .await;
    let stream = match opened {
        Ok(Ok(s)) => s,
        // A peer we called that fails the handshake (its certificate does
        // not verify) is worth a warning; scanners on the listener are not.
        Ok(Err(e)) if transport == Transport::Tls => {
            tracing::warn!(%peer, error = %e, "TLS connection failed");
            return;
        }
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "TCP connection failed");
            return;
        }
        Err(_) => {
            tracing::debug!(%peer, ?transport, "connection timed out");
            return;
        }
    };
    match stream {
        Stream::Tcp(s) => serve(s, peer, transport, out, inbound).await,
        Stream::Tls(s) => serve(*s, peer, transport, out, inbound).await,
    }
}

enum Stream {
    Tcp(TcpStream),
    Tls(Box<tokio_rustls::TlsStream<TcpStream>>),
}

/// Read frames in, write queued messages out; double-CRLF keep-alives get a
/// CRLF back (RFC 5626 §4.4.1).
async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    peer: SocketAddr,
    transport: Transport,
    mut out: mpsc::Receiver<Vec<u8>>,
    inbound: mpsc::Sender<Inbound>,
) {
    let (mut rd, mut wr) = tokio::io::split(stream);
    let (pong_tx, mut pong_rx) = mpsc::channel::<()>(1);
    let writer = async {
        loop {
            let bytes: &[u8] = tokio::select! {
                b = out.recv() => match b {
                    Some(b) => { if write(&mut wr, &b).await.is_err() { break; } continue; }
                    None => break,
                },
                Some(()) = pong_rx.recv() => b"\r\n",
            };
            if write(&mut wr, bytes).await.is_err() {
                break;
            }
        }
    };
    let reader = async {
        let mut framer = StreamFramer::new();
        let mut chunk = [0u8; 4096];
        loop {
            match rd.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => framer.push(&chunk[..n]),
            }
            loop {
                match framer.next_frame() {
                    Ok(Some(Frame::Message(msg))) => {
                        if inbound.send((peer, transport, msg)).await.is_err() {
                            return;
                        }
                    }
                    Ok(Some(Frame::Ping)) => {
                        let _ = pong_tx.try_send(());
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tracing::debug!(%peer, error = %e, "stream framing error; closing");
                        return;
                    }
                }
            }
        }
    };
    tokio::select! {
        _ = writer => {}
        _ = reader => {}
    }
}

/// Write all of `bytes` and flush: TLS holds records back until flushed.
async fn write<W: AsyncWrite + Unpin>(wr: &mut W, bytes: &[u8]) -> std::io::Result<()> {
    wr.write_all(bytes).await?;
    wr.flush().await
}
