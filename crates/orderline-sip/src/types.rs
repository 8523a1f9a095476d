//! The endpoint's public vocabulary: configuration, calls, events, octets.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

pub use super::dialog::{CallRef, Transport};

/// Endpoint settings.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// Where the driver listens (UDP and TCP).
    pub listen: SocketAddr,
    /// Address written into Via and Contact (DESIGN `[sip] public_addr`).
    pub public_addr: IpAddr,
    /// RFC 3261 T1; T2 = 8·T1, T4 = 10·T1.
    pub t1: Duration,
    pub user_agent: String,
    /// Seed of the RNG for Call-IDs, tags and branches.
    pub seed: u64,
    /// Calls (UAC + UAS) above which new INVITEs get 503 (RFC 3261 §21.5.4).
    pub max_calls: usize,
    /// Who may place calls here and how fast any source may send requests
    /// ([`super::admission`], issue #14). Default: open, unlimited.
    pub admission: super::admission::AdmissionConfig,
    /// RFC 4028 session timers: the interval we ask for and the least we take.
    pub session_timer: super::session_timer::SessionTimerConfig,
    /// The port of the driver's TLS listener, if it runs one: Via and
    /// Contact of requests sent over TLS name it (RFC 3261 §18.1.1, §26.2),
    /// so the peer's in-dialog requests come back over TLS.
    pub tls_port: Option<u16>,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 5060)),
            public_addr: IpAddr::from([127, 0, 0, 1]),
            t1: Duration::from_millis(500),
            user_agent: "orderline".into(),
            seed: 0,
            max_calls: 1000,
            admission: Default::default(),
            session_timer: Default::default(),
            tls_port: None,
        }
    }
}

/// Digest credentials for 401/407 (RFC 3261 §22).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// An outbound call to place (`Debug` shows the SDP offer by size: it may
/// carry our SRTP key).
#[derive(Clone)]
pub struct OutboundCall {
    /// `sip:user@ip:port` (IP literal; resolve names before).
    pub request_uri: String,
    pub from_user: String,
    pub to_user: String,
    pub sdp_offer: Vec<u8>,
    pub credentials: Option<Credentials>,
    /// `sip:ip:port` of an outbound proxy, sent as a pre-loaded Route (§8.1.2).
    pub outbound_proxy: Option<String>,
    pub transport: Transport,
}

/// An inbound INVITE, as the application sees it (`Debug` shows the SDP
/// offer by size: it may carry the caller's SRTP key).
#[derive(Clone, PartialEq, Eq)]
pub struct IncomingCall {
    pub request_uri: String,
    pub from: String,
    pub to: String,
    pub call_id: String,
    /// The SDP offer (empty for a late-offer INVITE).
    pub sdp: Vec<u8>,
    pub source: SocketAddr,
}

/// What happens to a call, in order, per call. `Debug` shows SDP bodies by
/// length only: they may carry SRTP keys (RFC 4568 `a=crypto`), and events
/// reach debug logs.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SipEvent {
    /// UAS: a new inbound call (answer, ring or reject it).
    Incoming(Box<IncomingCall>),
    /// UAC: 1xx, with SDP for early media (183).
    Progress { status: u16, sdp: Option<Vec<u8>> },
    /// UAC: 2xx with the remote SDP. UAS: the ACK arrived, with the offer.
    Answered { status: u16, sdp: Vec<u8> },
    /// The call attempt ended without a dialog: final status (408 on Timer B,
    /// 487 after CANCEL).
    Failed { status: u16, reason: String },
    /// A confirmed call ended by BYE.
    Ended { by_remote: bool },
    /// The remote re-INVITEd (hold/unhold): its new SDP.
    MediaUpdate { sdp: Vec<u8> },
    /// A key press sent as in-dialog SIP INFO (`application/dtmf-relay` or
    /// `application/dtmf`); already answered 200.
    Dtmf(super::info::InfoDigit),
    /// RFC 4028 §10: the session timer ran out (our refresh failed with
    /// `status`, 408 when unanswered; 0 when the peer, the refresher, sent
    /// none). Our BYE is on its way; `Ended { by_remote: false }` follows.
    SessionExpired { status: u16 },
    /// The final answer to an OPTIONS from [`super::endpoint::Endpoint::ping`].
    Pong { status: u16 },
}

/// An SDP body in `Debug` output: its size, never its text.
struct Body<'a>(&'a [u8]);

impl std::fmt::Debug for Body<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<{} bytes of SDP>", self.0.len())
    }
}

impl std::fmt::Debug for IncomingCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IncomingCall")
            .field("request_uri", &self.request_uri)
            .field("from", &self.from)
            .field("to", &self.to)
            .field("call_id", &self.call_id)
            .field("sdp", &Body(&self.sdp))
            .field("source", &self.source)
            .finish()
    }
}

impl std::fmt::Debug for OutboundCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboundCall")
            .field("request_uri", &self.request_uri)
            .field("from_user", &self.from_user)
            .field("to_user", &self.to_user)
            .field("sdp_offer", &Body(&self.sdp_offer))
            .field("credentials", &self.credentials)
            .field("outbound_proxy", &self.outbound_proxy)
            .field("transport", &self.transport)
            .finish()
    }
}

impl std::fmt::Debug for SipEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SipEvent::Incoming(inc) => f.debug_tuple("Incoming").field(inc).finish(),
            SipEvent::Progress { status, sdp } => f
                .debug_struct("Progress")
                .field("status", status)
                .field("sdp", &sdp.as_deref().map(Body))
                .finish(),
            SipEvent::Answered { status, sdp } => f
                .debug_struct("Answered")
                .field("status", status)
                .field("sdp", &Body(sdp))
                .finish(),
            SipEvent::Failed { status, reason } => f
                .debug_struct("Failed")
                .field("status", status)
                .field("reason", reason)
                .finish(),
            SipEvent::Ended { by_remote } => f
                .debug_struct("Ended")
                .field("by_remote", by_remote)
                .finish(),
            SipEvent::MediaUpdate { sdp } => f
                .debug_struct("MediaUpdate")
                .field("sdp", &Body(sdp))
                .finish(),
            SipEvent::Dtmf(d) => f.debug_tuple("Dtmf").field(d).finish(),
            SipEvent::SessionExpired { status } => f
                .debug_struct("SessionExpired")
                .field("status", status)
                .finish(),
            SipEvent::Pong { status } => f.debug_struct("Pong").field("status", status).finish(),
        }
    }
}

/// Octets in.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// One UDP datagram, or one message framed off a TCP stream.
    Datagram {
        from: SocketAddr,
        transport: Transport,
        bytes: &'a [u8],
    },
}

/// Octets out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub dest: SocketAddr,
    pub transport: Transport,
    pub bytes: Vec<u8>,
}

/// RFC 3261 §21 reason phrases for the statuses we send.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Trying",
        180 => "Ringing",
        183 => "Session Progress",
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        600 => "Busy Everywhere",
        603 => "Decline",
        _ => "Unknown",
    }
}

/// Seconds a caller refused with 503 is asked to wait (RFC 3261 §21.5.4):
/// the endpoint's call limit or the application's full queue of new calls
/// is overload, not a fault of the call.
const RETRY_AFTER_SECS: u32 = 5;

pub(crate) fn retry_after() -> (String, String) {
    ("Retry-After".into(), RETRY_AFTER_SECS.to_string())
}
