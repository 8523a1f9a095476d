//! SDP parsing and offer/answer against the RFCs' examples and malformed input.

use super::*;
use std::net::Ipv4Addr;

fn local4() -> LocalMedia {
    LocalMedia {
        addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)),
        port: 20000,
        session_id: 42,
        version: 1,
        srtp: None,
    }
}

/// The `RemoteMedia` a test expects, with the default 20 ms ptime.
fn remote(addr: &str, codec: Codec, dtmf_pt: Option<u8>, direction: Direction) -> RemoteMedia {
    let addr = addr.parse().expect("test address");
    RemoteMedia {
        addr,
        codec,
        dtmf_pt,
        direction,
        ptime_ms: 20,
        srtp: None,
    }
}

fn local6() -> LocalMedia {
    LocalMedia {
        addr: IpAddr::V6("2001:db8::10".parse().unwrap()),
        port: 20002,
        session_id: 7,
        version: 3,
        srtp: None,
    }
}

#[test]
fn offer_text_exact() {
    assert_eq!(
        offer(&local4()),
        "v=0\r\n\
         o=orderline 42 1 IN IP4 192.0.2.10\r\n\
         s=orderline\r\n\
         c=IN IP4 192.0.2.10\r\n\
         t=0 0\r\n\
         m=audio 20000 RTP/AVP 0 8 101\r\n\
         a=rtpmap:0 PCMU/8000\r\n\
         a=rtpmap:8 PCMA/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\n\
         a=fmtp:101 0-16\r\n\
         a=ptime:20\r\n\
         a=sendrecv\r\n"
    );
}

#[test]
fn offer_ipv6_and_hold() {
    let o = hold_offer(&local6(), Direction::SendOnly);
    assert!(o.starts_with("v=0\r\no=orderline 7 3 IN IP6 2001:db8::10\r\ns=orderline\r\nc=IN IP6 2001:db8::10\r\n"), "{o}");
    assert!(o.ends_with("a=ptime:20\r\na=sendonly\r\n"), "{o}");
    assert!(hold_offer(&local4(), Direction::Inactive).ends_with("a=inactive\r\n"));
    // Our own offer, read back as if it were an answer, gives what we said.
    let r = parse_answer(o.as_bytes()).unwrap();
    assert_eq!(r.addr, "[2001:db8::10]:20002".parse().unwrap());
    assert_eq!(
        (r.codec, r.dtmf_pt, r.direction, r.ptime_ms),
        (Codec::Pcmu, Some(101), Direction::SendOnly, 20)
    );
}

/// SIPp 3.6.1 `-sn uas` answers with this body (`sipp -sd uas`, variables filled in),
/// trailing blank line included.
const SIPP_UAS_ANSWER: &str = "v=0\r\n\
    o=user1 53655765 2353687637 IN IP4 127.0.0.1\r\n\
    s=-\r\n\
    c=IN IP4 127.0.0.1\r\n\
    t=0 0\r\n\
    m=audio 6000 RTP/AVP 0\r\n\
    a=rtpmap:0 PCMU/8000\r\n\
    \r\n";

#[test]
fn answer_from_sipp_uas() {
    let r = parse_answer(SIPP_UAS_ANSWER.as_bytes()).unwrap();
    assert_eq!(
        r,
        remote("127.0.0.1:6000", Codec::Pcmu, None, Direction::SendRecv)
    );
}

/// baresip-style answer: LF endings, media-level c=, PCMA first, telephone-event at our
/// PT, rtcp attributes, ptime and an explicit sendrecv.
const BARESIP_ANSWER: &str = "v=0\n\
    o=- 1839519209 3405293716 IN IP4 127.0.0.1\n\
    s=-\n\
    t=0 0\n\
    m=audio 10004 RTP/AVP 8 101\n\
    c=IN IP4 127.0.0.1\n\
    b=AS:64\n\
    a=rtpmap:8 PCMA/8000\n\
    a=rtpmap:101 telephone-event/8000\n\
    a=fmtp:101 0-15\n\
    a=rtcp:10005\n\
    a=sendrecv\n\
    a=label:1\n\
    a=ssrc:2251209113 cname:9b1e4f8d-b2bc-4d8f\n\
    a=rtcp-rsize\n\
    a=ptime:20\n";

