//! Configuration: flags override `ORGATA_*` environment variables, which override a TOML config
//! file (`--config`, `ORGATA_CONFIG`, or `orgata.toml` in the working directory if present), which
//! overrides the embedded defaults.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Where Orgata keeps its embedded data by default.
pub const DEFAULT_DATA_DIR: &str = "orgata-data";

/// Largest request body the server accepts, in bytes (the engine's own payload limits are lower;
/// event-log imports have their own).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Longest a request may take before it is answered with 408.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Settings that can come from flags or the environment (clap reads both); unset ones fall back
/// to the config file, then to the defaults.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Overrides {
    /// Config file (TOML) [env: ORGATA_CONFIG; default: ./orgata.toml if present]
    #[arg(long, env = "ORGATA_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://… [default: sqlite://orgata-data/orgata.db]
    #[arg(long, env = "ORGATA_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Warehouse location: a folder or s3://… [default: orgata-data/warehouse]
    #[arg(long, env = "ORGATA_WAREHOUSE_URL", global = true)]
    pub warehouse_url: Option<String>,
    /// Object-store options of the warehouse, KEY=VALUE, comma-separated (for S3-compatible
    /// storage: aws_endpoint=http://…, aws_access_key_id=…, aws_secret_access_key=…,
    /// aws_region=…, aws_allow_http=true)
    #[arg(long, env = "ORGATA_WAREHOUSE_OPTIONS", global = true, value_delimiter = ',', hide_env_values = true)]
    pub warehouse_options: Vec<String>,
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "ORGATA_LISTEN", global = true)]
    pub listen: Option<String>,
    /// Folder for local state such as demo credentials [default: orgata-data]
    #[arg(long, env = "ORGATA_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Log filter, like `info` or `orgata=debug` [default: Orgata's own events at info for
    /// `serve` and `mcp`, warnings only for other commands; other crates' at warn]
    #[arg(long = "log-level", env = "ORGATA_LOG", global = true)]
    pub log: Option<String>,
    /// More log lines, without a filter: -v Orgata's own events at info, -vv at debug, -vvv every
    /// crate's at debug
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Log as JSON lines instead of text
    #[arg(long, env = "ORGATA_LOG_JSON", global = true)]
    pub log_json: bool,
    /// Key that signs access tokens: base64 of at least 32 random bytes [default: generated once
    /// and kept in DATA_DIR/signing-key]
    #[arg(long, env = "ORGATA_SIGNING_KEY", global = true, hide_env_values = true)]
    pub signing_key: Option<String>,
    /// Origins allowed to call the API from a browser (CORS), comma-separated [default: none]
    #[arg(long, env = "ORGATA_CORS_ORIGINS", global = true, value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// Earlier signing keys, comma-separated: tokens they signed stay valid until they expire
    #[arg(long, env = "ORGATA_PREVIOUS_SIGNING_KEYS", global = true, hide_env_values = true, value_delimiter = ',')]
    pub previous_signing_keys: Vec<String>,
    /// Host names (or host:port) the MCP endpoint `/mcp` answers to, comma-separated; `*` for any
    /// (against DNS rebinding) [default: localhost, 127.0.0.1, ::1]
    #[arg(long, env = "ORGATA_MCP_ALLOWED_HOSTS", global = true, value_delimiter = ',')]
    pub mcp_allowed_hosts: Vec<String>,
    /// Browser origins allowed to call `/mcp`, comma-separated, like https://app.example.com
    /// [default: any request without an Origin; every Origin when none is listed]
    #[arg(long, env = "ORGATA_MCP_ALLOWED_ORIGINS", global = true, value_delimiter = ',')]
    pub mcp_allowed_origins: Vec<String>,
}

/// The config file's shape: every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    database_url: Option<String>,
    warehouse_url: Option<String>,
    warehouse_options: Option<std::collections::BTreeMap<String, String>>,
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    log: Option<String>,
    log_json: Option<bool>,
    signing_key: Option<String>,
    previous_signing_keys: Option<Vec<String>>,
    cors_origins: Option<Vec<String>>,
    mcp_allowed_hosts: Option<Vec<String>>,
    mcp_allowed_origins: Option<Vec<String>>,
}

/// The effective configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub database_url: String,
    pub warehouse_url: String,
    /// Object-store options of the warehouse (endpoint, credentials, …).
    pub warehouse_options: std::collections::BTreeMap<String, String>,
    pub listen: String,
    pub data_dir: PathBuf,
    /// The log filter given (flag, environment or file); `None`: the default of the command.
    pub log: Option<String>,
    /// How many `-v`s.
    pub verbose: u8,
    pub log_json: bool,
    /// The configured signing key (base64), if any; see [`crate::keys`].
    pub signing_key: Option<String>,
    pub previous_signing_keys: Vec<String>,
    /// Origins allowed to call the API from a browser.
    pub cors_origins: Vec<String>,
    /// Hosts the MCP endpoint answers to (empty: the loopback names; `*`: any).
    pub mcp_allowed_hosts: Vec<String>,
    /// Browser origins allowed to call the MCP endpoint (empty: not checked).
    pub mcp_allowed_origins: Vec<String>,
}

/// A configuration problem, reported in one line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid warehouse option `{0}`: expected KEY=VALUE")]
    WarehouseOption(String),
}

