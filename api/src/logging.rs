//! Structured logs (tracing): text for people, JSON lines for machines, on stderr.
//!
//! Quiet by default: other crates (the Delta kernel, DataFusion, the AWS SDK, …) speak at `warn`;
//! Orgata's own events are at `info` for the long-running commands (`serve`, with one line per
//! request, and `mcp`) and at `warn` for the others, whose output is their result.

use crate::config::Config;
use tracing_subscriber::EnvFilter;

/// The crates of this workspace, as tracing names their targets (`orgata` is the binary).
const OWN_CRATES: [&str; 7] = [
    "orgata",
    "orgata_api",
    "orgata_engine",
    "orgata_ingest",
    "orgata_warehouse",
    "orgata_reports",
    "orgata_notebooks",
];

/// The filter when none is configured, for a long-running command or not, after `verbose` `-v`s.
/// `tower_http` counts as Orgata's own: it writes the server's line per request.
pub fn default_filter(long_running: bool, verbose: u8) -> String {
    let (own, others) = match (long_running, verbose) {
        (_, 3..) => ("debug", "debug"),
        (_, 2) => ("debug", "warn"),
        (true, _) | (false, 1) => ("info", "warn"),
        (false, 0) => ("warn", "warn"),
    };
    let mut filter = others.to_string();
    for target in OWN_CRATES.iter().chain(&["tower_http"]) {
        filter.push_str(&format!(",{target}={own}"));
    }
    filter
}

/// Installs the global subscriber per the configuration; `long_running` picks the default filter.
pub fn init(config: &Config, long_running: bool) -> anyhow::Result<()> {
    let wanted = config.log.clone().unwrap_or_else(|| default_filter(long_running, config.verbose));
    let filter = EnvFilter::try_new(&wanted).map_err(|e| anyhow::anyhow!("invalid log filter `{wanted}`: {e}"))?;
    // Colours only for a terminal: a log file or collector gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    let result = if config.log_json { builder.json().try_init() } else { builder.try_init() };
    // A second init (tests running several commands in one process) keeps the first subscriber.
    let _ = result;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_crates_speak_at_warn_unless_asked() {
        let own =
            |level: &str| OWN_CRATES.iter().chain(&["tower_http"]).map(|t| format!(",{t}={level}")).collect::<String>();
        assert_eq!(default_filter(false, 0), format!("warn{}", own("warn")));
        assert_eq!(default_filter(true, 0), format!("warn{}", own("info")));
        assert_eq!(default_filter(false, 1), format!("warn{}", own("info")));
        assert_eq!(default_filter(true, 2), format!("warn{}", own("debug")));
        assert_eq!(default_filter(false, 7), format!("debug{}", own("debug")));
        for (long_running, verbose) in [(false, 0), (true, 0), (true, 3)] {
            assert!(EnvFilter::try_new(default_filter(long_running, verbose)).is_ok());
        }
    }
}
