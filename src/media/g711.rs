//! ITU-T G.711 µ-law (PCMU, RFC 3551 §4.5.14, payload type 0) and A-law
//! (PCMA, payload type 8) companding.
//!
//! Table driven and allocation free: the four tables are built at compile
//! time by `const fn`s that follow the segment/quantisation rules of G.711
//! Tables 1a/1b and 2a/2b. G.711 is defined on 14-bit (µ-law) and 13-bit
//! (A-law) linear input; we reduce 16-bit samples to that by rounding to
//! nearest, which is what sox does, so our bytes match sox's byte for byte
//! over all 65,536 inputs (`tests/media_g711_sox.rs`).
//!
//! Decoding yields the interval mid-points of G.711 scaled to 16 bits
//! (µ-law ±32124, A-law ±32256).

/// µ-law bias (G.711 Table 2a, in 14-bit units: 33).
const ULAW_BIAS: i32 = 33;
/// Largest 14-bit magnitude µ-law can represent before clipping.
const ULAW_CLIP: i32 = 8159;

/// Encode one 14-bit magnitude+sign value to µ-law (G.711 Table 2a).
const fn ulaw_from_14(pcm: i32) -> u8 {
    let (mut mag, mask) = if pcm < 0 {
        (-pcm, 0x7Fu8)
    } else {
        (pcm, 0xFFu8)
    };
    if mag > ULAW_CLIP {
        mag = ULAW_CLIP;
    }
    mag += ULAW_BIAS;
    // Segment: first s with mag <= 0x3F·2^s + (2^s − 1), i.e. the Sun
    // `seg_uend` table {0x3F, 0x7F, …, 0x1FFF}.
    let mut seg = 0;
    while seg < 8 && mag > ((0x40 << seg) - 1) {
        seg += 1;
    }
    if seg >= 8 {
        return 0x7F ^ mask;
    }
    let uval = ((seg as u8) << 4) | (((mag >> (seg + 1)) & 0x0F) as u8);
    uval ^ mask
}

/// Encode one 13-bit value to A-law (G.711 Table 1a), even bits inverted.
const fn alaw_from_13(pcm: i32) -> u8 {
    let (mag, mask) = if pcm >= 0 {
        (pcm, 0xD5u8)
    } else {
        (-pcm - 1, 0x55u8)
    };
    let mut seg = 0;
    while seg < 8 && mag > ((0x20 << seg) - 1) {
        seg += 1;
    }
    if seg >= 8 {
        return 0x7F ^ mask;
    }
    let mant = if seg < 2 {
        (mag >> 1) & 0x0F
    } else {
        (mag >> seg) & 0x0F
    };
    (((seg as u8) << 4) | mant as u8) ^ mask
}

const fn ulaw_decode_one(code: u8) -> i16 {
    let u = !code;
    let mut t = (((u & 0x0F) as i32) << 3) + 0x84;
    t <<= ((u & 0x70) >> 4) as i32;
    (if u & 0x80 != 0 { 0x84 - t } else { t - 0x84 }) as i16
}

const fn alaw_decode_one(code: u8) -> i16 {
    let a = code ^ 0x55;
    let mut t = ((a & 0x0F) as i32) << 4;
    let seg = ((a & 0x70) >> 4) as i32;
    if seg == 0 {
        t += 8;
    } else if seg == 1 {
        t += 0x108;
    } else {
        t += 0x108;
        t <<= seg - 1;
    }
    (if a & 0x80 != 0 { t } else { -t }) as i16
}

const fn build_ulaw_decode() -> [i16; 256] {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = ulaw_decode_one(i as u8);
        i += 1;
    }
    t
}

const fn build_alaw_decode() -> [i16; 256] {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = alaw_decode_one(i as u8);
        i += 1;
    }
    t
}

/// Indexed by the 14-bit two's-complement value `(x >> 2) & 0x3FFF`.
const fn build_ulaw_encode() -> [u8; 1 << 14] {
    let mut t = [0u8; 1 << 14];
    let mut i = 0;
    while i < (1 << 14) {
        let v = if i >= (1 << 13) {
            i as i32 - (1 << 14)
        } else {
            i as i32
        };
        t[i] = ulaw_from_14(v);
        i += 1;
    }
    t
}

