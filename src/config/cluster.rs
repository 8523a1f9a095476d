//! `[cluster]`: this process is one of several `orderline serve` nodes on
//! one PostgreSQL (issue #16, README "Scaling out").
//!
//! The node name is required, not derived: a live attempt is owned by a
//! name, and a restarted node reclaims its own rows by it, so a name that
//! changed with every start (hostname-pid) would leave them to lease expiry.

use std::time::Duration;

use serde::Deserialize;

use super::{invalid, parse_duration, ConfigError};

/// The shortest lease: renewals run every third of it, and a slow database
/// round trip must not let a healthy node's calls expire.
pub const MIN_LEASE: Duration = Duration::from_secs(5);

/// `[cluster]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSection {
    /// This node's name, unique in the cluster: `[a-z0-9-]{1,32}`.
    pub node: Option<String>,
    /// How long a claim holds without renewal, e.g. `"30s"` (at least 5 s).
    #[serde(default = "default_lease")]
    pub lease: String,
}

fn default_lease() -> String {
    "30s".into()
}

/// `[cluster]` checked: who this node is and how long its leases last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterNode {
    pub node: String,
    pub lease: Duration,
}

impl ClusterSection {
    /// Check the section against the database URL it would share.
    pub fn check(&self, database_url: &str) -> Result<ClusterNode, ConfigError> {
        if database_url.starts_with("sqlite:") {
            return Err(invalid(
                "cluster",
                "needs a PostgreSQL [database] url: SQLite is one process's file, \
                 nodes on several machines cannot share it",
            ));
        }
        let node = self.node.as_deref().ok_or_else(|| {
            invalid(
                "cluster.node",
                "required: a name unique in the cluster, e.g. node = \"a\"",
            )
        })?;
        let valid = (1..=32).contains(&node.len())
            && node
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid {
            return Err(invalid(
                "cluster.node",
                format!("{node:?}: use 1 to 32 of a-z, 0-9 and -"),
            ));
        }
        let lease = parse_duration(&self.lease).map_err(|e| invalid("cluster.lease", e))?;
        if lease < MIN_LEASE {
            return Err(invalid("cluster.lease", "must be at least 5s"));
        }
        Ok(ClusterNode {
            node: node.to_string(),
            lease,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(node: Option<&str>, lease: &str) -> ClusterSection {
        ClusterSection {
            node: node.map(Into::into),
            lease: lease.into(),
        }
    }

    const PG: &str = "postgres://u@127.0.0.1/db";

    fn key_of(e: ConfigError) -> String {
        match e {
            ConfigError::Invalid { key, .. } => key,
            other => panic!("not a key error: {other}"),
        }
    }

    #[test]
    fn a_named_node_with_a_lease() {
        assert_eq!(
            section(Some("node-2"), "30s").check(PG).ok(),
            Some(ClusterNode {
                node: "node-2".into(),
                lease: Duration::from_secs(30)
            })
        );
    }

    #[test]
    fn the_node_name_is_required_and_checked() {
        for bad in [
            None,
            Some(""),
            Some("Node"),
            Some("a_b"),
            Some(&"x".repeat(33)[..]),
        ] {
            let e = section(bad, "30s").check(PG).expect_err("accepted");
            assert_eq!(key_of(e), "cluster.node", "{bad:?}");
        }
    }

    #[test]
    fn the_lease_is_at_least_five_seconds() {
        for bad in ["4s", "500ms", "soon"] {
            let e = section(Some("a"), bad).check(PG).expect_err("accepted");
            assert_eq!(key_of(e), "cluster.lease", "{bad}");
        }
        assert!(section(Some("a"), "5s").check(PG).is_ok());
    }

    #[test]
    fn sqlite_cannot_be_shared() {
        let e = section(Some("a"), "30s")
            .check("sqlite://orderline.db")
            .expect_err("accepted");
        assert_eq!(key_of(e), "cluster");
    }
}
