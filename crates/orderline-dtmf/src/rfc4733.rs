//! RFC 4733 telephone-events (DTMF over RTP), receive and send. Sans-IO: the media
//! layer hands in payloads and RTP timestamps and sends what [`EventSender`] produces.
//!
//! Payload (RFC 4733 §2.3): `event(8) | E(1) R(1) volume(6) | duration(16)`, duration in
//! RTP clock units (8 kHz for telephone-event/8000) counted from the event's RTP timestamp.

use super::{DigitEvent, DigitSource};

/// Codes 0–15 are the DTMF keys (RFC 4733 §3.2, table 7).
const CODES: [u8; 16] = *b"0123456789*#ABCD";

/// A press whose End packets were all lost ends this long (RTP units) after the last
/// duration it reported, once the clock ([`EventReceiver::on_clock`]) passes it. 200 ms:
/// four times the longest update interval (50 ms) RFC 4733 §2.5.1.2 recommends.
const LOST_END_TIMEOUT: u32 = 1600;
/// Duration at which a sender starts a new segment (RFC 4733 §2.5.1.3).
const SEGMENT_MAX: u32 = 0xFFFF;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rfc4733Error {
    #[error("telephone-event payload too short: {0} bytes, need 4")]
    TooShort(usize),
    #[error("not a DTMF digit: {0:?}")]
    InvalidDigit(char),
    #[error("packetisation interval must be 1..=65535 samples, got {0}")]
    BadInterval(u32),
}

/// One event block of a telephone-event payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    pub event: u8,
    pub end: bool,
    /// Power level as −dBm0, 0..=63 (§2.3.4).
    pub volume: u8,
    pub duration: u16,
}

impl TelephoneEvent {
    /// Parse the first event block. Further blocks (§2.5.1.5 multi-event packing) are
    /// redundant copies of earlier events that we have already seen or timed out.
    pub fn parse(payload: &[u8]) -> Result<Self, Rfc4733Error> {
        match payload {
            [event, flags, d0, d1, ..] => Ok(TelephoneEvent {
                event: *event,
                end: flags & 0x80 != 0,
                volume: flags & 0x3f,
                duration: u16::from_be_bytes([*d0, *d1]),
            }),
            _ => Err(Rfc4733Error::TooShort(payload.len())),
        }
    }

    pub fn to_bytes(self) -> [u8; 4] {
        let d = self.duration.to_be_bytes();
        [
            self.event,
            (u8::from(self.end) << 7) | (self.volume & 0x3f),
            d[0],
            d[1],
        ]
    }

    /// The DTMF key for this event, if it is one.
    pub fn digit(self) -> Option<char> {
        CODES.get(usize::from(self.event)).map(|&c| char::from(c))
    }
}

#[derive(Debug, Clone, Copy)]
struct Active {
    /// RTP timestamp of the current segment (the event's timestamp for short presses).
    seg_ts: u32,
    /// Extended timestamp where the press began.
    start: u64,
    /// Duration accumulated by finished segments.
    base: u64,
    /// Largest duration reported in the current segment.
    seg_dur: u32,
    event: u8,
}

/// Receives telephone-events and turns each press into exactly one [`DigitEvent`].
///
/// * Keyed on the E bit (§2.3.2, §2.5.2.2), never on the marker bit: carriers omit or misplace it.
/// * The three repeated End packets (§2.5.1.4) and late updates for an ended press are
///   recognised by their RTP timestamp, which is the press's identity (§2.5.1.2).
/// * Irregular or decreasing durations within a press only ever extend it.
/// * Long presses split into segments (§2.5.2.3) are joined into one digit.
/// * If every End packet is lost, [`Self::on_clock`] ends the press, and so does the start
///   of a different press.
///
/// `start`/`end` of the events are RTP timestamps extended to 64 bits (the first timestamp
/// seen is taken as is; wrap-around adds 2³²).
#[derive(Debug, Clone, Default)]
pub struct EventReceiver {
    active: Option<Active>,
    /// Timestamp of the last press that ended: packets at or before it are old news.
    last_ended: Option<u32>,
    /// Timestamp extension: last raw timestamp and its extended value.
    clock: Option<(u32, u64)>,
    /// Second event completed by the same packet (rare: lost ends + single-packet press).
    pending: Option<DigitEvent>,
}

