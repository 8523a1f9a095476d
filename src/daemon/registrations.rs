//! Agents' phones registering (issue #10): the daemon's side of the sans-IO
//! [`Registrar`]. Builds it from the config (HA1 hashed at start), takes
//! back the stored bindings, hands it to the SIP driver, mirrors every
//! binding change into the store and expires bindings on time; and answers
//! the call layer's "where is agent X's phone now".

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::RngCore;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config::{registrar_accounts, Config};
use crate::sip::registrar::{Account, Binding, BindingChange, Registrar, UnixMs};
use crate::sip::{RegistrarLink, SipClient, Transport, Uri};
use crate::store::{SipCredentials, Store, StoreError, StoredBinding};

/// Longest wait between expiry sweeps (a binding lapses in lookups at once;
/// the sweep only removes it from memory and the store).
const SWEEP: Duration = Duration::from_secs(1);

/// Build the registrar — always: agents created over the API may register
/// at any time — with the config agents' accounts (HA1 hashed now) and the
/// stored API agents' HA1 hashes, restore its stored bindings (dropping
/// lapsed ones) and attach it to the SIP driver (REGISTER is then answered
/// and listed in Allow).
pub async fn start(
    cfg: &Config,
    store: &Store,
    sip: &SipClient,
    clock: Clock,
) -> anyhow::Result<Option<RegistrarLink>> {
    let rcfg = cfg.sip.registrar_config()?;
    let mut accounts = registrar_accounts(&cfg.agents, &rcfg.domain);
    for (agent_id, sip) in store.registering_agents().await? {
        if sip.realm != rcfg.domain {
            // HA1 binds the realm: after a change of [sip] domain these
            // hashes can never match; the agent needs a new password.
            tracing::warn!(agent = %agent_id, realm = %sip.realm, domain = %rcfg.domain,
                "an API agent's SIP credentials are for another realm; it cannot register");
            continue;
        }
        if accounts.iter().any(|a| a.user == sip.user) {
            tracing::warn!(agent = %agent_id, user = %sip.user,
                "an API agent's SIP user is a config agent's; the config agent keeps it");
            continue;
        }
        accounts.push(Account::from_ha1(
            &agent_id,
            &sip.user,
            &sip.ha1_md5,
            &sip.ha1_sha256,
        ));
    }
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let mut registrar = Registrar::new(rcfg, accounts, secret);
    let now = u64::try_from(clock.now_millis()).unwrap_or(0);
    let stored = store.live_bindings(chrono_ms(now)).await?;
    let purged = store.purge_expired_bindings(chrono_ms(now)).await?;
    let restored = stored.len();
    registrar.restore(stored.into_iter().filter_map(from_row).collect(), now);
    tracing::info!(
        restored,
        purged,
        accounts = registrar.account_count(),
        "registrar ready"
    );
    let link = RegistrarLink {
        registrar: Arc::new(Mutex::new(registrar)),
        changed: Arc::new(Notify::new()),
        clock,
    };
    sip.attach_registrar(link.clone()).await?;
    Ok(Some(link))
}

/// Give the running registrar an API agent's account (its stored HA1
/// hashes). `false` when the credentials are for another realm or the user
/// is another agent's.
pub fn add_account(link: &RegistrarLink, agent_id: &str, sip: &SipCredentials) -> bool {
    let mut r = link.registrar.lock().unwrap_or_else(|p| p.into_inner());
    if r.config().domain != sip.realm {
        return false;
    }
    r.add_account(Account::from_ha1(
        agent_id,
        &sip.user,
        &sip.ha1_md5,
        &sip.ha1_sha256,
    ))
}

/// Mirror binding changes into the store and expire bindings, until `stop`.
pub async fn persist(link: RegistrarLink, store: Store, stop: CancellationToken) {
    loop {
        let next = {
            let mut r = link.registrar.lock().unwrap_or_else(|p| p.into_inner());
            r.expire(link.unix_ms());
            r.poll_timeout()
        };
        flush(&link, &store).await;
        let wait = next
            .map(|t| Duration::from_millis(t.saturating_sub(link.unix_ms())).min(SWEEP))
            .unwrap_or(SWEEP);
        tokio::select! {
            _ = link.changed.notified() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = stop.cancelled() => {
                flush(&link, &store).await;
                return;
            }
        }
    }
}

