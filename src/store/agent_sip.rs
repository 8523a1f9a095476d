//! Digest credentials of agents created over the API (migration 0005):
//! only HA1 hashes, for the realm they were computed in. The registrar
//! (`crate::sip::registrar`) owns the rules; the store keeps the hashes so
//! a restart can rebuild its accounts.

use super::error::QueryContext;
use super::model::get;
use super::{Store, StoreError};

/// What the store keeps of an API agent's SIP password: its HA1 hashes
/// (RFC 7616 §3.4.2: `H(user:realm:password)`), MD5 and SHA-256, lowercase hex.
#[derive(Clone, PartialEq, Eq)]
pub struct SipCredentials {
    pub user: String,
    pub realm: String,
    pub ha1_md5: String,
    pub ha1_sha256: String,
}

impl std::fmt::Debug for SipCredentials {
    /// HA1 is password-equivalent: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SipCredentials")
            .field("user", &self.user)
            .field("realm", &self.realm)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Whether a stored agent (not removed) registers as `user`.
    pub async fn sip_user_taken(&self, user: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM agents WHERE sip_user = $1")
            .bind(user)
            .fetch_one(&self.pool)
            .await
            .during("look up a SIP user")?;
        Ok(get::<i64>(&row, "agents", "n")? > 0)
    }

    /// Every API agent that registers, with its credentials, by agent id.
    pub async fn registering_agents(&self) -> Result<Vec<(String, SipCredentials)>, StoreError> {
        const T: &str = "agents";
        sqlx::query(
            "SELECT id, sip_user, sip_realm, ha1_md5, ha1_sha256 FROM agents \
             WHERE sip_user IS NOT NULL AND removed_at IS NULL ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await
        .during("load registering agents")?
        .iter()
        .map(|row| {
            Ok((
                get(row, T, "id")?,
                SipCredentials {
                    user: get(row, T, "sip_user")?,
                    realm: get(row, T, "sip_realm")?,
                    ha1_md5: get(row, T, "ha1_md5")?,
                    ha1_sha256: get(row, T, "ha1_sha256")?,
                },
            ))
        })
        .collect()
    }
}