impl EventReceiver {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed one telephone-event payload with its packet's RTP timestamp. Malformed and
    /// non-DTMF payloads are ignored (they are external input; never a panic).
    pub fn on_packet(&mut self, rtp_timestamp: u32, payload: &[u8]) -> Option<DigitEvent> {
        let ev = TelephoneEvent::parse(payload).ok()?;
        ev.digit()?;
        let ext = self.extend(rtp_timestamp);
        let dur = u32::from(ev.duration);

        if let Some(ended) = self.last_ended {
            if rtp_timestamp.wrapping_sub(ended) as i32 <= 0 {
                // A repeated End packet, a late update of the press that just ended, or a
                // reordered packet of an even older one.
                return None;
            }
        }
        let mut finished = None;
        if let Some(mut a) = self.active {
            if rtp_timestamp == a.seg_ts && ev.event == a.event {
                a.seg_dur = a.seg_dur.max(dur);
                self.active = Some(a);
                return if ev.end { self.end_active() } else { None };
            }
            let ahead = rtp_timestamp.wrapping_sub(a.seg_ts) as i32;
            if ev.event == a.event
                && a.seg_dur >= SEGMENT_MAX - 160
                && ahead > 0
                && (ahead as u32) <= a.seg_dur + 160
            {
                // Next segment of a long press (§2.5.2.3).
                a.base += u64::from(ahead as u32);
                a.seg_ts = rtp_timestamp;
                a.seg_dur = dur;
                self.active = Some(a);
                return if ev.end { self.end_active() } else { None };
            }
            if ahead <= 0 {
                return None; // reordered packet of something older
            }
            // A new press began: the previous one's End packets were lost.
            finished = self.end_active();
        }
        self.active = Some(Active {
            seg_ts: rtp_timestamp,
            start: ext,
            base: 0,
            seg_dur: dur,
            event: ev.event,
        });
        if ev.end {
            let now = self.end_active();
            if finished.is_some() {
                self.pending = now;
                return finished;
            }
            return now;
        }
        finished
    }

    /// Advance the receiver's idea of "now" (RTP clock of the audio stream). Ends a press
    /// whose End packets were all lost, 200 ms (1600 samples) after its last reported duration.
    pub fn on_clock(&mut self, rtp_timestamp_now: u32) -> Option<DigitEvent> {
        if let Some(p) = self.pending.take() {
            return Some(p);
        }
        let a = self.active?;
        let reached = a.seg_ts.wrapping_add(a.seg_dur);
        let late = rtp_timestamp_now.wrapping_sub(reached) as i32;
        if late >= LOST_END_TIMEOUT as i32 {
            return self.end_active();
        }
        None
    }

    /// A second event completed by the last packet, if any (see [`Self::on_packet`]).
    pub fn poll_event(&mut self) -> Option<DigitEvent> {
        self.pending.take()
    }

    fn end_active(&mut self) -> Option<DigitEvent> {
        let a = self.active.take()?;
        self.last_ended = Some(a.seg_ts);
        let digit = char::from(*CODES.get(usize::from(a.event))?);
        Some(DigitEvent {
            digit,
            start: a.start,
            end: a.start + a.base + u64::from(a.seg_dur),
            source: DigitSource::Rfc4733,
        })
    }

    fn extend(&mut self, ts: u32) -> u64 {
        let ext = match self.clock {
            None => u64::from(ts),
            Some((last, last_ext)) => {
                let d = i64::from(ts.wrapping_sub(last) as i32);
                (last_ext as i64 + d).max(0) as u64
            }
        };
        match self.clock {
            Some((_, last_ext)) if ext < last_ext => {}
            _ => self.clock = Some((ts, ext)),
        }
        ext
    }
}

/// One telephone-event packet to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPacket {
    /// RTP timestamp: the press's (segment's) start, the same for every packet of it.
    pub timestamp: u32,
    /// RTP marker bit: set on the first packet of a press only (§2.5.1.2).
    pub marker: bool,
    /// When to send it, in samples after the press began. The media layer sends each
    /// packet when its own clock reaches `start + send_at`; the three End packets share
    /// one `send_at` and go back to back (§2.5.1.4).
    pub send_at: u32,
    /// The 4-byte payload.
    pub payload: [u8; 4],
}

