//! One call's dialog state (RFC 3261 §12) and the in-dialog requests it
//! builds (ACK for 2xx §13.2.2.4, BYE §15, CANCEL §9.1, re-INVITE answers §14).

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use super::header::{NameAddr, Via};
use super::message::{Message, Method, StartLine};
use super::uri::Uri;

/// Opaque handle of one call (one dialog, or one dialog attempt).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallRef(pub u64);

impl std::fmt::Display for CallRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "call-{}", self.0)
    }
}

/// Signalling transport (RFC 3261 §18; TLS §26.2, framed like TCP).
///
/// The core never sees a certificate: TLS is the driver's business, the core
/// only writes `TLS` into Via, `transport=tls` into Contact and treats the
/// stream as reliable (no retransmissions, §17.1.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Transport {
    #[default]
    Udp,
    Tcp,
    Tls,
}

impl Transport {
    pub fn via_token(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
        }
    }

    /// The `transport=` URI parameter's value (RFC 3261 §19.1.1).
    pub fn param(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
        }
    }

    /// A `transport=` value we speak (case-insensitive).
    pub fn from_param(value: &str) -> Option<Transport> {
        match value.to_ascii_lowercase().as_str() {
            "udp" => Some(Transport::Udp),
            "tcp" => Some(Transport::Tcp),
            "tls" => Some(Transport::Tls),
            _ => None,
        }
    }

    /// A stream transport: no retransmission timers, Content-Length framing.
    pub fn reliable(self) -> bool {
        self != Transport::Udp
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Uac,
    Uas,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallState {
    /// UAC: INVITE sent, nothing back yet. UAS: INVITE received, not answered.
    Initial,
    /// A provisional response was sent or received.
    Early,
    /// UAS: 2xx sent, waiting for the ACK.
    Answered,
    Confirmed,
    /// BYE sent, waiting for its response.
    Ending,
}

/// A 2xx the UAS core retransmits until ACKed (RFC 3261 §13.3.1.4).
#[derive(Debug, Clone)]
pub struct PendingOk {
    pub bytes: Vec<u8>,
    pub cseq: u32,
    pub next: Option<Instant>,
    pub interval: Duration,
    pub give_up: Instant,
}

/// Everything the endpoint knows about one call.
#[derive(Debug)]
pub struct Call {
    pub role: Role,
    pub state: CallState,
    pub call_id: String,
    /// Our From (UAC) or To (UAS), with our tag.
    pub local: NameAddr,
    /// Their To (UAC) or From (UAS); tag once known.
    pub remote: NameAddr,
    /// Remote target (§12.1): their Contact, else the Request-URI.
    pub remote_target: Uri,
    /// Route set (§12.1.1 / §12.1.2); pre-loaded outbound proxy for a UAC.
    pub route_set: Vec<NameAddr>,
    pub outbound_proxy: Option<NameAddr>,
    pub local_seq: u32,
    pub remote_seq: Option<u32>,
    /// Where requests go when the route set or target is not an IP literal.
    pub peer: SocketAddr,
    pub transport: Transport,
    pub contact: NameAddr,
    /// UAC: the INVITE in flight (for CANCEL and digest retries).
    pub invite: Option<Message>,
    /// Challenges already answered: bit 0 for 401, bit 1 for 407 (once each, §22.2).
    pub auth_attempts: u8,
    pub cancel_wanted: bool,
    pub cancel_sent: bool,
    pub cancel_deadline: Option<Instant>,
    /// UAC: ACK for the 2xx, re-sent on a retransmitted 2xx (§13.2.2.4).
    pub ack: Option<Vec<u8>>,
    /// Our current SDP and its `o=` version bump count.
    pub local_sdp: Vec<u8>,
    /// UAS: the received INVITE and its server transaction key.
    pub uas_invite: Option<Message>,
    pub pending_ok: Option<PendingOk>,
    /// The remote offer/answer last seen.
    pub remote_sdp: Vec<u8>,
    /// RFC 4028: the running session timer, if one was negotiated.
    pub timer: Option<super::session_timer::SessionTimer>,
    /// UAS: the timer our 2xx to the INVITE will carry (§9).
    pub timer_answer: Option<super::session_timer::UasTimer>,
    /// UAC: the `Session-Expires` our INVITE asks for (raised by a 422, §7.4).
    pub timer_asked: u32,
    /// The peer's `Allow` lists UPDATE: refreshes are UPDATEs (RFC 4028 §7.4).
    pub peer_update: bool,
}

/// `IP:port` of a SIP URI whose host is an IP literal (no DNS in the core).
pub fn uri_addr(uri: &Uri) -> Option<SocketAddr> {
    let s = uri.as_sip()?;
    let host = s.host.trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = host.parse().ok()?;
    Some(SocketAddr::new(
        ip,
        s.port.unwrap_or(if s.secure { 5061 } else { 5060 }),
    ))
}

impl Call {
    /// The earliest instant this call needs a look: the CANCEL's 64·T1
    /// (RFC 3261 §9.1), our 2xx's retransmission or give-up (§13.3.1.4),
    /// the session timer of a confirmed call (RFC 4028 §10).
    pub fn next_deadline(&self) -> Option<Instant> {
        let ok = self.pending_ok.as_ref();
        let timer = self
            .timer
            .filter(|_| self.state == CallState::Confirmed)
            .map(|t| t.deadline());
        [
            self.cancel_deadline,
            ok.and_then(|p| p.next),
            ok.map(|p| p.give_up),
            timer,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// A call in its initial state; callers set the role-specific fields.
    pub fn new(
        role: Role,
        call_id: String,
        local: NameAddr,
        remote: NameAddr,
        remote_target: Uri,
        (peer, transport): (SocketAddr, Transport),
        contact: NameAddr,
    ) -> Call {
        Call {
            role,
            state: CallState::Initial,
            call_id,
            local,
            remote,
            remote_target,
            route_set: Vec::new(),
            outbound_proxy: None,
            local_seq: 1,
            remote_seq: None,
            peer,
            transport,
            contact,
            invite: None,
            auth_attempts: 0,
            cancel_wanted: false,
            cancel_sent: false,
            cancel_deadline: None,
            ack: None,
            local_sdp: Vec::new(),
            uas_invite: None,
            pending_ok: None,
            remote_sdp: Vec::new(),
            timer: None,
            timer_answer: None,
            timer_asked: 0,
            peer_update: false,
        }
    }

    /// The next hop for an in-dialog request (§12.2.1.1, loose routing §16.12).
    pub fn next_hop(&self) -> SocketAddr {
        self.route_set
            .first()
            .or(self.outbound_proxy.as_ref())
            .and_then(|r| uri_addr(&r.uri))
            .or_else(|| uri_addr(&self.remote_target))
            .unwrap_or(self.peer)
    }

    fn routes(&self) -> Vec<NameAddr> {
        if self.route_set.is_empty() {
            self.outbound_proxy.iter().cloned().collect()
        } else {
            self.route_set.clone()
        }
    }

    /// A request within the dialog (RFC 3261 §12.2.1.1).
    pub fn request(&self, method: Method, seq: u32, via: Via) -> Message {
        Message {
            start: StartLine::Request {
                method: method.clone(),
                uri: self.remote_target.clone(),
            },
            via: vec![via],
            from: self.local.clone(),
            to: self.remote.clone(),
            call_id: self.call_id.clone(),
            cseq: super::header::CSeq {
                seq,
                method: method.as_str().to_string(),
            },
            max_forwards: Some(70),
            // Target refresh requests carry our Contact (RFC 3311 §5.1 for UPDATE).
            contact: if matches!(method, Method::Invite | Method::Update) {
                vec![self.contact.clone()]
            } else {
                Vec::new()
            },
            record_route: Vec::new(),
            route: self.routes(),
            content_type: None,
            require: Vec::new(),
            proxy_require: Vec::new(),
            other: Vec::new(),
            body: Vec::new(),
        }
    }

    /// CANCEL for the INVITE in flight (RFC 3261 §9.1): same Request-URI,
    /// Call-ID, From, To, CSeq number, Route and the same single Via (branch).
    pub fn cancel_request(&self) -> Option<Message> {
        let inv = self.invite.as_ref()?;
        let mut c = inv.clone();
        if let StartLine::Request { method, .. } = &mut c.start {
            *method = Method::Cancel;
        }
        c.via.truncate(1);
        c.cseq.method = "CANCEL".into();
        c.body.clear();
        c.content_type = None;
        c.contact.clear();
        c.other.retain(|(n, _)| n == "User-Agent");
        Some(c)
    }
}

/// Our SDP re-offered in answer to a re-INVITE (RFC 3264 §8, RFC 3261 §14.2):
/// the `o=` version incremented and the direction mirrored (sendonly ↔
/// recvonly, inactive stays inactive, anything else sendrecv).
pub fn reoffer(ours: &[u8], theirs: &[u8]) -> Vec<u8> {
    let theirs = String::from_utf8_lossy(theirs);
    let dir = theirs
        .lines()
        .map(str::trim)
        .find_map(|l| match l {
            "a=sendonly" => Some("a=recvonly"),
            "a=recvonly" => Some("a=sendonly"),
            "a=inactive" => Some("a=inactive"),
            "a=sendrecv" => Some("a=sendrecv"),
            _ => None,
        })
        .unwrap_or("a=sendrecv");
    let ours = String::from_utf8_lossy(ours);
    let mut out = String::with_capacity(ours.len() + 16);
    let mut placed = false;
    for line in ours.lines() {
        let l = line.trim_end();
        if let Some(rest) = l.strip_prefix("o=") {
            let mut f: Vec<String> = rest.split(' ').map(str::to_string).collect();
            if let Some(v) = f.get_mut(2) {
                if let Ok(n) = v.parse::<u64>() {
                    *v = (n + 1).to_string();
                }
            }
            out.push_str(&format!("o={}\r\n", f.join(" ")));
        } else if matches!(l, "a=sendrecv" | "a=sendonly" | "a=recvonly" | "a=inactive") {
            if !placed {
                out.push_str(dir);
                out.push_str("\r\n");
                placed = true;
            }
        } else if !l.is_empty() {
            out.push_str(l);
            out.push_str("\r\n");
        }
    }
    if !placed {
        out.push_str(dir);
        out.push_str("\r\n");
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reoffer_mirrors_and_bumps() {
        let ours = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=sendrecv\r\n";
        let r = String::from_utf8(reoffer(ours, b"v=0\r\na=sendonly\r\n")).unwrap();
        assert!(r.contains("o=- 1 2 IN IP4"), "{r}");
        assert!(r.contains("a=recvonly") && !r.contains("a=sendrecv"), "{r}");
        let r2 = String::from_utf8(reoffer(r.as_bytes(), b"a=inactive\r\n")).unwrap();
        assert!(
            r2.contains("o=- 1 3 IN IP4") && r2.contains("a=inactive"),
            "{r2}"
        );
    }
}