#[test]
fn answer_from_baresip() {
    let r = parse_answer(BARESIP_ANSWER.as_bytes()).unwrap();
    assert_eq!(r.addr, "127.0.0.1:10004".parse().unwrap());
    assert_eq!(
        (r.codec, r.dtmf_pt, r.direction, r.ptime_ms),
        (Codec::Pcma, Some(101), Direction::SendRecv, 20)
    );
}

/// The offer baresip 1.0.0 (Debian `baresip-core`, modules g711, g722, opus) really sent
/// in an INVITE to SIPp on 127.0.0.1, captured with `sipp -trace_msg`: 434 bytes, as its
/// Content-Length said. Also in `fuzz/seeds/sdp_parse/`.
const BARESIP_1_0_0_INVITE: &str = "v=0\r\n\
    o=- 2715575808 1043771266 IN IP4 127.0.0.1\r\n\
    s=-\r\n\
    c=IN IP4 127.0.0.1\r\n\
    t=0 0\r\n\
    a=tool:baresip 1.0.0\r\n\
    m=audio 15888 RTP/AVP 0 8 9 96 101\r\n\
    a=rtpmap:0 PCMU/8000\r\n\
    a=rtpmap:8 PCMA/8000\r\n\
    a=rtpmap:9 G722/8000\r\n\
    a=rtpmap:96 opus/48000/2\r\n\
    a=fmtp:96 stereo=1;sprop-stereo=1\r\n\
    a=rtpmap:101 telephone-event/8000\r\n\
    a=fmtp:101 0-15\r\n\
    a=sendrecv\r\n\
    a=label:1\r\n\
    a=rtcp-rsize\r\n\
    a=ssrc:961007630 cname:sip:orderlinetest@127.0.0.1\r\n\
    a=minptime:20\r\n\
    a=ptime:20\r\n";

#[test]
fn answer_real_baresip_invite() {
    assert_eq!(BARESIP_1_0_0_INVITE.len(), 434);
    let (sdp, r) = answer(BARESIP_1_0_0_INVITE.as_bytes(), &local4()).unwrap();
    assert_eq!(
        r,
        remote(
            "127.0.0.1:15888",
            Codec::Pcmu,
            Some(101),
            Direction::SendRecv
        )
    );
    assert!(
        sdp.ends_with(
            "t=0 0\r\nm=audio 20000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
             a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\n\
             a=sendrecv\r\n"
        ),
        "{sdp}"
    );
}

/// What baresip 1.0.0 (auto-answer) really answered to our exact `offer()` text sent by
/// a SIPp UAC on 127.0.0.1 (captured with `-trace_msg`; Content-Length 339). baresip
/// logged "Set audio encoder: PCMU".
const BARESIP_1_0_0_ANSWER: &str = "v=0\r\n\
    o=- 2474204174 1362406618 IN IP4 127.0.0.1\r\n\
    s=-\r\n\
    c=IN IP4 127.0.0.1\r\n\
    t=0 0\r\n\
    a=tool:baresip 1.0.0\r\n\
    m=audio 15884 RTP/AVP 0 8 101\r\n\
    a=rtpmap:0 PCMU/8000\r\n\
    a=rtpmap:8 PCMA/8000\r\n\
    a=rtpmap:101 telephone-event/8000\r\n\
    a=fmtp:101 0-15\r\n\
    a=sendrecv\r\n\
    a=label:1\r\n\
    a=ssrc:3545643436 cname:sip:orderlinetest@127.0.0.1:15871\r\n\
    a=minptime:20\r\n\
    a=ptime:20\r\n";

#[test]
fn parse_real_baresip_answer() {
    assert_eq!(BARESIP_1_0_0_ANSWER.len(), 339);
    assert_eq!(
        parse_answer(BARESIP_1_0_0_ANSWER.as_bytes()),
        Ok(remote(
            "127.0.0.1:15884",
            Codec::Pcmu,
            Some(101),
            Direction::SendRecv
        ))
    );
}

