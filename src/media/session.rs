//! The sockets of one call: an even RTP port and the RTCP port above it,
//! bound before the remote is known (our SDP needs the port), and the IO
//! the sans-IO `Leg` cannot do itself: sending its packets
//! and writing its recording. The tasks that drive legs (`task`, `bridge`)
//! sit above this file; nothing here knows about them (issue #9).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::UdpSocket;

use super::error::MediaError;
use super::ports::{PortAllocator, PortLease};

/// How many ports to try when some in the range are taken by others.
const BIND_ATTEMPTS: usize = 32;

/// Sockets bound for one call, before the remote is known.
#[derive(Debug)]
pub struct MediaSession {
    pub(super) rtp: UdpSocket,
    pub(super) rtcp: UdpSocket,
    lease: PortLease,
    /// Our SRTP master key, when the call offered or answered SDES.
    pub(super) srtp: Option<orderline_srtp::MasterKey>,
}

impl MediaSession {
    /// Bind an even RTP port and RTP+1 for RTCP (RFC 3550 §11) on `ip`.
    /// Ports taken by other programs are skipped (they return to the pool).
    pub async fn bind(ip: IpAddr, ports: &Arc<PortAllocator>) -> Result<Self, MediaError> {
        let mut last_err = None;
        for _ in 0..BIND_ATTEMPTS.min(ports.capacity().max(1)) {
            let lease = ports.acquire().ok_or(MediaError::NoPorts)?;
            let a = SocketAddr::new(ip, lease.rtp());
            let rtp = match UdpSocket::bind(a).await {
                Ok(s) => s,
                Err(e) => {
                    last_err = Some(MediaError::Bind { addr: a, source: e });
                    continue;
                }
            };
            let b = SocketAddr::new(ip, lease.rtcp());
            match UdpSocket::bind(b).await {
                Ok(rtcp) => {
                    return Ok(Self {
                        rtp,
                        rtcp,
                        lease,
                        srtp: None,
                    })
                }
                Err(e) => last_err = Some(MediaError::Bind { addr: b, source: e }),
            }
        }
        Err(last_err.unwrap_or(MediaError::NoPorts))
    }

    /// Throw away every datagram queued on the sockets. A predictive
    /// line's customer talks for up to 2 s before an agent takes them
    /// (issue #12); that stale audio, read in one burst by the bridge,
    /// would sit in the jitter buffer as lasting delay. Returns how many
    /// were dropped.
    pub fn discard_queued(&self) -> usize {
        let mut buf = [0u8; 2048];
        let mut n = 0;
        for sock in [&self.rtp, &self.rtcp] {
            while sock.try_recv_from(&mut buf).is_ok() {
                n += 1;
            }
        }
        n
    }

    /// Protect this call's media with our SRTP `key` (the one our SDP
    /// carries), once the far end's arrives in `MediaParams::srtp`.
    pub fn secure(&mut self, key: orderline_srtp::MasterKey) {
        self.srtp = Some(key);
    }

    /// The RTP port to put in our SDP `m=audio` line.
    pub fn local_port(&self) -> u16 {
        self.lease.rtp()
    }

    /// Send one RTP packet built by the leg. A send error is logged and
    /// dropped: RTP is loss-tolerant and the next frame follows in `ptime`.
    pub(super) async fn send(&self, packet: &[u8], to: SocketAddr) {
        if let Err(e) = self.rtp.send_to(packet, to).await {
            tracing::debug!(error = %e, "RTP send failed");
        }
    }
}

/// Write a leg's recording (decoded received audio, 8 kHz) as a WAV file.
pub(super) fn write_recording(path: PathBuf, samples: &[i16]) -> Result<(), MediaError> {
    crate::audio::write_wav_8k(&path, samples).map_err(|source| MediaError::Record { path, source })
}
