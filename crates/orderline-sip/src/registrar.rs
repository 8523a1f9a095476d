//! The SIP registrar for agents' phones (RFC 3261 §10.3), with digest
//! authentication (§22, RFC 7616, RFC 8760), sans-IO: a REGISTER, its source
//! address, the wall-clock time (`now`, Unix ms) and random bytes go in; a
//! response (status, reason, headers) and binding changes come out. It never
//! reads a clock or a random source itself, and knows no socket or database.
//!
//! Rules, each cited where it is applied:
//! - Challenges (401) carry a fresh stateless nonce ([`nonce`]) with
//!   `qop="auth"`. Which algorithms are offered is [`DigestPolicy`]: MD5 by
//!   default, because baresip 1.0 and many deployed phones give up when a 401
//!   carries any non-MD5 challenge, even beside an MD5 one (measured,
//!   DESIGN.md); RFC 8760 §2.3 leaves the choice to the server.
//! - No enumeration: an unknown user, a wrong password, a forged nonce and
//!   missing credentials all get the same 401 with a fresh challenge.
//! - No brute force: failed authentications are counted per source IP; past
//!   `max_auth_failures` within `auth_failure_window` the IP gets 403 without
//!   any digest work for `block_for`. Other sources are unaffected.
//! - Expires within [`RegistrarConfig::min_expires`, `max_expires`]: below →
//!   423 with `Min-Expires` (§10.3 step 7, §21.4.17); above → clamped.

mod bindings;
mod nonce;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use rand::RngCore;
use zeroize::Zeroizing;

pub use bindings::{same_uri, Binding, BindingChange};
use bindings::{Refusal, Update};
use nonce::{NonceState, Nonces};

use super::dialog::Transport;
use super::digest::{self, Algorithm, Qop};
use super::message::{Message, Method, StartLine};

/// Wall-clock time in milliseconds since the Unix epoch, given by the caller
/// (bindings outlive the process, so they expire on wall-clock time).
pub type UnixMs = u64;

/// Failure records kept per source address at most; past it, records whose
/// window and block are over are dropped first.
const MAX_SOURCES: usize = 100_000;

/// Which digest algorithms a 401 offers (RFC 8760 §2.3: the server's policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DigestPolicy {
    /// MD5 only: every phone can answer it (the default).
    #[default]
    Md5,
    /// SHA-256 only: for deployments whose phones all speak RFC 8760.
    Sha256,
    /// SHA-256 first, then MD5 (RFC 8760 §2.4 order of preference).
    Both,
}

impl DigestPolicy {
    /// `"md5" | "sha-256" | "both"` (the config key `[sip.registrar] digest`).
    pub fn parse(s: &str) -> Option<DigestPolicy> {
        match s.to_ascii_lowercase().as_str() {
            "md5" => Some(DigestPolicy::Md5),
            "sha-256" | "sha256" => Some(DigestPolicy::Sha256),
            "both" => Some(DigestPolicy::Both),
            _ => None,
        }
    }

    fn algorithms(self) -> &'static [Algorithm] {
        match self {
            DigestPolicy::Md5 => &[Algorithm::Md5],
            DigestPolicy::Sha256 => &[Algorithm::Sha256],
            DigestPolicy::Both => &[Algorithm::Sha256, Algorithm::Md5],
        }
    }
}

/// Registrar settings (`[sip] domain` and `[sip.registrar]`).
#[derive(Debug, Clone)]
pub struct RegistrarConfig {
    /// The realm, and the domain REGISTERs must name in their Request-URI.
    pub domain: String,
    /// Other hosts accepted in the Request-URI (e.g. our IP address).
    pub aliases: Vec<String>,
    pub min_expires: u32,
    pub max_expires: u32,
    /// When a REGISTER names no expiry (§10.2.1.1 leaves it to the registrar).
    pub default_expires: u32,
    pub max_contacts: usize,
    pub max_auth_failures: u32,
    pub auth_failure_window: Duration,
    pub block_for: Duration,
    /// How long a nonce is good for; after it a right answer gets `stale=true`.
    pub nonce_lifetime: Duration,
    pub digest: DigestPolicy,
}