/// A baresip-style offer as it calls us: several codecs, PCMU not first, G.722 first.
const BARESIP_OFFER: &str = "v=0\r\n\
    o=- 2790071016 1462355282 IN IP4 127.0.0.1\r\n\
    s=-\r\n\
    c=IN IP4 127.0.0.1\r\n\
    t=0 0\r\n\
    m=audio 10000 RTP/AVP 9 8 0 96 97\r\n\
    b=AS:64\r\n\
    a=rtpmap:9 G722/8000\r\n\
    a=rtpmap:8 PCMA/8000\r\n\
    a=rtpmap:0 PCMU/8000\r\n\
    a=rtpmap:96 opus/48000/2\r\n\
    a=fmtp:96 stereo=1;sprop-stereo=1\r\n\
    a=rtpmap:97 telephone-event/8000\r\n\
    a=fmtp:97 0-15\r\n\
    a=rtcp-rsize\r\n\
    a=sendrecv\r\n\
    a=ptime:20\r\n";

#[test]
fn answer_baresip_offer_exact() {
    let (sdp, r) = answer(BARESIP_OFFER.as_bytes(), &local4()).unwrap();
    assert_eq!(
        sdp,
        "v=0\r\n\
         o=orderline 42 1 IN IP4 192.0.2.10\r\n\
         s=orderline\r\n\
         c=IN IP4 192.0.2.10\r\n\
         t=0 0\r\n\
         m=audio 20000 RTP/AVP 8 97\r\n\
         a=rtpmap:8 PCMA/8000\r\n\
         a=rtpmap:97 telephone-event/8000\r\n\
         a=fmtp:97 0-16\r\n\
         a=ptime:20\r\n\
         a=sendrecv\r\n"
    );
    assert_eq!(
        r,
        remote(
            "127.0.0.1:10000",
            Codec::Pcma,
            Some(97),
            Direction::SendRecv
        )
    );
    // Our answer is itself a valid answer for parse_answer.
    let back = parse_answer(sdp.as_bytes()).unwrap();
    assert_eq!(
        (back.codec, back.dtmf_pt, back.addr.port()),
        (Codec::Pcma, Some(97), 20000)
    );
}

fn offer_with(media: &str) -> String {
    format!(
        "v=0\r\no=- 1 1 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 198.51.100.7\r\nt=0 0\r\n{media}"
    )
}

#[test]
fn only_pcma_offered() {
    let o = offer_with("m=audio 4000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n");
    let (sdp, r) = answer(o.as_bytes(), &local4()).unwrap();
    assert_eq!(r.codec, Codec::Pcma);
    assert_eq!(r.dtmf_pt, None);
    assert!(
        sdp.contains("m=audio 20000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\na=ptime:20\r\n"),
        "{sdp}"
    );
    assert!(!sdp.contains("telephone-event"));
}

#[test]
fn only_g722_is_no_common_codec() {
    let o = offer_with("m=audio 4000 RTP/AVP 9 101\r\na=rtpmap:9 G722/8000\r\na=rtpmap:101 telephone-event/8000\r\n");
    assert_eq!(
        answer(o.as_bytes(), &local4()),
        Err(SdpError::NoCommonCodec)
    );
    // A dynamic PT named PCMU is not taken (documented limitation).
    let o = offer_with("m=audio 4000 RTP/AVP 96\r\na=rtpmap:96 PCMU/8000\r\n");
    assert_eq!(
        answer(o.as_bytes(), &local4()),
        Err(SdpError::NoCommonCodec)
    );
    // PT 0 remapped to something else is not PCMU.
    let o = offer_with("m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 G729/8000\r\n");
    assert_eq!(
        answer(o.as_bytes(), &local4()),
        Err(SdpError::NoCommonCodec)
    );
}

