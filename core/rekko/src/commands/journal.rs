//! `rekko journal events` and `rekko journal ids`: read the journal named by the config file.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use rekko_persistence::cli::{journal_from_config, persistence_ids, write_events};

use super::FAILED;
use crate::cli::{JournalEventsArgs, JournalIdsArgs};

fn block_on<T>(future: impl std::future::Future<Output = Result<T, String>>) -> Result<T, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting the runtime: {e}"))?
        .block_on(future)
}

fn config_name(config: Option<&Path>) -> String {
    config.map_or_else(
        || "the bundled reference configuration".to_string(),
        |p| p.display().to_string(),
    )
}

/// Prints one line per event of the persistence id: sequence number, serializer id, manifest,
/// tags, write timestamp and the payload (JSON when decodable, hex otherwise), tab-separated.
pub(crate) fn events(args: &JournalEventsArgs) -> ExitCode {
    let config = args.config.as_deref();
    let result = block_on(async {
        let (journal, batch) = journal_from_config(config)
            .await
            .map_err(|e| format!("opening the journal of {}: {e}", config_name(config)))?;
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        let n = write_events(journal, &args.persistence_id, batch, &mut out)
            .await
            .map_err(|e| format!("reading events of {}: {e}", args.persistence_id))?;
        out.flush().map_err(|e| format!("writing to stdout: {e}"))?;
        Ok(n)
    });
    match result {
        Ok(0) => {
            eprintln!(
                "rekko journal events: no events for {}",
                args.persistence_id
            );
            ExitCode::SUCCESS
        }
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rekko journal events: {e}");
            ExitCode::from(FAILED)
        }
    }
}

/// Prints every persistence id that has events, one per line, sorted.
pub(crate) fn ids(args: &JournalIdsArgs) -> ExitCode {
    let config = args.config.as_deref();
    let result = block_on(async {
        let (journal, _) = journal_from_config(config)
            .await
            .map_err(|e| format!("opening the journal of {}: {e}", config_name(config)))?;
        persistence_ids(&*journal)
            .await
            .map_err(|e| format!("listing persistence ids: {e}"))
    });
    match result {
        Ok(ids) => {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            for id in ids {
                if writeln!(out, "{id}").is_err() {
                    return ExitCode::from(FAILED);
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("rekko journal ids: {e}");
            ExitCode::from(FAILED)
        }
    }
}
