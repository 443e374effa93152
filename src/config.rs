//! `$XDG_CONFIG_HOME/jitdesk/config.toml`: the service's socket and account, the limits on what one
//! requester may ask for, and for the dashboard theme, key overrides, bell, mouse and how times are shown.
//! Every field is optional; a mistake is reported with the file and line, never silently ignored.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::domain::delivery::Retry;
use crate::domain::period::Period;
use crate::domain::time_style::TimeStyle;
use crate::engine::{Limits, maintenance};

/// The user's config file, as read: every key it leaves out has its default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the shared service listens, when not beside the store (`JITDESK_SOCKET` wins).
    pub socket: Option<PathBuf>,
    /// The OS account the shared service runs as, when it is not the store file's owner
    /// (`JITDESK_SERVICE_USER` wins): clients trust no other process on the socket.
    pub service_user: Option<String>,
    /// Where the service also answers SSH, e.g. `0.0.0.0:2222` (`serve --ssh` wins).
    pub ssh: Option<String>,
    /// `jitdesk serve` also serves the API over HTTPS on this `ADDR:PORT` (`--listen` wins).
    pub listen: Option<String>,
    /// The HTTPS door's certificate chain, PEM (`--tls-cert` wins).
    pub tls_cert: Option<PathBuf>,
    /// The HTTPS door's private key, PEM, readable by the service's user alone (`--tls-key` wins).
    pub tls_key: Option<PathBuf>,
    /// The CA whose client certificates name directory users by their e-mail (`--client-ca` wins).
    pub client_ca: Option<PathBuf>,
    /// Plain HTTP on `listen`, which must then be a loopback address.
    pub insecure: bool,
    /// The remote service the CLI and the dashboard use, `https://host:port`, or a list of the
    /// replicas of one service to fail over between, tried in order (`JITDESK_URL` wins): then no
    /// local store is opened.
    pub url: Option<OneOrMany>,
    /// The file holding the token for `url`, readable by its owner alone (`JITDESK_TOKEN` wins).
    pub token_file: Option<PathBuf>,
    /// The CA that signed the remote service's certificate, PEM (`--ca` wins); else the web's
    /// usual roots.
    pub ca: Option<PathBuf>,
    /// A client certificate for `url`, PEM (`JITDESK_CERT` wins), for a service with a client CA.
    pub cert: Option<PathBuf>,
    /// Its private key, PEM, readable by its owner alone (`JITDESK_KEY` wins).
    pub key: Option<PathBuf>,
    /// The dashboard's theme: `default`, `light`, `high-contrast`, `mono`, or the name of one of
    /// the user's theme files (`--theme` wins); None: `default`, or `mono` under `NO_COLOR`.
    pub theme: Option<String>,
    /// Ring the terminal bell when a request arrives for you to decide.
    pub bell: bool,
    /// Let the dashboard take the mouse (click tabs and rows, scroll); off by default.
    pub mouse: bool,
    /// `local` (default) or `utc`.
    pub time: TimeShown,
    /// Action name -> one key or a list of keys, e.g. `approve = "A"` or `quit = ["q", "ctrl-q"]`.
    pub keys: HashMap<String, Keys>,
    /// `[limits]`: `requests_per_hour` and `live_grants`, per requester.
    pub limits: Limits,
    /// `[store]`: how the store file is opened.
    pub store: StoreSettings,
    /// `[deliveries]`: the outbox's retries and the SSH address notices quote.
    pub deliveries: DeliverySettings,
}

/// `[store]`: how the store file is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSettings {
    /// The page cache redb keeps in memory, in MiB: what a long-running service or dashboard
    /// holds at most for the store, beyond its own working memory.
    pub cache_mib: usize,
}

impl Default for StoreSettings {
    fn default() -> Self {
        StoreSettings { cache_mib: maintenance::DEFAULT_CACHE_MIB }
    }
}

impl StoreSettings {
    /// Makes this the cache of every store this process opens from now on.
    pub fn apply(&self) {
        maintenance::set_cache_size(self.cache_mib.saturating_mul(1 << 20));
    }
}

