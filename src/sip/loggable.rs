//! SIP messages as trace logs show them (card data never lands in logs).

/// A SIP message as trace logs show it: start line and headers, and the
/// body only when it is SDP. Other bodies are left out: a SIP INFO carrying
/// `application/dtmf-relay` (`Signal=4`) is a keypress, and during a keypad
/// payment a keypress is card data (PCI DSS Req. 3.3, 10.3).
pub(super) struct Loggable<'a>(pub(super) &'a [u8]);

impl std::fmt::Display for Loggable<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = String::from_utf8_lossy(self.0);
        let Some(split) = text.find("\r\n\r\n") else {
            return f.write_str(&text);
        };
        let (head, body) = (&text[..split], &text[split + 4..]);
        let sdp = head.lines().any(|l| {
            let l = l.to_ascii_lowercase();
            (l.starts_with("content-type:") || l.starts_with("c:")) && l.contains("application/sdp")
        });
        if body.is_empty() {
            f.write_str(&text)
        } else if sdp {
            // SDES keys (RFC 4568 `a=crypto:… inline:KEY`) are secrets: the
            // line is shown up to the key.
            write!(f, "{head}\r\n\r\n")?;
            for line in body.split_inclusive('\n') {
                match line
                    .find("inline:")
                    .filter(|_| line.starts_with("a=crypto:"))
                {
                    Some(at) => write!(f, "{}inline:<redacted>\r\n", &line[..at])?,
                    None => f.write_str(line)?,
                }
            }
            Ok(())
        } else {
            write!(f, "{head}\r\n\r\n[{} body bytes not logged]", body.len())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Loggable;

    #[test]
    fn trace_logs_keep_sdp_and_drop_other_bodies() {
        let info = "INFO sip:a@127.0.0.1 SIP/2.0\r\nContent-Type: application/dtmf-relay\r\nContent-Length: 24\r\n\r\nSignal=4\r\nDuration=160\r\n";
        let shown = Loggable(info.as_bytes()).to_string();
        assert!(!shown.contains("Signal=4"), "{shown}");
        assert!(shown.contains("INFO sip:a@127.0.0.1") && shown.contains("body bytes not logged"));
        let invite = "INVITE sip:a@127.0.0.1 SIP/2.0\r\nc: application/sdp\r\n\r\nv=0\r\n";
        assert!(Loggable(invite.as_bytes()).to_string().ends_with("v=0\r\n"));
        let srtp = "INVITE sip:a@127.0.0.1 SIP/2.0\r\nc: application/sdp\r\n\r\nv=0\r\n\
            a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:DPpbnTtgwnpGAtReGMXAinosOQUPQfpdAuu0iKw5\r\na=ptime:20\r\n";
        let shown = Loggable(srtp.as_bytes()).to_string();
        assert!(!shown.contains("DPpbnTtg"), "{shown}");
        assert!(
            shown
                .contains("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:<redacted>\r\na=ptime:20\r\n"),
            "{shown}"
        );
    }
}