/// Indexed by the 13-bit two's-complement value `(x >> 3) & 0x1FFF`.
const fn build_alaw_encode() -> [u8; 1 << 13] {
    let mut t = [0u8; 1 << 13];
    let mut i = 0;
    while i < (1 << 13) {
        let v = if i >= (1 << 12) {
            i as i32 - (1 << 13)
        } else {
            i as i32
        };
        t[i] = alaw_from_13(v);
        i += 1;
    }
    t
}

static ULAW_DECODE: [i16; 256] = build_ulaw_decode();
static ALAW_DECODE: [i16; 256] = build_alaw_decode();
static ULAW_ENCODE: [u8; 1 << 14] = build_ulaw_encode();
static ALAW_ENCODE: [u8; 1 << 13] = build_alaw_encode();

/// Companding law of a G.711 stream, as negotiated in SDP (RFC 3551 Table 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Law {
    /// PCMU, static payload type 0 (North America, Japan; most SIP trunks).
    Mu,
    /// PCMA, static payload type 8 (Europe, Africa, South Asia carriers).
    A,
}

impl Law {
    /// The static RTP payload type (RFC 3551 §6, Table 4).
    pub fn payload_type(self) -> u8 {
        match self {
            Law::Mu => 0,
            Law::A => 8,
        }
    }

    /// Code word for digital silence (linear 0): 0xFF µ-law, 0xD5 A-law.
    pub fn silence_byte(self) -> u8 {
        self.encode_one(0)
    }

    /// Encode one 16-bit linear sample.
    #[inline]
    pub fn encode_one(self, x: i16) -> u8 {
        match self {
            Law::Mu => ulaw_encode(x),
            Law::A => alaw_encode(x),
        }
    }

    /// Decode one code word to 16-bit linear.
    #[inline]
    pub fn decode_one(self, b: u8) -> i16 {
        match self {
            Law::Mu => ulaw_decode(b),
            Law::A => alaw_decode(b),
        }
    }

    /// Encode `pcm` into `out` (same length; extra elements of the longer
    /// slice are left untouched). No allocation.
    pub fn encode(self, pcm: &[i16], out: &mut [u8]) {
        for (o, &x) in out.iter_mut().zip(pcm) {
            *o = self.encode_one(x);
        }
    }

    /// Decode `codes` into `out` (same length rules as [`Law::encode`]).
    pub fn decode(self, codes: &[u8], out: &mut [i16]) {
        for (o, &b) in out.iter_mut().zip(codes) {
            *o = self.decode_one(b);
        }
    }
}

/// µ-law encode one sample (G.711 Table 2a). The 16-bit input is rounded
/// to the nearest 14-bit value (half up, clipped), as sox does; Sun's
/// `g711.c` truncates instead, which differs only for inputs within 2 LSB
/// below a decision value.
#[inline]
pub fn ulaw_encode(x: i16) -> u8 {
    let v = ((x as i32 + 2) >> 2).min(8191);
    ULAW_ENCODE[(v as u16 & 0x3FFF) as usize]
}

/// A-law encode one sample (G.711 Table 1a), rounding to 13 bits like
/// [`ulaw_encode`].
#[inline]
pub fn alaw_encode(x: i16) -> u8 {
    let v = ((x as i32 + 4) >> 3).min(4095);
    ALAW_ENCODE[(v as u16 & 0x1FFF) as usize]
}

/// µ-law decode one code word.
#[inline]
pub fn ulaw_decode(b: u8) -> i16 {
    ULAW_DECODE[b as usize]
}

