//! The location service (RFC 3261 §10.3 steps 6–8): an agent's bindings and
//! the rules a REGISTER's contacts are applied by.

use std::net::SocketAddr;

use super::UnixMs;
use crate::dialog::Transport;
use crate::uri::Uri;

/// One registered contact of an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The agent (`[[agents]].id`) whose address-of-record this is.
    pub agent_id: String,
    /// The Contact URI exactly as the phone registered it.
    pub contact: String,
    /// Where the REGISTER came from (after NAT): requests to the phone go
    /// there, not to the Contact's host, which may be a private address
    /// (RFC 3581 §4 `received`/`rport`, the "fix nated contact" practice).
    pub source: SocketAddr,
    pub transport: Transport,
    /// §10.3 step 7: Call-ID and CSeq of the REGISTER that last wrote it.
    pub call_id: String,
    pub cseq: u32,
    /// When the binding lapses (Unix ms).
    pub expires_at: UnixMs,
    /// When it was last written (Unix ms); the most recent is rung first.
    pub updated_at: UnixMs,
    /// The phone's User-Agent, for operators (truncated, printable).
    pub user_agent: Option<String>,
}

impl Binding {
    /// Seconds left, rounded up, for the 200 OK's `expires` (§10.3 step 8).
    pub fn remaining_secs(&self, now: UnixMs) -> u64 {
        self.expires_at.saturating_sub(now).div_ceil(1000)
    }

    /// Same contact per §10.3 step 6 (URI comparison of §19.1.4).
    pub fn same_contact(&self, contact: &str) -> bool {
        same_uri(&self.contact, contact)
    }
}

/// URI equality of RFC 3261 §19.1.4 for SIP URIs; exact text otherwise.
pub fn same_uri(a: &str, b: &str) -> bool {
    match (Uri::parse(a), Uri::parse(b)) {
        (Ok(Uri::Sip(x)), Ok(Uri::Sip(y))) => x.equivalent(&y),
        _ => a == b,
    }
}

/// A change the store must mirror.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BindingChange {
    /// Insert or replace (agent, contact).
    Saved(Binding),
    /// Delete (agent, contact).
    Removed { agent_id: String, contact: String },
}

/// One contact of a REGISTER, its expiry already resolved and bounded.
pub(super) struct Update<'a> {
    pub contact: String,
    pub expires: u32,
    pub call_id: &'a str,
    pub cseq: u32,
}

/// Why a REGISTER's bindings were not applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    /// §10.3 step 7: same Call-ID with a CSeq not higher than the binding's.
    OutOfOrder,
}

/// Apply `updates` to `current` (one agent's live bindings), all or nothing
/// (§10.3: "the update MUST be aborted and the request fails"). New contacts
/// beyond `max_contacts` replace the least recently refreshed binding: a
/// phone that rebooted behind NAT re-registers from a new port before its
/// old binding lapses, and must not be locked out by it (Kamailio's
/// `max_contacts` refuses instead; we document the choice in the README).
pub(super) fn apply(
    current: &[Binding],
    updates: &[Update<'_>],
    make: impl Fn(&Update<'_>) -> Binding,
    max_contacts: usize,
) -> Result<(Vec<Binding>, Vec<BindingChange>), Refusal> {
    let mut next: Vec<Binding> = current.to_vec();
    let mut changes = Vec::new();
    for u in updates {
        let existing = next.iter().position(|b| b.same_contact(&u.contact));
        if let Some(i) = existing {
            if next[i].call_id == u.call_id && u.cseq <= next[i].cseq {
                return Err(Refusal::OutOfOrder);
            }
            if u.expires == 0 {
                let gone = next.remove(i);
                changes.push(BindingChange::Removed {
                    agent_id: gone.agent_id,
                    contact: gone.contact,
                });
            } else {
                next[i] = make(u);
                changes.push(BindingChange::Saved(next[i].clone()));
            }
        } else if u.expires > 0 {
            if next.len() >= max_contacts.max(1) {
                if let Some((i, _)) = next.iter().enumerate().min_by_key(|(_, b)| b.updated_at) {
                    let gone = next.remove(i);
                    changes.push(BindingChange::Removed {
                        agent_id: gone.agent_id,
                        contact: gone.contact,
                    });
                }
            }
            let b = make(u);
            changes.push(BindingChange::Saved(b.clone()));
            next.push(b);
        }
    }
    Ok((next, changes))
}

/// `Contact: *` with `Expires: 0` (§10.3 step 6): remove every binding, unless
/// one was written by this Call-ID with a CSeq not lower (step 7).
pub(super) fn remove_all(
    current: &[Binding],
    call_id: &str,
    cseq: u32,
) -> Result<Vec<BindingChange>, Refusal> {
    if current
        .iter()
        .any(|b| b.call_id == call_id && cseq <= b.cseq)
    {
        return Err(Refusal::OutOfOrder);
    }
    Ok(current
        .iter()
        .map(|b| BindingChange::Removed {
            agent_id: b.agent_id.clone(),
            contact: b.contact.clone(),
        })
        .collect())
}