#[test]
fn telephone_event_at_pt_96_any_case() {
    let o = offer_with("m=audio 4000 RTP/AVP 0 96\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:96 Telephone-Event/8000\r\na=fmtp:96 0-15\r\n");
    let (sdp, r) = answer(o.as_bytes(), &local4()).unwrap();
    assert_eq!(r.dtmf_pt, Some(96));
    assert!(sdp.contains("m=audio 20000 RTP/AVP 0 96\r\n"), "{sdp}");
    assert!(
        sdp.contains("a=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-16\r\n"),
        "{sdp}"
    );
    // telephone-event at 48000 (for Opus) is not ours to use with G.711.
    let o = offer_with("m=audio 4000 RTP/AVP 0 110\r\na=rtpmap:110 telephone-event/48000\r\n");
    assert_eq!(answer(o.as_bytes(), &local4()).unwrap().1.dtmf_pt, None);
    // An rtpmap for a PT not in the m-line is not used.
    let o = offer_with("m=audio 4000 RTP/AVP 0\r\na=rtpmap:101 telephone-event/8000\r\n");
    assert_eq!(answer(o.as_bytes(), &local4()).unwrap().1.dtmf_pt, None);
}

#[test]
fn hold_variants() {
    let cases = [
        ("a=sendonly\r\n", Direction::SendOnly, "a=recvonly\r\n"),
        ("a=recvonly\r\n", Direction::RecvOnly, "a=sendonly\r\n"),
        ("a=inactive\r\n", Direction::Inactive, "a=inactive\r\n"),
        ("a=sendrecv\r\n", Direction::SendRecv, "a=sendrecv\r\n"),
        ("", Direction::SendRecv, "a=sendrecv\r\n"),
    ];
    for (attr, remote_dir, our_attr) in cases {
        let o = offer_with(&format!("m=audio 4000 RTP/AVP 0\r\n{attr}"));
        let (sdp, r) = answer(o.as_bytes(), &local4()).unwrap();
        assert_eq!(r.direction, remote_dir, "{attr}");
        assert!(sdp.ends_with(our_attr), "{attr}: {sdp}");
    }
    // Session-level direction applies when the media has none; media level wins.
    let o = "v=0\r\no=- 1 1 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 198.51.100.7\r\nt=0 0\r\na=sendonly\r\nm=audio 4000 RTP/AVP 0\r\n";
    assert_eq!(
        answer(o.as_bytes(), &local4()).unwrap().1.direction,
        Direction::SendOnly
    );
    let o = "v=0\r\no=- 1 1 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 198.51.100.7\r\nt=0 0\r\na=sendonly\r\nm=audio 4000 RTP/AVP 0\r\na=sendrecv\r\n";
    assert_eq!(
        answer(o.as_bytes(), &local4()).unwrap().1.direction,
        Direction::SendRecv
    );
    // RFC 2543 hold: c=0.0.0.0 → inactive, answered inactive.
    let o = "v=0\r\no=- 1 2 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 8\r\n";
    let (sdp, r) = answer(o.as_bytes(), &local4()).unwrap();
    assert_eq!(r.direction, Direction::Inactive);
    assert_eq!(r.addr, "0.0.0.0:4000".parse().unwrap());
    assert!(sdp.ends_with("a=inactive\r\n"));
    let r =
        parse_answer(b"v=0\r\nc=IN IP6 ::\r\nm=audio 4000 RTP/AVP 8\r\na=sendrecv\r\n").unwrap();
    assert_eq!(r.direction, Direction::Inactive);
    // Two different directions in one section are malformed.
    let o = offer_with("m=audio 4000 RTP/AVP 0\r\na=sendonly\r\na=recvonly\r\n");
    assert_eq!(
        answer(o.as_bytes(), &local4()),
        Err(SdpError::BadAttribute {
            line: 8,
            name: "direction"
        })
    );
}

#[test]
fn ipv6_offer_answered() {
    let o = "v=0\r\no=- 1 1 IN IP6 2001:db8::7\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\nc=IN IP6 2001:db8::7\r\n";
    let (sdp, r) = answer(o.as_bytes(), &local6()).unwrap();
    assert_eq!(r.addr, "[2001:db8::7]:4000".parse().unwrap());
    assert!(sdp.contains("c=IN IP6 2001:db8::10\r\n"));
    assert!(sdp.contains("m=audio 20002 RTP/AVP 0\r\n"));
}

#[test]
fn media_level_c_overrides_session() {
    let o = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\nc=IN IP4 10.0.0.2/127\r\n";
    assert_eq!(
        parse_answer(o.as_bytes()).unwrap().addr,
        "10.0.0.2:4000".parse().unwrap()
    );
}