/// `[deliveries]`: how the outbox tries again, and what a notice tells people to run.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliverySettings {
    /// How long after its change a notice is still tried; then it is given up and the tenant's
    /// admins are told.
    pub give_up_after: Period,
    /// The wait after a first failed attempt, doubling after each further one (up to an hour).
    pub first_retry: Period,
    /// The SSH door's address as people reach it (`host:port`), for the commands a notice quotes.
    pub ssh: Option<String>,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings {
            give_up_after: Period::from_secs(Retry::DEFAULT.give_up_after.num_seconds()),
            first_retry: Period::from_secs(Retry::DEFAULT.first.num_seconds()),
            ssh: None,
        }
    }
}

impl DeliverySettings {
    /// The outbox's retry rule: these waits, with the default's longest backoff (or the first
    /// wait, when that is longer).
    pub fn retry(&self) -> Retry {
        let first = self.first_retry.to_delta().max(chrono::TimeDelta::seconds(1));
        Retry {
            first,
            longest: Retry::DEFAULT.longest.max(first),
            give_up_after: self.give_up_after.to_delta(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            socket: None,
            service_user: None,
            ssh: None,
            listen: None,
            tls_cert: None,
            tls_key: None,
            client_ca: None,
            insecure: false,
            url: None,
            token_file: None,
            ca: None,
            cert: None,
            key: None,
            theme: None,
            bell: true,
            mouse: false,
            time: TimeShown::Local,
            keys: HashMap::new(),
            limits: Limits::default(),
            store: StoreSettings::default(),
            deliveries: DeliverySettings::default(),
        }
    }
}

/// The zone the CLI and the dashboard show times in (`time = ...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeShown {
    /// The system's zone (`TZ`, then `/etc/localtime`).
    Local,
    /// UTC, as `--utc` asks for each time.
    Utc,
}

impl Config {
    /// The zone times are shown in: UTC when `--utc` or `time = "utc"` asks for it, else the
    /// system's (`TZ`, then `/etc/localtime`; UTC when neither names a zone).
    pub fn time_style(&self, utc: bool) -> TimeStyle {
        if utc || self.time == TimeShown::Utc {
            TimeStyle::utc()
        } else {
            TimeStyle::in_zone(jiff::tz::TimeZone::system())
        }
    }
}

/// A string, or a list of them: one key or several for an action in `[keys]`, one URL or several
/// for `url`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One, e.g. `"A"`.
    One(String),
    /// Several, e.g. `["q", "ctrl-q"]`.
    Many(Vec<String>),
}

impl OneOrMany {
    /// Each, in the order given.
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            OneOrMany::One(one) => vec![one.clone()],
            OneOrMany::Many(many) => many.clone(),
        }
    }
}

/// The keys of one action in `[keys]`: a string, or a list of them, any of which does the action.
pub type Keys = OneOrMany;

impl Config {
    /// The folder of the user's config and theme files, `$XDG_CONFIG_HOME/jitdesk`; None when the
    /// system names no config folder.
    pub fn dir() -> Option<PathBuf> {
        dirs::config_dir().map(|d| d.join("jitdesk"))
    }

    /// The user's config file, or the defaults when there is none.
    pub fn user() -> Result<Config, String> {
        match Config::dir() {
            Some(dir) => Config::load(&dir.join("config.toml")),
            None => Ok(Config::default()),
        }
    }

