//! A throwaway PKI for SIP over TLS tests, made at test time with the
//! `openssl` CLI (no certificate is committed): a CA, and leaf certificates
//! for 127.0.0.1 / localhost signed by it, in the shapes the peers want
//! (orderline: chain and key apart; baresip: one PEM holding both).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// One CA and where its files are.
pub struct TestCa {
    pub dir: PathBuf,
    pub name: String,
    /// The CA's certificate: the trust anchor peers are given.
    pub cert: PathBuf,
    key: PathBuf,
}

/// A leaf certificate for 127.0.0.1 and localhost.
pub struct Leaf {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// Certificate then key in one file (baresip's `sip_certificate`).
    pub combined: PathBuf,
}

fn openssl(args: &[&str]) {
    super::require("openssl");
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

impl TestCa {
    /// A fresh P-256 CA named `name` under `dir`.
    pub fn new(dir: &Path, name: &str) -> TestCa {
        let cert = dir.join(format!("{name}-ca.pem"));
        let key = dir.join(format!("{name}-ca.key"));
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            s(&key),
            "-out",
            s(&cert),
            "-days",
            "2",
            "-subj",
            &format!("/CN={name} test CA"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        TestCa {
            dir: dir.to_path_buf(),
            name: name.to_string(),
            cert,
            key,
        }
    }

    /// A leaf for `cn` with SANs IP:127.0.0.1 and DNS:localhost, usable as
    /// server and client certificate.
    pub fn leaf(&self, cn: &str) -> Leaf {
        let base = self.dir.join(format!("{}-{cn}", self.name));
        let (cert, key, csr, ext, combined) = (
            base.with_extension("pem"),
            base.with_extension("key"),
            base.with_extension("csr"),
            base.with_extension("ext"),
            base.with_extension("both.pem"),
        );
        openssl(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            s(&key),
            "-out",
            s(&csr),
            "-subj",
            &format!("/CN={cn}"),
        ]);
        std::fs::write(
            &ext,
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
             keyUsage=digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n",
        )
        .expect("write extensions");
        openssl(&[
            "x509",
            "-req",
            "-in",
            s(&csr),
            "-CA",
            s(&self.cert),
            "-CAkey",
            s(&self.key),
            "-CAcreateserial",
            "-out",
            s(&cert),
            "-days",
            "2",
            "-extfile",
            s(&ext),
        ]);
        let both = [
            std::fs::read(&cert).expect("read cert"),
            std::fs::read(&key).expect("read key"),
        ]
        .concat();
        std::fs::write(&combined, both).expect("write combined pem");
        Leaf {
            cert,
            key,
            combined,
        }
    }
}