#[test]
fn other_m_lines_rejected_in_order() {
    let o = offer_with(
        "m=video 5000 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n\
         m=audio 0 RTP/AVP 0\r\n\
         m=audio 4000 RTP/SAVP 0\r\n\
         m=audio 4002 RTP/AVP 0 8\r\n\
         m=audio 4004 RTP/AVP 0\r\n",
    );
    let (sdp, r) = answer(o.as_bytes(), &local4()).unwrap();
    assert_eq!(r.addr.port(), 4002);
    let m_lines: Vec<&str> = sdp.lines().filter(|l| l.starts_with("m=")).collect();
    assert_eq!(
        m_lines,
        [
            "m=video 0 RTP/AVP 96",
            "m=audio 0 RTP/AVP 0",
            "m=audio 0 RTP/SAVP 0",
            "m=audio 20000 RTP/AVP 0",
            "m=audio 0 RTP/AVP 0",
        ]
    );
}

#[test]
fn offer_errors() {
    let e = |s: &str| answer(s.as_bytes(), &local4()).unwrap_err();
    assert_eq!(
        e(&offer_with("m=video 5000 RTP/AVP 96\r\n")),
        SdpError::NoAudioStream
    );
    assert_eq!(e(&offer_with("")), SdpError::NoAudioStream);
    assert_eq!(
        e(&offer_with("m=audio 0 RTP/AVP 0\r\n")),
        SdpError::StreamRejected
    );
    assert_eq!(
        e(&offer_with("m=audio 4000 RTP/SAVP 0\r\n")),
        SdpError::UnsupportedTransport
    );
    assert_eq!(
        e(&offer_with("m=audio 4000 UDP/TLS/RTP/SAVPF 0\r\n")),
        SdpError::UnsupportedTransport
    );
    assert_eq!(
        e(&offer_with("m=audio 70000 RTP/AVP 0\r\n")),
        SdpError::BadPort { line: 6 }
    );
    assert_eq!(
        e(&offer_with("m=audio -1 RTP/AVP 0\r\n")),
        SdpError::BadPort { line: 6 }
    );
    assert_eq!(
        e(&offer_with("m=audio 4000 RTP/AVP\r\n")),
        SdpError::BadMediaLine {
            line: 6,
            reason: "no media formats"
        }
    );
    assert_eq!(
        e(&offer_with("m=audio 4000 RTP/AVP 0 x\r\n")),
        SdpError::BadMediaLine {
            line: 6,
            reason: "RTP payload type is not 0..=127"
        }
    );
    assert_eq!(
        e(&offer_with("m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU\r\n")),
        SdpError::BadAttribute {
            line: 7,
            name: "rtpmap"
        }
    );
    assert_eq!(
        e(&offer_with("m=audio 4000 RTP/AVP 0\r\na=ptime:abc\r\n")),
        SdpError::BadAttribute {
            line: 7,
            name: "ptime"
        }
    );
    assert_eq!(
        e("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"),
        SdpError::MissingConnection
    );
    let bad_c = [
        (
            "c=IN IP4 sip.example.com",
            "address is not an IP literal (host names are not resolved)",
        ),
        (
            "c=IN IP6 1.2.3.4",
            "address does not match its address type",
        ),
        ("c=IN IP4 224.2.1.1/127", "multicast is not supported"),
        ("c=IN IP4", "expected: IN <IP4|IP6> <address>"),
        ("c=ATM NSAP 47.0005", "network type is not IN"),
        ("c=IN IPX 1.2.3.4", "address type is not IP4 or IP6"),
    ];
    for (c, reason) in bad_c {
        let o = format!("v=0\r\n{c}\r\nm=audio 4000 RTP/AVP 0\r\n");
        assert_eq!(e(&o), SdpError::BadConnection { line: 2, reason }, "{c}");
    }
    assert_eq!(e(""), SdpError::Empty);
    assert_eq!(e("\r\n\r\n"), SdpError::Empty);
    assert_eq!(e("v=1\r\n"), SdpError::BadVersion);
    assert_eq!(e("o=- 1 1 IN IP4 1.2.3.4\r\nv=0\r\n"), SdpError::BadVersion);
    assert_eq!(
        e("v=0\r\nthis is not sdp\r\n"),
        SdpError::MalformedLine { line: 2 }
    );
    assert_eq!(
        e("v=0\r\nM=audio 1 RTP/AVP 0\r\n"),
        SdpError::MalformedLine { line: 2 }
    );
    assert_eq!(e(&"v=0\r\n".repeat(MAX_SDP_LEN)), SdpError::TooLarge);
}