async fn flush(link: &RegistrarLink, store: &Store) {
    loop {
        let change = link
            .registrar
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .poll_change();
        let Some(change) = change else { return };
        let r: Result<(), StoreError> = match &change {
            BindingChange::Saved(b) => store.save_binding(&to_row(b)).await,
            BindingChange::Removed { agent_id, contact } => {
                store.remove_binding(agent_id, contact).await
            }
            other => {
                tracing::warn!(change = ?other, "a binding change this daemon does not store");
                Ok(())
            }
        };
        match r {
            Ok(()) => tracing::debug!(?change, "binding stored"),
            Err(e) => {
                tracing::error!(error = %e, "storing a SIP binding failed (it stays live in memory)")
            }
        }
    }
}

fn chrono_ms(ms: UnixMs) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms as i64).unwrap_or_default()
}

fn to_row(b: &Binding) -> StoredBinding {
    StoredBinding {
        agent_id: b.agent_id.clone(),
        contact: b.contact.clone(),
        source: b.source.to_string(),
        transport: b.transport.param().into(),
        call_id: b.call_id.clone(),
        cseq: i64::from(b.cseq),
        expires_at: b.expires_at as i64,
        updated_at: b.updated_at as i64,
        user_agent: b.user_agent.clone(),
    }
}

/// A stored row back into a binding; an unreadable one is skipped (logged).
fn from_row(r: StoredBinding) -> Option<Binding> {
    let source: SocketAddr = match r.source.parse() {
        Ok(s) => s,
        Err(_) => {
            tracing::warn!(agent = %r.agent_id, "stored binding with a bad source address skipped");
            return None;
        }
    };
    Some(Binding {
        agent_id: r.agent_id,
        contact: r.contact,
        source,
        transport: Transport::from_param(&r.transport).unwrap_or(Transport::Udp),
        call_id: r.call_id,
        cseq: u32::try_from(r.cseq).unwrap_or(0),
        expires_at: u64::try_from(r.expires_at).unwrap_or(0),
        updated_at: u64::try_from(r.updated_at).unwrap_or(0),
        user_agent: r.user_agent,
    })
}

/// Where to ring a registering agent: its most recently refreshed contact,
/// with host and port replaced by the REGISTER's source address when they
/// differ (a phone behind NAT registers a private Contact; only the source
/// reaches it: RFC 3581, "fix nated contact"). `None`: the agent does not
/// register here. `Some(None)`: it does, and has no live binding.
pub fn agent_target(link: &RegistrarLink, agent_id: &str, now: UnixMs) -> Option<Option<String>> {
    let r = link.registrar.lock().unwrap_or_else(|p| p.into_inner());
    if !r.has_account(agent_id) {
        return None;
    }
    let b = r.contacts(agent_id, now).into_iter().next();
    Some(b.map(|b| dial_uri(&b)))
}

/// The agent's live bindings as the API shows them.
pub fn shown(link: &RegistrarLink, agent_id: &str, now: UnixMs) -> Vec<crate::api::Registration> {
    let r = link.registrar.lock().unwrap_or_else(|p| p.into_inner());
    r.contacts(agent_id, now)
        .into_iter()
        .map(|b| crate::api::Registration {
            expires_in_s: b.remaining_secs(now),
            source: b.source.to_string(),
            transport: b.transport.param(),
            contact: b.contact,
            user_agent: b.user_agent,
        })
        .collect()
}

fn dial_uri(b: &Binding) -> String {
    let Ok(Uri::Sip(mut u)) = Uri::parse(&b.contact) else {
        return b.contact.clone();
    };
    let host = match b.source.ip() {
        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
        v4 => v4.to_string(),
    };
    u.host = host;
    u.port = Some(b.source.port());
    if b.transport != Transport::Udp && u.param("transport").is_none() {
        u.params
            .push(("transport".into(), Some(b.transport.param().into())));
    }
    u.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_natted_contact_is_rung_at_its_source_and_rows_round_trip() {
        let b = Binding {
            agent_id: "ayesha".into(),
            contact: "sip:1001@192.168.1.20:5060;ob".into(),
            source: "127.0.0.1:40123".parse().expect("addr"),
            transport: Transport::Tcp,
            call_id: "c".into(),
            cseq: 7,
            expires_at: 1_800_000_060_000,
            updated_at: 1_800_000_000_000,
            user_agent: Some("baresip".into()),
        };
        assert_eq!(dial_uri(&b), "sip:1001@127.0.0.1:40123;ob;transport=tcp");
        assert_eq!(from_row(to_row(&b)), Some(b.clone()));
        // A phone registered over TLS is rung over TLS, back on its connection.
        let tls = Binding {
            transport: Transport::Tls,
            ..b
        };
        assert_eq!(dial_uri(&tls), "sip:1001@127.0.0.1:40123;ob;transport=tls");
        assert_eq!(to_row(&tls).transport, "tls");
        assert_eq!(from_row(to_row(&tls)), Some(tls));
    }
}