/// Produces the packets of one key press (RFC 4733 §2.5.1): a first packet with the
/// marker bit one interval into the press (like an audio packet, it reports the time
/// covered so far), an update every interval carrying the duration so far, and three
/// identical End packets with the final duration. Presses longer than
/// 0xFFFF samples (8.2 s) are split into segments per §2.5.1.3.
///
/// ```
/// use orderline_dtmf::EventSender;
/// let packets: Vec<_> = EventSender::new().digit('5', 1000, 800).unwrap().collect();
/// assert!(packets[0].marker && packets.iter().skip(1).all(|p| !p.marker));
/// assert_eq!(packets.iter().filter(|p| p.payload[1] & 0x80 != 0).count(), 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventSender {
    interval: u32,
    volume: u8,
}

impl Default for EventSender {
    fn default() -> Self {
        Self::new()
    }
}

impl EventSender {
    /// 20 ms packetisation (160 samples), volume 10 (−10 dBm0).
    pub fn new() -> Self {
        EventSender {
            interval: 160,
            volume: 10,
        }
    }

    /// Packetisation interval in samples (RFC 4733 §2.5.1.2: typically 50 ms or less).
    pub fn with_interval(mut self, samples: u32) -> Result<Self, Rfc4733Error> {
        if samples == 0 || samples > SEGMENT_MAX {
            return Err(Rfc4733Error::BadInterval(samples));
        }
        self.interval = samples;
        Ok(self)
    }

    /// Volume field, −dBm0 (clamped to 0..=63).
    pub fn with_volume(mut self, minus_dbm0: u8) -> Self {
        self.volume = minus_dbm0.min(63);
        self
    }

    /// The packets for `digit` pressed at RTP time `start_timestamp` for `duration` samples.
    /// An iterator, so nothing is allocated.
    pub fn digit(
        &self,
        digit: char,
        start_timestamp: u32,
        duration: u32,
    ) -> Result<DigitPackets, Rfc4733Error> {
        let up = digit.to_ascii_uppercase();
        let event = CODES
            .iter()
            .position(|&c| char::from(c) == up)
            .ok_or(Rfc4733Error::InvalidDigit(digit))?;
        Ok(DigitPackets {
            sender: *self,
            event: event as u8,
            start: start_timestamp,
            total: duration.max(1),
            last: None,
            ends_left: 3,
        })
    }
}

/// Iterator over the packets of one press; see [`EventSender::digit`].
#[derive(Debug, Clone)]
pub struct DigitPackets {
    sender: EventSender,
    event: u8,
    start: u32,
    total: u32,
    /// Duration reported by the previous packet, `None` before the first.
    last: Option<u32>,
    ends_left: u8,
}

impl Iterator for DigitPackets {
    type Item = EventPacket;

    fn next(&mut self) -> Option<EventPacket> {
        if self.ends_left == 0 {
            return None;
        }
        let step = self.sender.interval;
        // Report times: every interval, every segment boundary, and the end.
        let at = match self.last {
            None => step.min(self.total),
            Some(prev) if prev >= self.total => prev,
            Some(prev) => {
                let next_tick = (prev / step + 1).saturating_mul(step);
                let next_seg = (prev / SEGMENT_MAX + 1).saturating_mul(SEGMENT_MAX);
                next_tick.min(next_seg).min(self.total)
            }
        };
        let end = at >= self.total;
        if end {
            self.ends_left -= 1;
        }
        let seg_start = (at - 1) / SEGMENT_MAX * SEGMENT_MAX;
        let packet = EventPacket {
            timestamp: self.start.wrapping_add(seg_start),
            marker: self.last.is_none(),
            send_at: at,
            payload: TelephoneEvent {
                event: self.event,
                end,
                volume: self.sender.volume,
                duration: (at - seg_start) as u16,
            }
            .to_bytes(),
        };
        self.last = Some(at);
        Some(packet)
    }
}