#[test]
fn non_utf8_is_an_error_not_a_panic() {
    let mut o = b"v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 0\r\nc=IN IP4 \xff\r\n".to_vec();
    assert_eq!(parse_answer(&o), Err(SdpError::MalformedLine { line: 4 }));
    // s= in another charset and a= with junk are ignored.
    o = b"v=0\r\ns=\xe9t\xe9\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 0\r\na=tool:\xff\r\n"
        .to_vec();
    assert_eq!(parse_answer(&o).unwrap().codec, Codec::Pcmu);
}

#[test]
fn answer_errors() {
    assert_eq!(
        parse_answer(offer_with("m=audio 0 RTP/AVP 0\r\n").as_bytes()),
        Err(SdpError::StreamRejected)
    );
    assert_eq!(
        parse_answer(offer_with("m=audio 4000 RTP/AVP 18\r\n").as_bytes()),
        Err(SdpError::CodecNotOffered)
    );
    assert_eq!(
        parse_answer(offer_with("m=video 4000 RTP/AVP 0\r\n").as_bytes()),
        Err(SdpError::NoAudioStream)
    );
    assert_eq!(
        parse_answer(offer_with("").as_bytes()),
        Err(SdpError::NoAudioStream)
    );
    assert_eq!(
        parse_answer(offer_with("m=audio 4000 RTP/SAVP 0\r\n").as_bytes()),
        Err(SdpError::UnsupportedTransport)
    );
    // Codec in the answer's order, ignoring PTs we did not offer.
    let r = parse_answer(offer_with("m=audio 4000 RTP/AVP 18 8 0\r\n").as_bytes()).unwrap();
    assert_eq!(r.codec, Codec::Pcma);
}

#[test]
fn ptime_handling() {
    let p = |a: &str| {
        parse_answer(offer_with(&format!("m=audio 4000 RTP/AVP 0\r\n{a}")).as_bytes())
            .map(|r| r.ptime_ms)
    };
    assert_eq!(p(""), Ok(20));
    assert_eq!(p("a=ptime:30\r\n"), Ok(30));
    assert_eq!(p("a=ptime:20.0\r\n"), Ok(20));
    assert_eq!(p("a=ptime:1\r\n"), Ok(10));
    assert_eq!(
        p("a=ptime:4294967295\r\n"),
        Err(SdpError::BadAttribute {
            line: 7,
            name: "ptime"
        })
    );
    assert_eq!(p("a=ptime:999999999\r\n"), Ok(200));
    assert_eq!(
        p("a=ptime:\r\n"),
        Err(SdpError::BadAttribute {
            line: 7,
            name: "ptime"
        })
    );
    assert_eq!(
        p("a=ptime\r\n"),
        Err(SdpError::BadAttribute {
            line: 7,
            name: "ptime"
        })
    );
}

/// Every prefix and every single-byte corruption of real bodies gives a value or an
/// error, never a panic (the fuzzer does this at scale; this keeps it in `cargo test`).
#[test]
fn prefixes_and_byte_flips_never_panic() {
    for body in [BARESIP_OFFER, BARESIP_ANSWER, SIPP_UAS_ANSWER] {
        let b = body.as_bytes();
        for cut in 0..=b.len() {
            let _ = parse_answer(&b[..cut]);
            let _ = answer(&b[..cut], &local4());
        }
        for i in 0..b.len() {
            for x in [0x00, b'\n', b' ', b'0', 0xff] {
                let mut m = b.to_vec();
                m[i] = x;
                let _ = parse_answer(&m);
                let _ = answer(&m, &local6());
            }
        }
    }
}

