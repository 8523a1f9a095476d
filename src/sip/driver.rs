//! The tokio driver: owns the UDP socket, the TCP and TLS listeners and
//! the stream connections ([`super::connection`]), feeds the sans-IO
//! [`Endpoint`] and sleeps until its next deadline (mini-redis shape: one
//! task, bounded channels, a drain on shutdown). The application's handles
//! on it are in [`super::client`]. Every channel is bounded; when one is full the driver drops
//! (events) or answers 503 (new calls) instead of growing.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use rand::SeedableRng;

use rustls::pki_types::ServerName;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, oneshot, Semaphore};

use orderline_sip::endpoint::{
    CallRef, Endpoint, EndpointConfig, IncomingCall, Input, OutboundCall, SipEvent, Transport,
};
use orderline_sip::error::SipError;
use orderline_sip::message::MAX_MESSAGE;

use super::client::{Command, Refused, RegistrarLink, SipClient, SipCommand, SipHandle};
use super::connection::{self, Inbound, Open};
use super::loggable::Loggable;
use super::tls::SipTls;

/// Per-call event queue depth.
const EVENT_QUEUE: usize = 32;
/// Inbound calls waiting for the application: about a quarter second at
/// 2,000 setups a second (issue #16), so a worker busy for a moment does
/// not turn a burst into 503s; beyond it a call gets 503 with Retry-After.
const INCOMING_QUEUE: usize = 512;
const COMMAND_QUEUE: usize = 256;
/// Messages framed off TCP and TLS connections waiting for the driver.
const TCP_IN_QUEUE: usize = 256;
const TCP_OUT_QUEUE: usize = 64;
const MAX_TCP_CONNECTIONS: usize = 256;

impl SipHandle {
    /// Bind UDP and TCP on `cfg.listen` (port 0 picks one, the same for both)
    /// and spawn the driver task. TLS goes out only, verified against the
    /// Mozilla roots ([`SipHandle::bind_tls`] for `[sip.tls]`).
    pub async fn bind(cfg: EndpointConfig) -> Result<SipHandle, SipError> {
        let tls = SipTls::from_config(None).map_err(std::io::Error::other)?;
        SipHandle::bind_tls(cfg, tls).await
    }