impl Default for RegistrarConfig {
    fn default() -> Self {
        RegistrarConfig {
            domain: "127.0.0.1".into(),
            aliases: Vec::new(),
            min_expires: 60,
            max_expires: 3600,
            default_expires: 3600,
            max_contacts: 5,
            max_auth_failures: 10,
            auth_failure_window: Duration::from_secs(60),
            block_for: Duration::from_secs(600),
            nonce_lifetime: Duration::from_secs(300),
            digest: DigestPolicy::Md5,
        }
    }
}

/// An agent's digest account: HA1 hashes, never the password.
pub struct Account {
    pub agent_id: String,
    pub user: String,
    ha1_md5: Zeroizing<String>,
    ha1_sha256: Zeroizing<String>,
}

impl std::fmt::Debug for Account {
    /// HA1 is password-equivalent: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("agent_id", &self.agent_id)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Account {
    /// Hash `password` for `realm` at once (RFC 7616 §3.4.2); the password is
    /// not kept.
    pub fn from_password(agent_id: &str, user: &str, realm: &str, password: &str) -> Account {
        Account {
            agent_id: agent_id.into(),
            user: user.into(),
            ha1_md5: digest::ha1(Algorithm::Md5, user, realm, password),
            ha1_sha256: digest::ha1(Algorithm::Sha256, user, realm, password),
        }
    }

    /// An account from HA1 hashes computed earlier for this registrar's
    /// realm (agents created over the API: only HA1 is stored, never the
    /// password; RFC 7616 §3.4.2).
    pub fn from_ha1(agent_id: &str, user: &str, ha1_md5: &str, ha1_sha256: &str) -> Account {
        Account {
            agent_id: agent_id.into(),
            user: user.into(),
            ha1_md5: Zeroizing::new(ha1_md5.to_ascii_lowercase()),
            ha1_sha256: Zeroizing::new(ha1_sha256.to_ascii_lowercase()),
        }
    }

    fn ha1(&self, alg: Algorithm) -> Option<&str> {
        match alg {
            Algorithm::Md5 => Some(&self.ha1_md5),
            Algorithm::Sha256 => Some(&self.ha1_sha256),
            _ => None,
        }
    }
}

/// The response the caller sends back to the REGISTER's source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub reason: &'static str,
    /// Extra headers in order (WWW-Authenticate, Contact, Min-Expires, ...).
    pub headers: Vec<(String, String)>,
}