impl Config {
    /// Resolves flags/env over the config file over the defaults.
    pub fn load(o: &Overrides) -> Result<Config, ConfigError> {
        let file = match &o.config {
            Some(path) => read_file(path)?,
            None if Path::new("orgata.toml").is_file() => read_file(Path::new("orgata.toml"))?,
            None => FileConfig::default(),
        };
        let data_dir = o.data_dir.clone().or(file.data_dir).unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        Ok(Config {
            database_url: o
                .database_url
                .clone()
                .or(file.database_url)
                .unwrap_or_else(|| format!("sqlite://{}/orgata.db", data_dir.display())),
            warehouse_url: o
                .warehouse_url
                .clone()
                .or(file.warehouse_url)
                .unwrap_or_else(|| data_dir.join("warehouse").display().to_string()),
            warehouse_options: if o.warehouse_options.is_empty() {
                file.warehouse_options.unwrap_or_default()
            } else {
                o.warehouse_options
                    .iter()
                    .map(|pair| match pair.split_once('=') {
                        Some((key, value)) if !key.trim().is_empty() => Ok((key.trim().to_string(), value.to_string())),
                        _ => Err(ConfigError::WarehouseOption(pair.clone())),
                    })
                    .collect::<Result<_, _>>()?
            },
            listen: o.listen.clone().or(file.listen).unwrap_or_else(|| "127.0.0.1:8080".into()),
            log: o.log.clone().or(file.log),
            verbose: o.verbose,
            log_json: o.log_json || file.log_json.unwrap_or(false),
            signing_key: o.signing_key.clone().or(file.signing_key),
            previous_signing_keys: if o.previous_signing_keys.is_empty() {
                file.previous_signing_keys.unwrap_or_default()
            } else {
                o.previous_signing_keys.clone()
            },
            cors_origins: list_setting(&o.cors_origins, file.cors_origins),
            mcp_allowed_hosts: list_setting(&o.mcp_allowed_hosts, file.mcp_allowed_hosts),
            mcp_allowed_origins: list_setting(&o.mcp_allowed_origins, file.mcp_allowed_origins),
            data_dir,
        })
    }
}

/// A list setting: the flag's (or environment's) when given, else the file's.
fn list_setting(given: &[String], file: Option<Vec<String>>) -> Vec<String> {
    if given.is_empty() { file.unwrap_or_default() } else { given.to_vec() }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse { path: path.to_path_buf(), message: e.message().to_string() })
}

impl Config {
    /// Opens the configured warehouse.
    pub fn warehouse(&self) -> Result<orgata_warehouse::Warehouse, orgata_warehouse::WarehouseError> {
        let options = self.warehouse_options.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        orgata_warehouse::Warehouse::open(&self.warehouse_url, options)
    }
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_data_dir() {
        let c = Config::load(&Overrides { config: Some(PathBuf::from("/dev/null")), ..Default::default() }).unwrap();
        assert_eq!(c.database_url, "sqlite://orgata-data/orgata.db");
        assert_eq!(c.warehouse_url, "orgata-data/warehouse");
        assert_eq!(c.listen, "127.0.0.1:8080");
        let o = Overrides {
            config: Some(PathBuf::from("/dev/null")),
            data_dir: Some("/tmp/x".into()),
            ..Default::default()
        };
        assert_eq!(Config::load(&o).unwrap().database_url, "sqlite:///tmp/x/orgata.db");
    }

    #[test]
    fn flags_override_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orgata.toml");
        std::fs::write(&path, "listen = \"0.0.0.0:9000\"\ndatabase_url = \"postgres://db/orgata\"\n").unwrap();
        let o = Overrides { config: Some(path.clone()), listen: Some("127.0.0.1:1".into()), ..Default::default() };
        let c = Config::load(&o).unwrap();
        assert_eq!((c.listen.as_str(), c.database_url.as_str()), ("127.0.0.1:1", "postgres://db/orgata"));
        std::fs::write(&path, "lisen = 1\n").unwrap();
        let err = Config::load(&Overrides { config: Some(path), ..Default::default() }).unwrap_err();
        assert!(err.to_string().contains("unknown field `lisen`"), "{err}");
        let o = Overrides {
            config: Some(PathBuf::from("/dev/null")),
            warehouse_options: vec!["aws_endpoint".into()],
            ..Default::default()
        };
        assert_eq!(
            Config::load(&o).unwrap_err().to_string(),
            "invalid warehouse option `aws_endpoint`: expected KEY=VALUE"
        );
    }

    #[test]
    fn mcp_hosts_and_origins_come_from_flags_or_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orgata.toml");
        std::fs::write(
            &path,
            "mcp_allowed_hosts = [\"orgata.example.com\"]\nmcp_allowed_origins = [\"https://a.example\"]\n",
        )
        .unwrap();
        let c = Config::load(&Overrides { config: Some(path.clone()), ..Default::default() }).unwrap();
        assert_eq!(c.mcp_allowed_hosts, ["orgata.example.com"]);
        assert_eq!(c.mcp_allowed_origins, ["https://a.example"]);
        let o = Overrides { config: Some(path), mcp_allowed_hosts: vec!["*".into()], ..Default::default() };
        assert_eq!(Config::load(&o).unwrap().mcp_allowed_hosts, ["*"]);
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://me:secret@db/x"), "postgres://me:***@db/x");
        assert_eq!(redact("sqlite://orgata-data/orgata.db"), "sqlite://orgata-data/orgata.db");
    }
}
