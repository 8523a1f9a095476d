//! What the application holds of the SIP driver ([`super::driver`]): a
//! cloneable [`SipClient`] that sends it commands over a bounded channel,
//! and the [`SipHandle`] that also receives new inbound calls. Split from
//! the driver's loop so each file keeps one job (issue #16).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot, Notify};

use orderline_sip::endpoint::{CallRef, IncomingCall, OutboundCall, SipEvent, Transport};
use orderline_sip::error::SipError;
use orderline_sip::registrar::Registrar;

/// Commands on an existing call.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SipCommand {
    /// CANCEL a call we placed (BYE once confirmed).
    Cancel(CallRef),
    /// Hang up a confirmed call.
    Bye(CallRef),
    /// Answer an inbound call with our SDP.
    Answer { call: CallRef, sdp: Vec<u8> },
    /// 180 Ringing to an inbound call.
    Ringing(CallRef),
    /// Refuse an inbound call with a final status (≥ 300).
    Reject { call: CallRef, status: u16 },
}

pub(super) type InviteReply =
    oneshot::Sender<Result<(CallRef, mpsc::Receiver<SipEvent>), SipError>>;

/// The registrar the driver hands REGISTERs to, shared with whoever looks up
/// contacts; `changed` is notified after every REGISTER it answered (the
/// store mirrors the registrar's [`super::registrar::BindingChange`]s).
#[derive(Clone)]
pub struct RegistrarLink {
    pub registrar: Arc<Mutex<Registrar>>,
    pub changed: Arc<Notify>,
    /// The daemon's wall clock: bindings outlive the process, so their
    /// expiry is wall time (the registrar itself reads no clock).
    pub clock: crate::clock::Clock,
}

impl RegistrarLink {
    /// Now, as the registrar counts time: Unix milliseconds.
    pub fn unix_ms(&self) -> u64 {
        u64::try_from(self.clock.now_millis()).unwrap_or(0)
    }
}

pub(super) enum Command {
    Invite(Box<OutboundCall>, Option<SocketAddr>, InviteReply),
    Registrar(RegistrarLink, oneshot::Sender<()>),
    Ping(
        String,
        SocketAddr,
        Transport,
        oneshot::Sender<Result<u16, SipError>>,
    ),
    Call(SipCommand, oneshot::Sender<Result<(), SipError>>),
    Shutdown(oneshot::Sender<()>),
}

/// A cloneable sender of commands to the driver task.
#[derive(Clone)]
pub struct SipClient {
    pub(super) tx: mpsc::Sender<Command>,
    pub(super) local_addr: SocketAddr,
    pub(super) tls_port: Option<u16>,
    pub(super) refused: Arc<Refused>,
}

/// What the endpoint's admission rules refused, published by the driver
/// after every input for `/metrics` (atomics: read without asking the task).
#[derive(Debug, Default)]
pub(super) struct Refused {
    pub(super) rate_limited: AtomicU64,
    pub(super) forbidden: AtomicU64,
}

/// What the application holds: commands plus the stream of inbound calls.
pub struct SipHandle {
    pub(super) client: SipClient,
    pub(super) incoming: mpsc::Receiver<(CallRef, IncomingCall, mpsc::Receiver<SipEvent>)>,
}

impl SipClient {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Requests dropped for their source's rate and INVITEs refused (403)
    /// for their source, so far (issue #14).
    pub fn admission_counts(&self) -> orderline_sip::admission::AdmissionCounts {
        orderline_sip::admission::AdmissionCounts {
            rate_limited: self.refused.rate_limited.load(Relaxed),
            forbidden: self.refused.forbidden.load(Relaxed),
        }
    }

    /// Place a call; its events arrive on the returned bounded receiver.
    pub async fn invite(
        &self,
        call: OutboundCall,
    ) -> Result<(CallRef, mpsc::Receiver<SipEvent>), SipError> {
        self.invite_via(call, None).await
    }

    /// [`SipClient::invite`] to a hop located by DNS (RFC 3263).
    pub async fn invite_via(
        &self,
        call: OutboundCall,
        hop: Option<SocketAddr>,
    ) -> Result<(CallRef, mpsc::Receiver<SipEvent>), SipError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Command::Invite(Box::new(call), hop, tx))
            .await
            .map_err(|_| SipError::Stopped)?;
        rx.await.map_err(|_| SipError::Stopped)?
    }

    pub async fn command(&self, cmd: SipCommand) -> Result<(), SipError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Command::Call(cmd, tx))
            .await
            .map_err(|_| SipError::Stopped)?;
        rx.await.map_err(|_| SipError::Stopped)?
    }

    /// OPTIONS to `uri` at `dest` (trunk health): the final status, 408
    /// when nothing answered within the transaction's timeout.
    pub async fn ping(
        &self,
        uri: String,
        dest: SocketAddr,
        transport: Transport,
    ) -> Result<u16, SipError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Command::Ping(uri, dest, transport, tx))
            .await
            .map_err(|_| SipError::Stopped)?;
        rx.await.map_err(|_| SipError::Stopped)?
    }

    /// Answer REGISTER with `link`'s registrar from now on (405 before).
    pub async fn attach_registrar(&self, link: RegistrarLink) -> Result<(), SipError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Command::Registrar(link, tx))
            .await
            .map_err(|_| SipError::Stopped)?;
        rx.await.map_err(|_| SipError::Stopped)
    }

    /// BYE every confirmed call, CANCEL/reject pending ones, wait for them
    /// (bounded), then stop the driver.
    pub async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Command::Shutdown(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}
