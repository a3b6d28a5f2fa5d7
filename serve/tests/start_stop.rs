//! The server the window starts and stops (`verdikt_serve::start`): it listens once `start`
//! returns, a second server on the same port is refused in words, and after `stop` the port is
//! closed and free for the next start.

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

fn options(project: &Path, bind: SocketAddr) -> verdikt_serve::Options {
    verdikt_serve::Options {
        project: project.to_path_buf(),
        bind,
        cert: None,
        ui: Some(project.with_file_name("no-ui-here")),
        behind_proxy: false,
        session_lifetime: Duration::from_secs(60),
        limits: verdikt_serve::Limits::default(),
    }
}

#[test]
fn start_listens_and_stop_closes_the_port() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("p.sqlite");
    verdikt_core::store::Store::open(&project).unwrap();

    let running = verdikt_serve::start(options(&project, "127.0.0.1:0".parse().unwrap())).unwrap();
    let addr = running.started().addr;
    assert_eq!(running.started().url, format!("https://{addr}/"));
    assert_eq!(
        running
            .started()
            .tls
            .as_ref()
            .expect("over TLS")
            .fingerprint
            .len(),
        95,
        "SHA-256 as AA:BB:…"
    );
    TcpStream::connect(addr).expect("listening once start returns");

    let again = verdikt_serve::start(options(&project, addr))
        .err()
        .expect("the port is taken");
    assert!(
        again
            .to_string()
            .starts_with(&format!("cannot listen on {addr}")),
        "{again}"
    );

    running.stop().unwrap();
    let refused = TcpStream::connect_timeout(&addr, Duration::from_secs(2));
    assert!(refused.is_err(), "the port is closed after stop");

    // Free again: the same port serves anew, and dropping the handle stops it as well.
    let restarted = verdikt_serve::start(options(&project, addr)).unwrap();
    TcpStream::connect(addr).unwrap();
    drop(restarted);
    assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err());
}