impl Reply {
    fn new(status: u16, reason: &'static str) -> Reply {
        Reply {
            status,
            reason,
            headers: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Strikes {
    window_start: UnixMs,
    count: u32,
    blocked_until: UnixMs,
}

/// The registrar: accounts, bindings, nonces and per-source failure counts.
pub struct Registrar {
    cfg: RegistrarConfig,
    /// SIP user → account.
    accounts: HashMap<String, Account>,
    /// agent id → live bindings.
    bindings: HashMap<String, Vec<Binding>>,
    nonces: Nonces,
    strikes: HashMap<IpAddr, Strikes>,
    changes: Vec<BindingChange>,
    /// Bumped on every change of the bindings (see [`Registrar::generation`]).
    generation: u64,
    /// Compared against when the user is unknown, so both cases cost the same.
    decoy: Account,
}

impl Registrar {
    /// `secret` signs nonces; draw it from a CSPRNG once per process.
    pub fn new(cfg: RegistrarConfig, accounts: Vec<Account>, secret: [u8; 32]) -> Registrar {
        let nonces = Nonces::new(secret, cfg.nonce_lifetime.as_millis() as u64);
        let decoy = Account::from_password("", "", &cfg.domain, "decoy");
        Registrar {
            accounts: accounts.into_iter().map(|a| (a.user.clone(), a)).collect(),
            cfg,
            bindings: HashMap::new(),
            nonces,
            strikes: HashMap::new(),
            changes: Vec::new(),
            generation: 0,
            decoy,
        }
    }

    pub fn config(&self) -> &RegistrarConfig {
        &self.cfg
    }

    /// Add an account while running (an agent created over the API). Refused
    /// (`false`) when its user name belongs to another agent: a digest user
    /// names one agent only. The same agent's account is replaced.
    pub fn add_account(&mut self, account: Account) -> bool {
        if let Some(held) = self.accounts.get(&account.user) {
            if held.agent_id != account.agent_id {
                return false;
            }
        }
        self.accounts
            .retain(|_, a| a.agent_id != account.agent_id || a.user == account.user);
        self.accounts.insert(account.user.clone(), account);
        true
    }

    /// How many digest accounts the registrar holds.
    pub fn account_count(&self) -> usize {
        self.accounts.len()
    }

    /// Whether `agent_id` registers its phone here (has a digest account).
    pub fn has_account(&self, agent_id: &str) -> bool {
        self.accounts.values().any(|a| a.agent_id == agent_id)
    }

    /// The agent's live contacts at `now`, most recently refreshed first.
    pub fn contacts(&self, agent_id: &str, now: UnixMs) -> Vec<Binding> {
        let mut v: Vec<Binding> = self
            .bindings
            .get(agent_id)
            .map(|b| b.iter().filter(|b| b.expires_at > now).cloned().collect())
            .unwrap_or_default();
        v.sort_by_key(|b| std::cmp::Reverse(b.updated_at));
        v
    }

    /// Where the live bindings' REGISTERs came from, each with the instant
    /// (Unix ms) its binding lapses: the agents' phones that may place calls
    /// (issue #14's inbound allow list).
    pub fn sources(&self, now: UnixMs) -> Vec<(IpAddr, UnixMs)> {
        self.bindings
            .values()
            .flatten()
            .filter(|b| b.expires_at > now)
            .map(|b| (b.source.ip(), b.expires_at))
            .collect()
    }

    /// A counter that moves whenever the bindings change, so a reader of
    /// [`Registrar::sources`] knows when to look again.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Take back stored bindings after a restart: expired ones and ones of
    /// agents without an account any more are dropped (and reported removed).
    pub fn restore(&mut self, stored: Vec<Binding>, now: UnixMs) {
        self.generation += 1;
        for b in stored {
            if b.expires_at > now && self.has_account(&b.agent_id) {
                self.bindings.entry(b.agent_id.clone()).or_default().push(b);
            } else {
                self.changes.push(BindingChange::Removed {
                    agent_id: b.agent_id,
                    contact: b.contact,
                });
            }
        }
    }

    /// Drop bindings that lapsed by `now` (reported as changes).
    pub fn expire(&mut self, now: UnixMs) {
        let before = self.changes.len();
        for list in self.bindings.values_mut() {
            list.retain(|b| {
                let live = b.expires_at > now;
                if !live {
                    self.changes.push(BindingChange::Removed {
                        agent_id: b.agent_id.clone(),
                        contact: b.contact.clone(),
                    });
                }
                live
            });
        }
        self.bindings.retain(|_, l| !l.is_empty());
        if self.changes.len() != before {
            self.generation += 1;
        }
    }

    /// When [`Registrar::expire`] next has work.
    pub fn poll_timeout(&self) -> Option<UnixMs> {
        self.bindings.values().flatten().map(|b| b.expires_at).min()
    }

    /// The next binding change to mirror in the store.
    pub fn poll_change(&mut self) -> Option<BindingChange> {
        if self.changes.is_empty() {
            None
        } else {
            Some(self.changes.remove(0))
        }
    }

    /// Whether `ip` is blocked for failed authentications at `now`.
    pub fn is_blocked(&self, ip: IpAddr, now: UnixMs) -> bool {
        self.strikes.get(&ip).is_some_and(|s| s.blocked_until > now)
    }

    /// Answer one REGISTER received from `source` over `transport`.
    pub fn handle(
        &mut self,
        now: UnixMs,
        source: SocketAddr,
        transport: Transport,
        req: &Message,
        rng: &mut impl RngCore,
    ) -> Reply {
        let StartLine::Request { method, uri } = &req.start else {
            return Reply::new(400, "Bad Request");
        };
        if *method != Method::Register {
            return Reply::new(405, "Method Not Allowed");
        }
        // A blocked source costs us no digest work at all.
        if self.is_blocked(source.ip(), now) {
            return Reply::new(403, "Forbidden");
        }
        // §10.3 step 1: the Request-URI names our domain.
        let ours = uri.as_sip().is_some_and(|u| {
            u.user.is_none()
                && (u.host.eq_ignore_ascii_case(&self.cfg.domain)
                    || self
                        .cfg
                        .aliases
                        .iter()
                        .any(|a| u.host.eq_ignore_ascii_case(a)))
        });
        if !ours {
            return Reply::new(404, "Not Found");
        }
        // §10.3 step 3 / §22.3: authenticate.
        let (agent_id, user) = match self.authenticate(now, source.ip(), req, &uri.to_string()) {
            Ok(a) => a,
            Err(kind) => return self.challenge(now, kind, rng),
        };
        // §10.3 step 5/6: the AOR in To must be the authenticated user's.
        let to_user = req.to.uri.as_sip().and_then(|u| u.user_unescaped());
        if to_user.as_deref() != Some(user.as_bytes()) {
            return Reply::new(403, "Forbidden");
        }
        self.update_bindings(now, source, transport, req, &agent_id)
    }

    /// The (agent id, user) whose credentials verify, or the kind of 401 to send.
    fn authenticate(
        &mut self,
        now: UnixMs,
        ip: IpAddr,
        req: &Message,
        request_uri: &str,
    ) -> Result<(String, String), Challenge> {
        let realm = self.cfg.domain.clone();
        let creds = req
            .headers("Authorization")
            .filter_map(|v| digest::parse_credentials(v).ok())
            .find(|c| c.realm == realm);
        let Some(cr) = creds else {
            // A first REGISTER carries none: not a failure (§22.1).
            let tried = req.header("Authorization").is_some();
            if tried {
                self.strike(ip, now);
            }
            return Err(Challenge::Fresh);
        };
        let offered = self.cfg.digest.algorithms();
        if !offered.contains(&cr.algorithm) || cr.qop != Some(Qop::Auth) {
            return Err(Challenge::Fresh);
        }
        let nonce_state = self.nonces.check(&cr.nonce, now);
        let account = self.accounts.get(&cr.username);
        let who = account.map(|a| (a.agent_id.clone(), a.user.clone()));
        let ha1 = account
            .and_then(|a| a.ha1(cr.algorithm))
            .or_else(|| self.decoy.ha1(cr.algorithm))
            .unwrap_or("");
        // RFC 7616 §3.4.6: the digest-uri must name this request's Request-URI.
        let right = same_uri(&cr.uri, request_uri)
            && digest::verify_ha1(&cr, "REGISTER", ha1, &realm, &cr.nonce);
        let who = match who {
            Some(w) if right && nonce_state != NonceState::Forged => w,
            _ => {
                self.strike(ip, now);
                return Err(Challenge::Fresh);
            }
        };
        // Right password: an old or replayed nonce only needs a new one.
        if nonce_state == NonceState::Expired {
            return Err(Challenge::Stale);
        }
        if !self
            .nonces
            .accept_count(&cr.nonce, cr.nc.as_deref().unwrap_or(""), now)
        {
            return Err(Challenge::Stale);
        }
        Ok(who)
    }

    /// Count a failed authentication from `ip`; block it past the limit.
    fn strike(&mut self, ip: IpAddr, now: UnixMs) {
        let window = self.cfg.auth_failure_window.as_millis() as u64;
        if self.strikes.len() >= MAX_SOURCES && !self.strikes.contains_key(&ip) {
            self.strikes.retain(|_, s| {
                s.blocked_until > now || now.saturating_sub(s.window_start) <= window
            });
            if self.strikes.len() >= MAX_SOURCES {
                return;
            }
        }
        let s = self.strikes.entry(ip).or_insert(Strikes {
            window_start: now,
            count: 0,
            blocked_until: 0,
        });
        if now.saturating_sub(s.window_start) > window {
            s.window_start = now;
            s.count = 0;
        }
        s.count += 1;
        if s.count >= self.cfg.max_auth_failures.max(1) {
            s.blocked_until = now + self.cfg.block_for.as_millis() as u64;
            s.count = 0;
            s.window_start = now;
            tracing::warn!(source = %ip, "REGISTER source blocked after repeated failed authentications");
        }
    }

    /// 401 with one fresh nonce, offered per [`DigestPolicy`] (RFC 8760 §2.4).
    fn challenge(&mut self, now: UnixMs, kind: Challenge, rng: &mut impl RngCore) -> Reply {
        let mut salt = [0u8; 8];
        rng.fill_bytes(&mut salt);
        let nonce = self.nonces.issue(now, salt);
        let stale = if kind == Challenge::Stale {
            ", stale=true"
        } else {
            ""
        };
        let mut r = Reply::new(401, "Unauthorized");
        for alg in self.cfg.digest.algorithms() {
            r.headers.push((
                "WWW-Authenticate".into(),
                format!(
                    "Digest realm=\"{}\", nonce=\"{nonce}\", algorithm={}, qop=\"auth\"{stale}",
                    self.cfg.domain,
                    alg.token()
                ),
            ));
        }
        r
    }

    /// §10.3 steps 6–8 for an authenticated agent.
    fn update_bindings(
        &mut self,
        now: UnixMs,
        source: SocketAddr,
        transport: Transport,
        req: &Message,
        agent_id: &str,
    ) -> Reply {
        let header_expires: Option<u32> = req.header("Expires").and_then(|v| v.trim().parse().ok());
        let current: Vec<Binding> = self.contacts(agent_id, now);
        let star = req.headers("Contact").any(|v| v.trim() == "*");
        let changes = if star {
            // §10.3 step 6: `*` only alone and with Expires: 0.
            if !req.contact.is_empty() || header_expires != Some(0) {
                return Reply::new(400, "Bad Request");
            }
            match bindings::remove_all(&current, &req.call_id, req.cseq.seq) {
                Ok(c) => c,
                Err(Refusal::OutOfOrder) => return Reply::new(400, "Bad Request"),
            }
        } else {
            let mut updates = Vec::with_capacity(req.contact.len());
            for c in &req.contact {
                let param = c
                    .param("expires")
                    .flatten()
                    .and_then(|v| v.trim().parse::<u32>().ok());
                let asked = param.or(header_expires).unwrap_or(self.cfg.default_expires);
                if asked != 0 && asked < self.cfg.min_expires {
                    let mut r = Reply::new(423, "Interval Too Brief");
                    r.headers
                        .push(("Min-Expires".into(), self.cfg.min_expires.to_string()));
                    return r;
                }
                updates.push(Update {
                    contact: c.uri.to_string(),
                    expires: asked.min(self.cfg.max_expires),
                    call_id: &req.call_id,
                    cseq: req.cseq.seq,
                });
            }
            let user_agent = req.header("User-Agent").map(|ua| {
                ua.chars()
                    .filter(|c| !c.is_control())
                    .take(128)
                    .collect::<String>()
            });
            let make = |u: &Update<'_>| Binding {
                agent_id: agent_id.to_string(),
                contact: u.contact.clone(),
                source,
                transport,
                call_id: u.call_id.to_string(),
                cseq: u.cseq,
                expires_at: now + u64::from(u.expires) * 1000,
                updated_at: now,
                user_agent: user_agent.clone(),
            };
            match bindings::apply(&current, &updates, make, self.cfg.max_contacts) {
                Ok((_, c)) => c,
                Err(Refusal::OutOfOrder) => return Reply::new(400, "Bad Request"),
            }
        };
        // Commit: bindings that lapsed but were not yet expired are dropped too.
        let mut next = current;
        for ch in &changes {
            match ch {
                BindingChange::Saved(b) => {
                    match next.iter_mut().find(|x| x.same_contact(&b.contact)) {
                        Some(x) => *x = b.clone(),
                        None => next.push(b.clone()),
                    }
                }
                BindingChange::Removed { contact, .. } => next.retain(|x| !x.same_contact(contact)),
            }
        }
        if let Some(old) = self.bindings.get(agent_id) {
            for b in old.iter().filter(|b| b.expires_at <= now) {
                self.changes.push(BindingChange::Removed {
                    agent_id: b.agent_id.clone(),
                    contact: b.contact.clone(),
                });
            }
        }
        self.changes.extend(changes);
        self.generation += 1;
        if next.is_empty() {
            self.bindings.remove(agent_id);
        } else {
            self.bindings.insert(agent_id.to_string(), next);
        }
        // §10.3 step 8: 200 lists every current binding with its expiry.
        let mut r = Reply::new(200, "OK");
        for b in self.contacts(agent_id, now) {
            r.headers.push((
                "Contact".into(),
                format!("<{}>;expires={}", b.contact, b.remaining_secs(now)),
            ));
        }
        r
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Challenge {
    Fresh,
    Stale,
}
