//! `rekko send` and `rekko identify`: a short-lived node that talks to one actor.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use hocon_config::{Config, Loader};
use rekko_remote::RemoteSettings;

use super::config_resolve::located;
use super::FAILED;
use crate::cli::{IdentifyArgs, SendArgs};
use rekko::bundled_references;

/// Name of the short-lived actor system the commands run.
const SYSTEM_NAME: &str = "rekko";

/// Sends the text; with `--ask` prints the reply.
pub fn send(args: &SendArgs) -> ExitCode {
    let prepared = prepare(args.config.as_deref(), &args.timeout, &args.path);
    let (settings, timeout) = match prepared {
        Ok(prepared) => prepared,
        Err(message) => return fail(&message),
    };
    let ask = args.ask.then_some(timeout);
    let result = block_on(rekko_remote::send_string(
        settings, &args.path, &args.text, ask,
    ));
    match result {
        Ok(Ok(Some(reply))) => {
            println!("{}", reply.message.describe());
            ExitCode::SUCCESS
        }
        Ok(Ok(None)) if !args.ask => ExitCode::SUCCESS,
        Ok(Ok(None)) => fail(&format!(
            "no reply from {} within {}",
            args.path, args.timeout
        )),
        Ok(Err(error)) => fail(&format!("sending to {} failed: {error}", args.path)),
        Err(message) => fail(&message),
    }
}

/// Prints the actor's full path with its uid, or `not found`.
pub fn identify(args: &IdentifyArgs) -> ExitCode {
    let prepared = prepare(args.config.as_deref(), &args.timeout, &args.path);
    let (settings, timeout) = match prepared {
        Ok(prepared) => prepared,
        Err(message) => return fail(&message),
    };
    match block_on(rekko_remote::identify(settings, &args.path, timeout)) {
        Ok(Ok(Some(actor))) => {
            println!("{actor}");
            ExitCode::SUCCESS
        }
        Ok(Ok(None)) => {
            println!("not found");
            ExitCode::from(FAILED)
        }
        Ok(Err(error)) => fail(&format!("identifying {} failed: {error}", args.path)),
        Err(message) => fail(&message),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("rekko: {message}");
    ExitCode::from(FAILED)
}

/// Settings of the short-lived node (port 0) and the timeout, from `--config` over the bundled
/// defaults. Without a configured hostname, a node talking to a loopback address listens on
/// 127.0.0.1 so that the peer can answer it.
fn prepare(
    config_file: Option<&Path>,
    timeout: &str,
    target: &str,
) -> Result<(RemoteSettings, Duration), String> {
    let timeout = parse_duration(timeout)?;
    let mut overrides = String::from("pekko.remote.artery.canonical.port = 0\n");
    if config_file.is_none() && target_is_loopback(target) {
        overrides.push_str("pekko.remote.artery.canonical.hostname = \"127.0.0.1\"\n");
    }
    let loader = Loader::new()
        .references(&bundled_references())
        .override_string(&overrides);
    let config = match config_file {
        Some(file) => loader
            .load_file(file)
            .map_err(|e| located(&e, &file.display().to_string()))?,
        None => loader
            .load(&Config::empty())
            .map_err(|e| format!("bundled configuration: {e}"))?,
    };
    let settings = RemoteSettings::from_config(SYSTEM_NAME, &config)
        .map_err(|e| format!("remote settings: {e}"))?;
    Ok((settings, timeout))
}

/// A duration in HOCON notation (`5s`, `500 ms`, `2 minutes`).
fn parse_duration(text: &str) -> Result<Duration, String> {
    let quoted = serde_json::to_string(text).map_err(|e| e.to_string())?;
    Config::parse_string(&format!("timeout = {quoted}"))
        .and_then(|c| c.get_duration("timeout"))
        .map_err(|e| format!("--timeout {text:?}: {}", e.message()))
}

/// Whether the actor path's host is a loopback address or `localhost`.
fn target_is_loopback(path: &str) -> bool {
    let Some((_, rest)) = path.split_once('@') else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or("");
    let host = authority
        .rsplit_once(':')
        .map_or(authority, |(host, _)| host)
        .trim_start_matches('[')
        .trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn block_on<F: std::future::Future>(future: F) -> Result<F::Output, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map(|runtime| runtime.block_on(future))
        .map_err(|e| format!("starting the runtime: {e}"))
}

#[cfg(test)]
mod tests {
    use super::{parse_duration, target_is_loopback};
    use std::time::Duration;

    #[test]
    fn durations_use_hocon_notation() {
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("250 ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn loopback_targets_are_recognised() {
        assert!(target_is_loopback("pekko://S@127.0.0.1:25520/user/echo"));
        assert!(target_is_loopback("pekko://S@localhost:25520/user/echo"));
        assert!(target_is_loopback("pekko://S@[::1]:25520/user/echo"));
        assert!(!target_is_loopback("pekko://S@10.0.0.5:25520/user/echo"));
        assert!(!target_is_loopback("/user/echo"));
    }
}
