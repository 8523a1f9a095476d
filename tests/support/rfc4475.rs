//! Shared by the RFC 4475 tests: the manifest and our expected answer per file.
#![allow(dead_code)]

pub const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/testdata/rfc4475");

/// What the endpoint did with one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Answered with this final (or only) status.
    Status(u16),
    /// Accepted an INVITE: 100 Trying sent and an Incoming event raised.
    Incoming,
    /// Sent nothing.
    Silent,
}

/// Our expectation per file, each allowed by the RFC text in the manifest.
pub fn expected(file: &str) -> Option<&'static [Outcome]> {
    use Outcome::*;
    Some(match file {
        // wsinv carries a To tag: a mid-dialog INVITE for a dialog we do not
        // have, which RFC 3261 §12.2.2 answers with 481 once parsed.
        "wsinv.dat" => &[Status(481)],
        "esc01.dat" | "longreq.dat" | "baddate.dat" | "sdp01.dat" | "inv2543.dat" => &[Incoming],
        "intmeth.dat" | "esc02.dat" => &[Status(501), Status(405)],
        "escnull.dat" | "dblreq.dat" | "unksm2.dat" | "regaut01.dat" | "cparam01.dat"
        | "cparam02.dat" | "regescrt.dat" => &[Status(405)],
        "mpart01.dat" => &[Status(405), Status(501)],
        "lwsdisp.dat" | "semiuri.dat" | "transports.dat" | "zeromf.dat" | "badbranch.dat" => {
            &[Status(200)]
        }
        // Responses to nothing we sent, or invalid responses: discarded.
        "unreason.dat" | "noreason.dat" | "scalarlg.dat" | "bigcode.dat" | "bcast.dat" => &[Silent],
        "badinv01.dat" | "clerr.dat" | "ncl.dat" | "scalar02.dat" | "quotbal.dat"
        | "ltgtruri.dat" | "lwsruri.dat" | "lwsstart.dat" | "trws.dat" | "escruri.dat"
        | "regbadct.dat" | "badaspec.dat" | "baddn.dat" | "mismatch01.dat" | "mismatch02.dat"
        | "insuf.dat" | "multi01.dat" | "mcl01.dat" => &[Status(400)],
        "badvers.dat" => &[Status(505)],
        "unkscm.dat" | "novelsc.dat" => &[Status(416)],
        "bext01.dat" => &[Status(420)],
        "invut.dat" => &[Status(415)],
        _ => return None,
    })
}

pub fn manifest() -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(format!("{DIR}/MANIFEST.tsv"))
        .unwrap_or_else(|e| panic!("RFC 4475 manifest missing at {DIR}: {e}"));
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (
                f[0].to_string(),
                f[2].to_string(),
                f.get(3).unwrap_or(&"").to_string(),
            )
        })
        .collect()
}
