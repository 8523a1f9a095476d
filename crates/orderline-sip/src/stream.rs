//! SIP over a byte stream (TCP; RFC 3261 §18.3), sans-IO: bytes arrive in
//! whatever pieces the kernel hands over, a message ends where its
//! Content-Length says, and CRLF keep-alives (RFC 5626 §3.5.1) sit between
//! messages. The driver's connection task pushes what it reads and takes
//! frames out; the fuzz target `sip_stream` holds it to "any split of the
//! same bytes yields the same messages".

use super::error::ParseError;
use super::message::{Framing, RawMessage};

/// What the framer found in the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// One whole message (start line to the end of its body).
    Message(Vec<u8>),
    /// A double-CRLF "ping": answer with a single CRLF "pong" (RFC 5626 §4.4.1).
    Ping,
}

/// The bytes of one connection not yet framed.
#[derive(Debug, Default)]
pub struct StreamFramer {
    buf: Vec<u8>,
}

impl StreamFramer {
    pub fn new() -> StreamFramer {
        StreamFramer::default()
    }

    /// Bytes read from the connection.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes held, waiting for the rest of a message.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// The next frame, `Ok(None)` until more bytes are needed. An error
    /// (oversized or unframable) means the connection must be closed: the
    /// stream can no longer be resynchronised.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, ParseError> {
        match RawMessage::parse(&self.buf, Framing::Stream) {
            Ok((_, used)) => Ok(Some(Frame::Message(self.buf.drain(..used).collect()))),
            Err(ParseError::Incomplete) => {
                // Keep-alive CRLFs alone are not a message.
                if self.buf.iter().all(|b| *b == b'\r' || *b == b'\n') {
                    if self.buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        self.buf.clear();
                        return Ok(Some(Frame::Ping));
                    }
                    if self.buf.len() > 64 {
                        self.buf.clear();
                    }
                }
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] =
        b"OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bKs\r\n\
From: <sip:b@127.0.0.1>;tag=1\r\nTo: <sip:a@127.0.0.1>\r\nCall-ID: s@t\r\nCSeq: 1 OPTIONS\r\n\
Max-Forwards: 70\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello";

    fn frames(pieces: &[&[u8]]) -> Vec<Frame> {
        let mut f = StreamFramer::new();
        let mut out = Vec::new();
        for p in pieces {
            f.push(p);
            while let Some(fr) = f.next_frame().expect("framable") {
                out.push(fr);
            }
        }
        out
    }

    #[test]
    fn a_body_split_across_reads_waits_for_its_content_length() {
        let (head, body) = MSG.split_at(MSG.len() - 3);
        assert_eq!(frames(&[head]), vec![]);
        assert_eq!(frames(&[head, body]), vec![Frame::Message(MSG.to_vec())]);
        let two = [MSG, MSG].concat();
        assert_eq!(
            frames(&[&two[..7], &two[7..200], &two[200..]]),
            vec![Frame::Message(MSG.to_vec()), Frame::Message(MSG.to_vec())]
        );
    }

    #[test]
    fn keepalives_ping_and_are_skipped() {
        assert_eq!(frames(&[b"\r\n", b"\r\n"]), vec![Frame::Ping]);
        assert_eq!(
            frames(&[b"\r\n\r\n", MSG]),
            vec![Frame::Ping, Frame::Message(MSG.to_vec())]
        );
        let mut f = StreamFramer::new();
        f.push(&[b'x'; 70_000]);
        assert!(f.next_frame().is_err(), "an endless header is refused");
    }
}
