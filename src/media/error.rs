//! The media layer's error. It sits at the bottom of the layer so that the
//! sans-IO leg and the tokio edge (the bound sockets, the call and bridge
//! tasks) all return it while imports run one way (issue #9: no cycles).

use std::net::SocketAddr;
use std::path::PathBuf;

use super::player::PlayerError;
use crate::audio::AudioError;

/// Errors of the media layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    #[error("no free RTP port pair in the configured range")]
    NoPorts,
    #[error("cannot bind RTP/RTCP socket on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("ptime {0} ms not supported (10..=60 in steps of 10)")]
    BadPtime(u32),
    #[error("telephone-event payload type {0} is not dynamic (96..=127)")]
    BadDtmfPayloadType(u8),
    #[error(transparent)]
    Player(#[from] PlayerError),
    #[error("cannot write recording {path}: {source}")]
    Record { path: PathBuf, source: AudioError },
    #[error("answering-machine detection: {0}")]
    Amd(orderline_amd::ConfigError),
    #[error("the media task has ended")]
    Closed,
    /// A bridge command for the customer leg before it was connected.
    #[error("the customer leg is not connected")]
    NotConnected,
    /// A second customer leg for one bridge.
    #[error("the customer leg is already connected")]
    AlreadyConnected,
}
