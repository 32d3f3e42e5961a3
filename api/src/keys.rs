//! The keys that sign access tokens: from configuration, or — on the embedded default — a key
//! generated on first start and kept in the data folder (readable by its owner only), so tokens
//! survive restarts.

use crate::config::Config;
use anyhow::{Context, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use orgata_engine::SigningKeys;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The file a generated key is kept in.
pub fn key_path(data_dir: &Path) -> PathBuf {
    data_dir.join("signing-key")
}

/// The signing keys of this configuration.
pub fn signing_keys(config: &Config) -> Result<SigningKeys> {
    let previous =
        config.previous_signing_keys.iter().map(|k| decode(k, "a previous signing key")).collect::<Result<Vec<_>>>()?;
    let current = match &config.signing_key {
        Some(key) => decode(key, "the signing key")?,
        None => load_or_generate(&key_path(&config.data_dir))?,
    };
    Ok(SigningKeys::new(current, previous)?)
}

fn decode(key: &str, what: &str) -> Result<Vec<u8>> {
    let bytes = STANDARD.decode(key.trim()).with_context(|| format!("{what} is not base64"))?;
    if bytes.len() < orgata_engine::identity::tokens::MIN_KEY_BYTES {
        bail!("{what} has {} bytes; it needs at least 32 (try `openssl rand -base64 32`)", bytes.len());
    }
    Ok(bytes)
}

/// Reads the key at `path`, creating it (mode 0600) with 32 random bytes when absent. Two
/// processes starting at once agree: only one creates the file, the other reads it.
fn load_or_generate(path: &Path) -> Result<Vec<u8>> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            let mut key = vec![0u8; 32];
            getrandom(&mut key);
            file.write_all(STANDARD.encode(&key).as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
            file.sync_all().with_context(|| format!("cannot write {}", path.display()))?;
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            decode(&text, &format!("the key in {}", path.display()))
        }
        Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
    }
}

/// Fills `buf` from the operating system's generator.
fn getrandom(buf: &mut [u8]) {
    use rand::TryRngCore;
    rand::rngs::OsRng.try_fill_bytes(buf).expect("the operating system's random generator");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Overrides;

    fn config(dir: &Path, key: Option<&str>) -> Config {
        let o = Overrides {
            config: Some(PathBuf::from("/dev/null")),
            data_dir: Some(dir.to_path_buf()),
            signing_key: key.map(str::to_string),
            ..Default::default()
        };
        Config::load(&o).unwrap()
    }

    #[test]
    fn a_generated_key_is_kept_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = signing_keys(&config(dir.path(), None)).unwrap();
        let second = signing_keys(&config(dir.path(), None)).unwrap();
        assert_eq!(first.key_id(), second.key_id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(key_path(dir.path())).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_configured_key_wins_and_bad_ones_are_explained() {
        let dir = tempfile::tempdir().unwrap();
        let key = STANDARD.encode([9u8; 32]);
        let configured = signing_keys(&config(dir.path(), Some(&key))).unwrap();
        assert_eq!(configured.key_id(), SigningKeys::new(vec![9u8; 32], vec![]).unwrap().key_id());
        assert!(!key_path(dir.path()).exists());
        let short = signing_keys(&config(dir.path(), Some(&STANDARD.encode([1u8; 16])))).unwrap_err();
        assert_eq!(
            short.to_string(),
            "the signing key has 16 bytes; it needs at least 32 (try `openssl rand -base64 32`)"
        );
        let garbage = signing_keys(&config(dir.path(), Some("not base64!"))).unwrap_err();
        assert_eq!(garbage.to_string(), "the signing key is not base64");
    }
}
