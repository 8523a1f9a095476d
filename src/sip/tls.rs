//! SIP over TLS at the driver's edge (RFC 3261 §26.2, issue #14): the
//! `[sip.tls]` section turned into a rustls acceptor (the listener) and
//! connector (trunks, agents' phones). The sans-IO core never sees any of
//! it: it only knows `Transport::Tls` as a reliable stream.
//!
//! Peer verification is on unless the config says `verify = false`:
//! trust anchors are `ca_file` (a carrier's or a lab's private CA) or the
//! Mozilla roots; the name checked is the host of the URI the call went to
//! (RFC 5922 §7.2: the SIP domain, an IP literal against an IP SAN).

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::config::TlsSection;

/// Why TLS could not be set up, naming the file at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    #[error("sip.tls: cannot read {what} from {path}: {reason}")]
    Pem {
        what: &'static str,
        path: String,
        reason: String,
    },
    #[error("sip.tls: {0}")]
    Rustls(#[from] rustls::Error),
}

/// What the driver needs for TLS: how to connect out (always: a trunk
/// located by NAPTR may pick TLS), and how to accept, when it listens.
#[derive(Clone)]
pub struct SipTls {
    pub connector: TlsConnector,
    pub acceptor: Option<TlsAcceptor>,
    /// Where to listen (`[sip.tls] listen`).
    pub listen: Option<std::net::SocketAddr>,
}

impl std::fmt::Debug for SipTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SipTls")
            .field("listen", &self.listen)
            .field("accepts", &self.acceptor.is_some())
            .finish()
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl SipTls {
    /// From `[sip.tls]`; without the section: connect only, verifying
    /// against the Mozilla roots.
    pub fn from_config(section: Option<&TlsSection>) -> Result<SipTls, TlsError> {
        let Some(s) = section else {
            return Ok(SipTls {
                connector: TlsConnector::from(Arc::new(client_config(roots(None)?, true, None)?)),
                acceptor: None,
                listen: None,
            });
        };
        let identity = match (&s.certificate, &s.key) {
            (Some(c), Some(k)) => Some((certs(c)?, key(k)?)),
            _ => None,
        };
        if !s.verify {
            tracing::warn!(
                "sip.tls.verify = false: TLS peers are NOT authenticated; \
                 anyone on the path can read and change signalling (lab use only)"
            );
        }
        let client = client_config(
            roots(s.ca_file.as_deref())?,
            s.verify,
            identity.as_ref().map(|(c, k)| (c.clone(), k.clone_key())),
        )?;
        let acceptor = match (&s.listen, identity) {
            (Some(_), Some((chain, key))) => {
                let server = ServerConfig::builder_with_provider(provider())
                    .with_safe_default_protocol_versions()?
                    .with_no_client_auth()
                    .with_single_cert(chain, key)?;
                Some(TlsAcceptor::from(Arc::new(server)))
            }
            _ => None,
        };
        Ok(SipTls {
            connector: TlsConnector::from(Arc::new(client)),
            acceptor,
            listen: s.listen,
        })
    }
}

/// The name a TLS peer's certificate must carry: the URI's host (a DNS
/// name, or an IP literal checked against IP SANs).
pub fn server_name(host: &str) -> Option<ServerName<'static>> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Some(ServerName::IpAddress(ip.into()));
    }
    ServerName::try_from(bare.to_string()).ok()
}

fn pem_error(what: &'static str, path: &Path, e: impl std::fmt::Display) -> TlsError {
    TlsError::Pem {
        what,
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_error("certificates", path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error("certificates", path, e))?;
    if chain.is_empty() {
        return Err(pem_error("certificates", path, "no CERTIFICATE block"));
    }
    Ok(chain)
}

fn key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| pem_error("a private key", path, e))
}

fn roots(ca_file: Option<&Path>) -> Result<RootCertStore, TlsError> {
    let mut store = RootCertStore::empty();
    match ca_file {
        Some(path) => {
            for cert in certs(path)? {
                store
                    .add(cert)
                    .map_err(|e| pem_error("a CA certificate", path, e))?;
            }
        }
        None => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    Ok(store)
}

type Identity = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

fn client_config(
    roots: RootCertStore,
    verify: bool,
    identity: Option<Identity>,
) -> Result<ClientConfig, TlsError> {
    let builder =
        ClientConfig::builder_with_provider(provider()).with_safe_default_protocol_versions()?;
    let builder = if verify {
        builder.with_root_certificates(roots)
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider())))
    };
    // Some carriers authenticate us by our certificate (mutual TLS).
    Ok(match identity {
        Some((chain, key)) => builder.with_client_auth_cert(chain, key)?,
        None => builder.with_no_client_auth(),
    })
}

/// `verify = false`: any certificate is taken (signatures are still checked,
/// so the handshake itself stays sound).
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
