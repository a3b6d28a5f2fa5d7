//! The server's certificate: the user's (`--cert`/`--key`, PEM), or one made once per project
//! and kept beside it (`PROJECT.serve-cert.pem`, `PROJECT.serve-key.pem`, the key readable by
//! its owner only), so its fingerprint stays the one the curator passed on. Both are written
//! through the core's staged writer, which never replaces a file: an existing pair is read, a
//! half pair is refused. rcgen makes the certificate (a kept X.509 writer, ECDSA P-256 on
//! `ring`); its names are `localhost`, the loopback addresses and the address bound, and the
//! browser is told to trust it by its SHA-256 fingerprint, which the curator passes on.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use verdikt_core::staged::{StageError, Staged};

use crate::ServeError;

/// The certificate in use and where it is.
pub struct Certificate {
    pub config: Arc<ServerConfig>,
    /// SHA-256 of the leaf certificate (DER), as browsers show it: `AB:CD:…`.
    pub fingerprint: String,
    pub cert: PathBuf,
    /// Made now (first serve of this project).
    pub made: bool,
}

/// Where the project's own certificate and key are kept.
pub fn project_files(project: &Path) -> (PathBuf, PathBuf) {
    let beside = |suffix: &str| {
        let mut name = project.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    (beside(".serve-cert.pem"), beside(".serve-key.pem"))
}

/// The user's pair, or the project's (made now if there is none yet).
pub fn certificate(
    project: &Path,
    user: Option<(&Path, &Path)>,
    bound: IpAddr,
) -> Result<Certificate, ServeError> {
    let (cert, key, made) = match user {
        Some((cert, key)) => (cert.to_path_buf(), key.to_path_buf(), false),
        None => {
            let (cert, key) = project_files(project);
            let made = match (cert.exists(), key.exists()) {
                (true, true) => false,
                (false, false) => {
                    make(&cert, &key, bound)?;
                    true
                }
                _ => {
                    return Err(ServeError::Certificate(format!(
                        "only one of {} and {} exists; move the other away to make a new pair",
                        cert.display(),
                        key.display()
                    )));
                }
            };
            (cert, key, made)
        }
    };
    let bad = |path: &Path, e: &dyn std::fmt::Display| {
        ServeError::Certificate(format!("{}: {e}", path.display()))
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert)
        .and_then(|certs| certs.collect())
        .map_err(|e| bad(&cert, &e))?;
    let Some(leaf) = chain.first() else {
        return Err(bad(&cert, &"holds no certificate"));
    };
    let fingerprint = fingerprint(leaf);
    let private = PrivateKeyDer::from_pem_file(&key).map_err(|e| bad(&key, &e))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(chain, private))
        .map_err(|e| bad(&cert, &e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Certificate {
        config: Arc::new(config),
        fingerprint,
        cert,
        made,
    })
}

pub fn fingerprint(cert: &[u8]) -> String {
    Sha256::digest(cert)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn make(cert: &Path, key: &Path, bound: IpAddr) -> Result<(), ServeError> {
    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    if !bound.is_unspecified() && !bound.is_loopback() {
        names.push(bound.to_string());
    }
    let made = rcgen::generate_simple_self_signed(names)
        .map_err(|e| ServeError::Certificate(format!("making a certificate: {e}")))?;
    // The key first: a certificate without its key would block the next start.
    write(key, made.signing_key.serialize_pem().as_bytes(), true)?;
    write(cert, made.cert.pem().as_bytes(), false)?;
    Ok(())
}

fn write(target: &Path, bytes: &[u8], secret: bool) -> Result<(), ServeError> {
    let failed = |e: &dyn std::fmt::Display| {
        ServeError::Certificate(format!("writing {}: {e}", target.display()))
    };
    let staged = Staged::file(target, false).map_err(|e: StageError| failed(&e))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut file = options.open(&staged.tmp).map_err(|e| failed(&e))?;
    std::io::Write::write_all(&mut file, bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| failed(&e))?;
    staged.commit().map_err(|e| failed(&e))
}