    /// Reads the file if there is one; no file means the defaults.
    pub fn load(path: &Path) -> Result<Config, String> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(e) => return Err(format!("config {}: {e}", path.display())),
        };
        toml::from_str(&text).map_err(|e| {
            let line = e.span().map_or(1, |s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            format!("config {} line {line}: {}", path.display(), e.message())
        })
    }

    /// `[keys]` as action name -> keys, each action with a list whether it was given one key or many.
    pub fn key_overrides(&self) -> HashMap<String, Vec<String>> {
        self.keys.iter().map(|(k, v)| (k.clone(), v.to_vec())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_means_defaults_and_fields_parse() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let c = Config::load(&path).unwrap();
        assert!(c.bell && !c.mouse && c.time == TimeShown::Local);
        std::fs::write(&path, "socket = \"/run/j.sock\"\nservice_user = \"jitdesk\"\ntheme = \"light\"\nbell = false\nmouse = true\ntime = \"utc\"\n[keys]\napprove = \"A\"\nquit = [\"q\", \"ctrl-q\"]\n").unwrap();
        let c = Config::load(&path).unwrap();
        assert_eq!(c.theme.as_deref(), Some("light"));
        assert_eq!(c.socket.as_deref(), Some(Path::new("/run/j.sock")));
        assert_eq!(c.service_user.as_deref(), Some("jitdesk"));
        assert!(!c.bell && c.mouse && c.time == TimeShown::Utc);
        assert_eq!(c.key_overrides()["quit"], vec!["q", "ctrl-q"]);
        assert_eq!(c.key_overrides()["approve"], vec!["A"]);
        assert_eq!(c.limits, Limits::default());
    }

    #[test]
    fn url_is_one_service_or_a_list_of_replicas() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "url = \"https://a:8443\"\n").unwrap();
        assert_eq!(Config::load(&path).unwrap().url.unwrap().to_vec(), vec!["https://a:8443"]);
        std::fs::write(&path, "url = [\"https://a:8443\", \"https://b:8443\"]\n").unwrap();
        assert_eq!(
            Config::load(&path).unwrap().url.unwrap().to_vec(),
            vec!["https://a:8443", "https://b:8443"]
        );
        std::fs::write(&path, "url = 8443\n").unwrap();
        assert!(Config::load(&path).unwrap_err().contains("line 1"));
    }

    #[test]
    fn limits_are_read_and_default_one_by_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "[limits]\nrequests_per_hour = 5\n").unwrap();
        let c = Config::load(&path).unwrap();
        assert_eq!(c.limits.requests_per_hour, 5);
        assert_eq!(c.limits.live_grants, Limits::default().live_grants);
        std::fs::write(&path, "[limits]\nlive_grant = 5\n").unwrap();
        assert!(Config::load(&path).unwrap_err().contains("line 2"));
    }

    #[test]
    fn the_store_cache_is_read_and_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        assert_eq!(Config::load(&path).unwrap().store.cache_mib, maintenance::DEFAULT_CACHE_MIB);
        std::fs::write(&path, "[store]\ncache_mib = 16\n").unwrap();
        assert_eq!(Config::load(&path).unwrap().store.cache_mib, 16);
        std::fs::write(&path, "[store]\ncache = 16\n").unwrap();
        assert!(Config::load(&path).unwrap_err().contains("line 2"));
    }

    #[test]
    fn the_outbox_retries_as_configured_and_defaults_to_a_day() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "").unwrap();
        assert_eq!(Config::load(&path).unwrap().deliveries.retry(), Retry::DEFAULT);
        std::fs::write(
            &path,
            "[deliveries]\ngive_up_after = \"2h\"\nfirst_retry = \"1s\"\nssh = \"jit.example.com:2222\"\n",
        )
        .unwrap();
        let c = Config::load(&path).unwrap().deliveries;
        let retry = c.retry();
        assert_eq!(retry.give_up_after, chrono::TimeDelta::hours(2));
        assert_eq!(retry.first, chrono::TimeDelta::seconds(1));
        assert_eq!(retry.longest, Retry::DEFAULT.longest);
        assert_eq!(c.ssh.as_deref(), Some("jit.example.com:2222"));
        std::fs::write(&path, "[deliveries]\ngive_up_after = \"soon\"\n").unwrap();
        assert!(Config::load(&path).unwrap_err().contains("line 2"));
    }

    #[test]
    fn mistakes_name_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "theme = \"light\"\nbel = true\n").unwrap();
        let err = Config::load(&path).unwrap_err();
        assert!(err.contains("config.toml line 2") && err.contains("bel"), "{err}");
        std::fs::write(&path, "time = \"martian\"\n").unwrap();
        assert!(Config::load(&path).unwrap_err().contains("line 1"));
    }
}