/// A-law decode one code word.
#[inline]
pub fn alaw_decode(b: u8) -> i16 {
    ALAW_DECODE[b as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// G.711 Table 2a µ-law decision values between segments (14-bit,
    /// positive half): 31, 95, 223, 479, 991, 2015, 4063. An input equal to
    /// the decision value opens the next segment; one below closes the
    /// previous one, with the top (0x0F) and bottom (0x00) mantissa.
    #[test]
    fn ulaw_segment_decision_values() {
        let decisions = [31, 95, 223, 479, 991, 2015, 4063];
        for (seg, &d) in decisions.iter().enumerate() {
            let a = !ulaw_from_14(d - 1);
            let b = !ulaw_from_14(d);
            assert_eq!((a >> 4) & 7, seg as u8, "below {d}");
            assert_eq!((b >> 4) & 7, seg as u8 + 1, "at {d}");
            assert_eq!(a & 0x0F, 0x0F);
            assert_eq!(b & 0x0F, 0x00);
        }
        // Clip: everything beyond 8158 is code 0x80 (max positive).
        assert_eq!(ulaw_from_14(8158), 0x80);
        assert_eq!(ulaw_encode(i16::MAX), 0x80);
        assert_eq!(ulaw_encode(i16::MIN), 0x00);
        assert_eq!(ulaw_encode(0), 0xFF);
    }

    /// G.711 Table 1a A-law decision values between segments (13-bit,
    /// positive half): 32, 64, 128, 256, 512, 1024, 2048; the last input of
    /// each segment is one below.
    #[test]
    fn alaw_segment_decision_values() {
        let ends = [31, 63, 127, 255, 511, 1023, 2047];
        for (i, &end) in ends.iter().enumerate() {
            let a = alaw_from_13(end) ^ 0xD5;
            let b = alaw_from_13(end + 1) ^ 0xD5;
            assert_eq!((a >> 4) & 7, i as u8, "end {end}");
            assert_eq!((b >> 4) & 7, i as u8 + 1, "end+1 {end}");
        }
        assert_eq!(alaw_encode(0), 0xD5);
        assert_eq!(alaw_encode(i16::MAX), 0xAA);
        assert_eq!(alaw_encode(i16::MIN), 0x2A);
    }

    /// Every code word survives decode → encode (µ-law's negative zero
    /// 0x7F decodes to 0 and re-encodes as positive zero 0xFF).
    #[test]
    fn every_code_round_trips() {
        for c in 0..=255u8 {
            let u = ulaw_encode(ulaw_decode(c));
            if c == 0x7F {
                assert_eq!(u, 0xFF);
            } else {
                assert_eq!(u, c, "µ-law code {c:#04x}");
            }
            assert_eq!(alaw_encode(alaw_decode(c)), c, "A-law code {c:#04x}");
        }
    }

    /// Exhaustive over all 65,536 inputs: the decoded value is the
    /// mid-point of the quantisation interval holding the input, so the
    /// error is at most half a step (step = 2^(seg+1) 14-bit units for
    /// µ-law, 2^max(seg,1) 13-bit units for A-law) unless clipped, and the
    /// encoder is monotonic.
    #[test]
    fn exhaustive_quantisation_error_and_monotonicity() {
        let mut prev_u = i16::MIN;
        let mut prev_a = i16::MIN;
        for x in i16::MIN..=i16::MAX {
            let du = ulaw_decode(ulaw_encode(x));
            let da = alaw_decode(alaw_encode(x));
            assert!(du >= prev_u && da >= prev_a, "monotonic at {x}");
            prev_u = du;
            prev_a = da;
            let seg_u = ((!ulaw_encode(x)) >> 4) & 7;
            let half_u = (1i32 << (seg_u + 1)) * 4 / 2 + 2; // +2: 14-bit rounding
            if x.unsigned_abs() < 32124 {
                assert!((du as i32 - x as i32).abs() <= half_u, "µ {x} -> {du}");
            }
            let seg_a = ((alaw_encode(x) ^ 0x55) >> 4) & 7;
            let half_a = (1i32 << seg_a.max(1)) * 8 / 2 + 4;
            if x.unsigned_abs() < 32256 {
                assert!((da as i32 - x as i32).abs() <= half_a, "A {x} -> {da}");
            }
        }
    }

    #[test]
    fn slice_helpers_do_not_overrun() {
        let pcm = [0i16, 1000, -1000];
        let mut out = [0u8; 2];
        Law::Mu.encode(&pcm, &mut out);
        assert_eq!(out, [0xFF, ulaw_encode(1000)]);
        let mut back = [7i16; 4];
        Law::A.decode(&[0xD5, 0x55], &mut back);
        assert_eq!(back, [8, -8, 7, 7]);
        assert_eq!(Law::Mu.payload_type(), 0);
        assert_eq!(Law::A.payload_type(), 8);
        assert_eq!(Law::A.silence_byte(), 0xD5);
    }
}
