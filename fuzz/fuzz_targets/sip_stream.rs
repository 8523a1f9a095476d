//! SIP over TCP framing (RFC 3261 §18.3): the bytes after the first are a
//! stream, the first byte picks where the reads split it. Whatever the split
//! (Content-Length cut across reads, keep-alive CRLFs anywhere), the framer
//! yields the same messages as from one read, and never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use orderline_sip::stream::{Frame, StreamFramer};

/// Messages framed from `pieces`, leading keep-alive CRLFs trimmed, until
/// the stream errors or runs out; and whether it errored.
fn frames(pieces: &[&[u8]]) -> (Vec<Vec<u8>>, bool) {
    let mut f = StreamFramer::new();
    let mut out = Vec::new();
    for p in pieces {
        f.push(p);
        loop {
            match f.next_frame() {
                Ok(Some(Frame::Message(m))) => {
                    let start = m.iter().position(|b| *b != b'\r' && *b != b'\n').unwrap_or(m.len());
                    out.push(m[start..].to_vec());
                }
                Ok(Some(Frame::Ping)) => {}
                Ok(None) => break,
                Err(_) => return (out, true),
            }
        }
    }
    (out, false)
}

fuzz_target!(|data: &[u8]| {
    let Some((&seed, stream)) = data.split_first() else {
        return;
    };
    let whole = frames(&[stream]);
    // Cut every `step` bytes (1..=256): one-byte reads included.
    let step = usize::from(seed) + 1;
    let pieces: Vec<&[u8]> = stream.chunks(step).collect();
    let split = frames(&pieces);
    if !whole.1 && !split.1 {
        assert_eq!(whole.0, split.0, "split every {step} bytes");
    } else {
        // An unframable stream: the same messages come before the error.
        let n = whole.0.len().min(split.0.len());
        assert_eq!(whole.0[..n], split.0[..n]);
    }
});
