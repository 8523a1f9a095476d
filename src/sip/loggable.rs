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
        if body.is_empty() || sdp {
            f.write_str(&text)
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
    }
}