#[test]
fn echoes_offer_timing() {
    let o = "v=0\r\nc=IN IP4 1.2.3.4\r\nt=3034423619 3042462419\r\nm=audio 4000 RTP/AVP 0\r\n";
    assert!(answer(o.as_bytes(), &local4())
        .unwrap()
        .0
        .contains("\r\nt=3034423619 3042462419\r\n"));
    let o = "v=0\r\nc=IN IP4 1.2.3.4\r\nt=junk\r\nm=audio 4000 RTP/AVP 0\r\n";
    assert!(answer(o.as_bytes(), &local4())
        .unwrap()
        .0
        .contains("\r\nt=0 0\r\n"));
}

// --- SDES-SRTP (RFC 4568) -------------------------------------------------------------

const THEIR_KEY_B64: &str = "DPpbnTtgwnpGAtReGMXAinosOQUPQfpdAuu0iKw5";

fn ours(required: bool) -> LocalMedia {
    LocalMedia {
        srtp: Some(SdesOffer {
            key: SdesKey([7; SDES_KEY_LEN]),
            required,
        }),
        ..local4()
    }
}

/// baresip 1.0's offer with `mediaenc=srtp-mand`.
fn savp_offer() -> String {
    format!(
        "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio 10714 RTP/SAVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\n\
         a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{THEIR_KEY_B64}\r\n"
    )
}

#[test]
fn srtp_offers_name_the_profile_and_carry_our_key() {
    let ours_b64 = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH";
    let required = offer(&ours(true));
    assert!(
        required.contains("m=audio 20000 RTP/SAVP 0 8 101\r\n"),
        "{required}"
    );
    assert!(
        required.ends_with(&format!(
            "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{ours_b64}\r\n"
        )),
        "{required}"
    );
    let optional = offer(&ours(false));
    assert!(optional.contains("m=audio 20000 RTP/AVP 0 8 101\r\n"));
    assert!(optional.contains("a=crypto:1 "));
    assert!(!offer(&local4()).contains("crypto"));
}

#[test]
fn a_savp_offer_is_answered_in_kind_with_their_tag_and_our_key() {
    let (sdp, remote) = answer(savp_offer().as_bytes(), &ours(true)).expect("answer");
    assert!(sdp.contains("m=audio 20000 RTP/SAVP 0 101\r\n"), "{sdp}");
    assert!(
        sdp.contains("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:BwcH"),
        "{sdp}"
    );
    let theirs = remote.srtp.expect("their key");
    assert_eq!(theirs.0[..3], [0x0c, 0xfa, 0x5b]);
    // Without SRTP configured, RTP/SAVP stays unanswerable (488).
    assert_eq!(
        answer(savp_offer().as_bytes(), &local4()).map(|_| ()),
        Err(SdpError::UnsupportedTransport)
    );
    // Optional: a plain offer is answered plainly.
    let plain = savp_offer().replace("RTP/SAVP", "RTP/AVP").replace(
        &format!("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{THEIR_KEY_B64}\r\n"),
        "",
    );
    let (sdp, remote) = answer(plain.as_bytes(), &ours(false)).expect("plain answer");
    assert!(!sdp.contains("crypto") && remote.srtp.is_none(), "{sdp}");
    // Required: the same plain offer is refused.
    assert_eq!(
        answer(plain.as_bytes(), &ours(true)).map(|_| ()),
        Err(SdpError::SrtpRequired)
    );
}

#[test]
fn an_answer_without_a_key_fails_a_required_offer() {
    let answer_sdp = savp_offer();
    let remote = parse_answer(answer_sdp.as_bytes()).expect("SAVP answer with a key");
    assert!(remote.srtp.is_some());
    assert!(check_srtp(&ours(true), remote.clone()).is_ok());
    assert_eq!(check_srtp(&local4(), remote).expect("plain").srtp, None);
    let keyless = answer_sdp
        .replace("RTP/SAVP", "RTP/AVP")
        .replace("a=crypto", "a=x-crypto");
    let remote = parse_answer(keyless.as_bytes()).expect("plain answer");
    assert_eq!(check_srtp(&ours(true), remote), Err(SdpError::SrtpRequired));
    let savp_keyless = answer_sdp.replace("a=crypto", "a=x-crypto");
    assert_eq!(
        parse_answer(savp_keyless.as_bytes()),
        Err(SdpError::UnsupportedTransport)
    );
}
