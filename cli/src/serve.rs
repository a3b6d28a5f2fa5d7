//! `verdikt serve`: parses the flags and hands over to `verdikt-serve`, printing where it
//! listens and the certificate's fingerprint for the curator to pass on.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::audit::parse_duration;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address and port to listen on; another address than 127.0.0.1 opens the review to the
    /// network (always over HTTPS).
    #[arg(long, default_value = "127.0.0.1:8443", value_name = "ADDR:PORT")]
    bind: SocketAddr,
    /// Plain HTTP for a reverse proxy on this machine that terminates TLS (Caddy, nginx):
    /// only on a loopback --bind; the client's address is the proxy's X-Forwarded-For.
    #[arg(long, conflicts_with = "cert")]
    behind_proxy: bool,
    /// Your own certificate (PEM) instead of the project's self-signed one; needs --key.
    #[arg(long, requires = "key", value_name = "PEM")]
    cert: Option<PathBuf>,
    /// The private key of --cert (PEM).
    #[arg(long, requires = "cert", value_name = "PEM")]
    key: Option<PathBuf>,
    /// How long a browser session lasts after its invite was opened: e.g. 12h, 7d.
    #[arg(long, default_value = "12h", value_parser = parse_duration)]
    session_lasts: Duration,
    /// A built UI to serve instead of the one built into this binary.
    #[arg(long, value_name = "DIR", env = "VERDIKT_UI_DIR")]
    ui: Option<PathBuf>,
}

pub fn run(project: PathBuf, args: ServeArgs) -> Result<(), String> {
    let options = verdikt_serve::Options {
        project,
        bind: args.bind,
        cert: args.cert.zip(args.key),
        ui: args.ui,
        behind_proxy: args.behind_proxy,
        session_lifetime: args.session_lasts,
        limits: verdikt_serve::Limits::default(),
    };
    verdikt_serve::run(options, |s| {
        println!("serving the review at {}", s.url);
        match &s.tls {
            Some(tls) => {
                println!("certificate {} SHA-256 {}", tls.cert.display(), tls.fingerprint);
                if tls.made {
                    println!(
                        "(made now for this project; reviewers check this fingerprint in their browser)"
                    );
                }
            }
            None => println!(
                "plain HTTP for the reverse proxy on this machine, which serves HTTPS to reviewers"
            ),
        }
        if !s.ui {
            println!(
                "this build has no UI bundle: only the API is served (build ui/dist with scripts/setup, then build verdikt again, or pass --ui DIR)"
            );
        }
        match s.tls {
            Some(_) => println!(
                "invite a reviewer: verdikt reviewer invite NAME --url https://HOST:{}",
                s.addr.port()
            ),
            None => println!(
                "invite a reviewer: verdikt reviewer invite NAME --url https://PROXY-HOST"
            ),
        }
        // The tests and scripts read these lines as soon as they are written.
        use std::io::Write;
        let _ = std::io::stdout().flush();
    })
    .map_err(|e| e.to_string())
}