    /// [`SipHandle::bind`], with `tls`'s trust and identity, and its TLS
    /// listener when it has one (its bound port goes into the endpoint's
    /// `tls_port`, for Via and Contact).
    pub async fn bind_tls(mut cfg: EndpointConfig, tls: SipTls) -> Result<SipHandle, SipError> {
        let udp = UdpSocket::bind(cfg.listen).await?;
        let local = udp.local_addr()?;
        let tcp = TcpListener::bind(local).await?;
        cfg.listen = local;
        let tls_listener = match (tls.listen, &tls.acceptor) {
            (Some(at), Some(_)) => {
                let l = TcpListener::bind(at).await?;
                cfg.tls_port = Some(l.local_addr()?.port());
                Some(l)
            }
            _ => {
                cfg.tls_port = None;
                None
            }
        };
        let cfg_tls_port = cfg.tls_port;
        let (cmd_tx, cmd_rx) = mpsc::channel(COMMAND_QUEUE);
        let (inc_tx, inc_rx) = mpsc::channel(INCOMING_QUEUE);
        let refused = Arc::new(Refused::default());
        let driver = Driver {
            refused: refused.clone(),
            ep: Endpoint::new(cfg),
            udp,
            tcp,
            tls_listener,
            tls,
            tls_names: HashMap::new(),
            calls: HashMap::new(),
            incoming: inc_tx,
            conns: HashMap::new(),
            tcp_permits: Arc::new(Semaphore::new(MAX_TCP_CONNECTIONS)),
            registrar: None,
            pings: HashMap::new(),
            rng: rand::rngs::StdRng::from_entropy(),
            agents_seen: None,
        };
        tokio::spawn(driver.run(cmd_rx));
        Ok(SipHandle {
            client: SipClient {
                tx: cmd_tx,
                local_addr: local,
                tls_port: cfg_tls_port,
                refused,
            },
            incoming: inc_rx,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.client.local_addr
    }

    /// The TLS listener's port, if one runs.
    pub fn tls_port(&self) -> Option<u16> {
        self.client.tls_port
    }

    /// A cloneable command sender for other tasks.
    pub fn client(&self) -> SipClient {
        self.client.clone()
    }

    pub async fn invite(
        &self,
        call: OutboundCall,
    ) -> Result<(CallRef, mpsc::Receiver<SipEvent>), SipError> {
        self.client.invite(call).await
    }

    pub async fn command(&self, cmd: SipCommand) -> Result<(), SipError> {
        self.client.command(cmd).await
    }

    /// The next inbound call (100 Trying already sent), with its event stream.
    pub async fn next_incoming(
        &mut self,
    ) -> Option<(CallRef, IncomingCall, mpsc::Receiver<SipEvent>)> {
        self.incoming.recv().await
    }

    pub async fn shutdown(&self) {
        self.client.shutdown().await
    }
}

struct Driver {
    ep: Endpoint,
    udp: UdpSocket,
    tcp: TcpListener,
    tls_listener: Option<TcpListener>,
    tls: SipTls,
    /// The name a TLS peer's certificate must carry, per address we send
    /// to: the host of the URI located there (absent: the address's IP).
    tls_names: HashMap<SocketAddr, ServerName<'static>>,
    calls: HashMap<CallRef, mpsc::Sender<SipEvent>>,
    incoming: mpsc::Sender<(CallRef, IncomingCall, mpsc::Receiver<SipEvent>)>,
    /// Open stream connections by transport and peer (TCP and TLS to one
    /// address are different connections).
    conns: HashMap<(Transport, SocketAddr), mpsc::Sender<Vec<u8>>>,
    tcp_permits: Arc<Semaphore>,
    registrar: Option<RegistrarLink>,
    /// OPTIONS pings waiting for their final answer.
    pings: HashMap<CallRef, oneshot::Sender<Result<u16, SipError>>>,
    /// Nonce salts for the registrar (the sans-IO core takes its randomness here).
    rng: rand::rngs::StdRng,
    /// The registrar's binding generation last handed to the endpoint's allow list.
    agents_seen: Option<u64>,
    refused: Arc<Refused>,
}

fn now() -> std::time::Instant {
    tokio::time::Instant::now().into_std()
}

impl Driver {
    async fn run(mut self, mut cmds: mpsc::Receiver<Command>) {
        let (tcp_in_tx, mut tcp_in) = mpsc::channel::<Inbound>(TCP_IN_QUEUE);
        let mut buf = vec![0u8; MAX_MESSAGE + 1];
        let mut stopping: Option<(tokio::time::Instant, oneshot::Sender<()>)> = None;
        loop {
            self.flush_outputs(&tcp_in_tx).await;
            if let Some((deadline, _)) = &stopping {
                if self.ep.call_count() == 0 || tokio::time::Instant::now() >= *deadline {
                    if let Some((_, done)) = stopping.take() {
                        let _ = done.send(());
                    }
                    return;
                }
            }
            let wake = self.ep.poll_timeout().map(tokio::time::Instant::from_std);
            let stop_at = stopping.as_ref().map(|(d, _)| *d);
            let sleep_to = match (wake, stop_at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            tokio::select! {
                r = self.udp.recv_from(&mut buf) => match r {
                    Ok((n, from)) => {
                        if n > MAX_MESSAGE {
                            tracing::debug!(%from, "oversized datagram dropped");
                            continue;
                        }
                        tracing::trace!(%from, message = %Loggable(&buf[..n]), "udp in");
                        self.refresh_agents();
                        self.ep.handle_input(now(), Input::Datagram { from, transport: Transport::Udp, bytes: &buf[..n] });
                    }
                    Err(e) => tracing::debug!(error = %e, "udp receive error"),
                },
                Some((from, transport, bytes)) = tcp_in.recv() => {
                    self.refresh_agents();
                    self.ep.handle_input(now(), Input::Datagram { from, transport, bytes: &bytes });
                }
                r = self.tcp.accept() => match r {
                    Ok((stream, peer)) => self.accept(Open::Accepted(stream), peer, &tcp_in_tx),
                    Err(e) => tracing::debug!(error = %e, "accept error"),
                },
                r = accept_opt(self.tls_listener.as_ref()) => match (r, &self.tls.acceptor) {
                    (Ok((stream, peer)), Some(acceptor)) => {
                        let open = Open::AcceptedTls(stream, acceptor.clone());
                        self.accept(open, peer, &tcp_in_tx);
                    }
                    (Ok(_), None) => {}
                    (Err(e), _) => tracing::debug!(error = %e, "TLS accept error"),
                },
                c = cmds.recv(), if stopping.is_none() => match c {
                    Some(Command::Invite(call, hop, reply)) => {
                        if call.transport == Transport::Tls {
                            let target = call.outbound_proxy.as_deref().unwrap_or(&call.request_uri);
                            self.note_tls_name(target, hop);
                        }
                        let r = self.ep.invite_via(now(), *call, hop).map(|id| {
                            let (tx, rx) = mpsc::channel(EVENT_QUEUE);
                            self.calls.insert(id, tx);
                            (id, rx)
                        });
                        let _ = reply.send(r);
                    }
                    Some(Command::Call(cmd, reply)) => {
                        let _ = reply.send(self.command(cmd));
                    }
                    Some(Command::Ping(uri, dest, transport, reply)) => {
                        if transport == Transport::Tls {
                            self.note_tls_name(&uri, Some(dest));
                        }
                        match self.ep.ping(now(), &uri, dest, transport) {
                            Ok(id) => { self.pings.insert(id, reply); }
                            Err(e) => { let _ = reply.send(Err(e)); }
                        }
                    }
                    Some(Command::Registrar(link, done)) => {
                        self.ep.accept_registrations();
                        self.registrar = Some(link);
                        let _ = done.send(());
                    }
                    Some(Command::Shutdown(done)) => {
                        let t = now();
                        for (id, _) in self.ep.calls() {
                            let _ = self.ep.bye(t, id);
                        }
                        let grace = (self.ep.config().t1 * 32).min(Duration::from_secs(10));
                        stopping = Some((tokio::time::Instant::now() + grace, done));
                    }
                    None => return,
                },
                _ = sleep_opt(sleep_to) => {
                    self.ep.handle_timeout(now());
                }
            }
        }
    }

    /// Registered agents' phones may place calls (issue #14): hand their
    /// sources to the endpoint's allow list whenever the bindings changed.
    fn refresh_agents(&mut self) {
        let Some(link) = &self.registrar else { return };
        let r = link.registrar.lock().unwrap_or_else(|p| p.into_inner());
        if self.agents_seen == Some(r.generation()) {
            return;
        }
        self.agents_seen = Some(r.generation());
        let (unix, t) = (link.unix_ms(), now());
        let agents = r
            .sources(unix)
            .into_iter()
            .map(|(ip, until)| (ip, t + Duration::from_millis(until.saturating_sub(unix))));
        self.ep.set_agent_sources(agents);
    }

    /// The certificate name to expect at `hop` (or at the URI's own
    /// address): the URI's host, when it is a name (RFC 5922 §7.2). An IP
    /// literal needs no entry: the address itself is the name.
    fn note_tls_name(&mut self, uri: &str, hop: Option<SocketAddr>) {
        let Some((host, dest)) = orderline_sip::Uri::parse(uri).ok().and_then(|u| {
            let sip = u.as_sip()?;
            let dest = hop.or_else(|| orderline_sip::dialog::uri_addr(&u))?;
            Some((sip.host.clone(), dest))
        }) else {
            return;
        };
        if let Some(name) = super::tls::server_name(&host) {
            self.tls_names.insert(dest, name);
        }
    }

    /// Adopt an inbound TCP or TLS connection (bounded by a semaphore);
    /// forget closed ones.
    fn accept(&mut self, open: Open, peer: SocketAddr, tcp_in: &mpsc::Sender<Inbound>) {
        self.conns.retain(|_, tx| !tx.is_closed());
        let transport = match open {
            Open::AcceptedTls(..) => Transport::Tls,
            _ => Transport::Tcp,
        };
        match self.tcp_permits.clone().try_acquire_owned() {
            Ok(permit) => {
                let (tx, rx) = mpsc::channel(TCP_OUT_QUEUE);
                self.conns.insert((transport, peer), tx);
                tokio::spawn(connection::run(open, peer, rx, tcp_in.clone(), permit));
            }
            Err(_) => tracing::warn!(%peer, "TCP connection limit reached; closing"),
        }
    }

    fn command(&mut self, cmd: SipCommand) -> Result<(), SipError> {
        let t = now();
        match cmd {
            SipCommand::Cancel(id) => self.ep.cancel(t, id),
            SipCommand::Bye(id) => self.ep.bye(t, id),
            SipCommand::Answer { call, sdp } => self.ep.answer(t, call, sdp),
            SipCommand::Ringing(id) => self.ep.ringing(t, id),
            SipCommand::Reject { call, status } => self.ep.reject(t, call, status),
        }
    }

    /// Send what the endpoint queued. UDP sends await writability: tokio's
    /// `try_send_to` reports WouldBlock until readiness has been observed once,
    /// which dropped the first INVITE of a fresh socket (recovered only by a
    /// Timer A retransmission, T1 later).
    async fn flush_outputs(&mut self, tcp_in: &mpsc::Sender<Inbound>) {
        let counts = self.ep.admission_counts();
        self.refused
            .rate_limited
            .store(counts.rate_limited, Relaxed);
        self.refused.forbidden.store(counts.forbidden, Relaxed);
        self.answer_registers();
        while let Some(t) = self.ep.poll_transmit() {
            tracing::trace!(dest = %t.dest, message = %Loggable(&t.bytes), "sip out");
            match t.transport {
                Transport::Udp => {
                    if let Err(e) = self.udp.send_to(&t.bytes, t.dest).await {
                        tracing::debug!(dest = %t.dest, error = %e, "udp send failed");
                    }
                }
                Transport::Tcp | Transport::Tls => {
                    self.send_stream(t.dest, t.transport, t.bytes, tcp_in)
                }
            }
        }
        while let Some((id, ev)) = self.ep.poll_event() {
            self.route_event(id, ev);
        }
    }

    /// REGISTERs go to the registrar; its answers go back to their sources.
    fn answer_registers(&mut self) {
        let Some(link) = self.registrar.clone() else {
            return;
        };
        let mut answered = false;
        while let Some(req) = self.ep.poll_register() {
            let reply = {
                let mut r = link.registrar.lock().unwrap_or_else(|p| p.into_inner());
                r.handle(
                    link.unix_ms(),
                    req.from,
                    req.transport,
                    &req.message,
                    &mut self.rng,
                )
            };
            tracing::debug!(from = %req.from, status = reply.status, "REGISTER answered");
            self.ep
                .reply(now(), &req, reply.status, reply.reason, reply.headers);
            answered = true;
        }
        if answered {
            link.changed.notify_one();
        }
    }

    /// Send over the open connection to `dest`, or open one (a TLS one
    /// verifying the name noted for `dest`, else its IP).
    fn send_stream(
        &mut self,
        dest: SocketAddr,
        transport: Transport,
        bytes: Vec<u8>,
        tcp_in: &mpsc::Sender<Inbound>,
    ) {
        let key = (transport, dest);
        if let Some(tx) = self.conns.get(&key).filter(|tx| !tx.is_closed()) {
            if tx.try_send(bytes).is_err() {
                tracing::warn!(%dest, "TCP send queue full; message dropped");
            }
            return;
        }
        let Ok(permit) = self.tcp_permits.clone().try_acquire_owned() else {
            tracing::warn!(%dest, "TCP connection limit reached; message dropped");
            return;
        };
        let open = match transport {
            Transport::Tls => {
                let name = self
                    .tls_names
                    .get(&dest)
                    .cloned()
                    .unwrap_or_else(|| ServerName::IpAddress(dest.ip().into()));
                Open::ConnectTls(self.tls.connector.clone(), name)
            }
            _ => Open::Connect,
        };
        let (tx, rx) = mpsc::channel(TCP_OUT_QUEUE);
        let _ = tx.try_send(bytes);
        self.conns.insert(key, tx);
        tokio::spawn(connection::run(open, dest, rx, tcp_in.clone(), permit));
    }

    fn route_event(&mut self, id: CallRef, ev: SipEvent) {
        if let SipEvent::Pong { status } = ev {
            if let Some(reply) = self.pings.remove(&id) {
                let _ = reply.send(Ok(status));
            }
            return;
        }
        if let SipEvent::Incoming(inc) = ev {
            let (tx, rx) = mpsc::channel(EVENT_QUEUE);
            match self.incoming.try_send((id, *inc, rx)) {
                Ok(()) => {
                    self.calls.insert(id, tx);
                }
                Err(_) => {
                    tracing::warn!(call = %id, "application not taking calls; 503");
                    let _ = self.ep.reject(now(), id, 503);
                }
            }
            return;
        }
        let last = matches!(ev, SipEvent::Failed { .. } | SipEvent::Ended { .. });
        if let Some(tx) = self.calls.get(&id) {
            match tx.try_send(ev) {
                Ok(()) => {}
                // The call's task has finished with it (e.g. the Ended after our own BYE).
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    tracing::debug!(call = %id, "event for a call nobody is watching")
                }
                Err(e) => {
                    tracing::warn!(call = %id, error = %e, "call event dropped: the call's queue is full")
                }
            }
        }
        if last {
            self.calls.remove(&id);
        }
    }
}

/// Accept on the TLS listener, or never when there is none.
async fn accept_opt(l: Option<&TcpListener>) -> std::io::Result<(TcpStream, SocketAddr)> {
    match l {
        Some(l) => l.accept().await,
        None => std::future::pending().await,
    }
}

async fn sleep_opt(at: Option<tokio::time::Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}
