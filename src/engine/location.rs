//! Where a store is: a redb file at a path, or a PostgreSQL database named by its URL, which every
//! door takes wherever it takes a store (`--store`, JITDESK_STORE, `store` in config.toml). This
//! says which of the two a store is, keeps passwords out of URLs, tells whether two stores are the
//! same one, and names the files kept on this host for a database (its socket, its SSH host key),
//! which cannot sit beside it as they do beside a file.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::domain::RuleError;

/// The URL of the PostgreSQL database `store` names; None for a redb file.
pub fn database(store: &Path) -> Option<&str> {
    store.to_str().filter(|text| crate::postgres::is_url(text))
}

/// Refuses a store URL that carries a password: it would show in process lists, shell history and
/// every message that names the store.
pub fn check(store: &Path) -> Result<(), RuleError> {
    match database(store) {
        Some(url) if has_password(url) => Err(RuleError::invalid(
            "the store URL carries a password, which would show in process lists and shell history: leave it out, and put it in the file `password_file` names under [store] in config.toml, or in ~/.pgpass (or the file PGPASSFILE names)",
        )),
        _ => Ok(()),
    }
}

/// Whether a PostgreSQL URL has a password, in its user part or as a `password` parameter.
fn has_password(url: &str) -> bool {
    let (user, query) = parts(url);
    user.is_some_and(|user| user.contains(':')) || query.split('&').any(is_password_parameter)
}

/// The URL without any password, as the doors show it and the service compares it.
pub fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let (before_query, query) = rest.split_once('?').map_or((rest, None), |(b, q)| (b, Some(q)));
    let authority_end = before_query.find('/').unwrap_or(before_query.len());
    let (authority, path) = before_query.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((user, hosts)) => format!("{}@{hosts}", user.split(':').next().unwrap_or_default()),
        None => authority.to_string(),
    };
    let query: Vec<&str> =
        query.into_iter().flat_map(|q| q.split('&')).filter(|p| !is_password_parameter(p)).collect();
    let mut shown = format!("{scheme}://{authority}{path}");
    if !query.is_empty() {
        shown.push('?');
        shown.push_str(&query.join("&"));
    }
    shown
}

/// The user part of a URL's authority (before `@`), if any, and its query (after `?`).
fn parts(url: &str) -> (Option<&str>, &str) {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
    let authority = before_query.split('/').next().unwrap_or_default();
    (authority.rsplit_once('@').map(|(user, _)| user), query)
}

fn is_password_parameter(pair: &str) -> bool {
    pair.split('=').next().is_some_and(|key| key.eq_ignore_ascii_case("password"))
}

/// Whether two stores are the same one, as far as this process can tell: the same file, or the
/// same database URL once passwords are left out.
pub fn same(ours: &Path, theirs: &Path) -> bool {
    match (database(ours), database(theirs)) {
        (Some(a), Some(b)) => without_password(a) == without_password(b),
        (None, None) => match (std::fs::canonicalize(ours), std::fs::canonicalize(theirs)) {
            (Ok(a), Ok(b)) => a == b,
            _ => ours == theirs,
        },
        _ => false,
    }
}

/// A file of this host's for the database `url` names, in `dir`: `jitdesk-pg-<hash of the URL><suffix>`,
/// the same for every spelling of the URL that differs only in its password.
pub fn local_file(dir: &Path, url: &str, suffix: &str) -> PathBuf {
    let hash = Sha256::digest(without_password(url).as_bytes());
    let hex: String = hash.iter().take(8).map(|b| format!("{b:02x}")).collect();
    dir.join(format!("jitdesk-pg-{hex}{suffix}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_in_the_user_part_or_the_parameters_is_refused() {
        for url in [
            "postgres://app:secret@db.example.com/jitdesk",
            "postgresql://app:@db/jitdesk",
            "postgres://app@db/jitdesk?sslmode=require&Password=secret",
        ] {
            assert!(check(Path::new(url)).is_err(), "{url}");
        }
        for store in [
            "postgres://app@db.example.com:5432/jitdesk?sslmode=require",
            "postgres:///jitdesk",
            "/srv/j:k@x.redb",
        ] {
            assert!(check(Path::new(store)).is_ok(), "{store}");
        }
    }

    #[test]
    fn without_a_password_the_rest_of_the_url_stays() {
        assert_eq!(
            without_password("postgres://app:secret@db:5432/j?sslmode=require"),
            "postgres://app@db:5432/j?sslmode=require"
        );
        assert_eq!(
            without_password("postgres://app@db/j?password=x&sslmode=require"),
            "postgres://app@db/j?sslmode=require"
        );
        assert_eq!(without_password("postgres://db/j"), "postgres://db/j");
    }

    #[test]
    fn the_same_database_is_the_same_store_whatever_its_password() {
        let a = Path::new("postgres://app:one@db/j");
        assert!(same(a, Path::new("postgres://app@db/j")));
        assert!(!same(a, Path::new("postgres://app@db/other")));
        assert!(!same(a, Path::new("/srv/j.redb")));
        assert_eq!(
            local_file(Path::new("/run"), "postgres://app:one@db/j", ".sock"),
            local_file(Path::new("/run"), "postgres://app@db/j", ".sock")
        );
        assert_ne!(
            local_file(Path::new("/run"), "postgres://app@db/j", ".sock"),
            local_file(Path::new("/run"), "postgres://app@db/k", ".sock")
        );
    }

    #[test]
    fn a_file_is_the_same_store_by_any_path_to_it_and_no_other_file_is() {
        let dir = tempfile::tempdir().expect("a temp folder");
        let (one, other) = (dir.path().join("one.redb"), dir.path().join("other.redb"));
        std::fs::write(&one, b"").expect("a file");
        std::fs::write(&other, b"").expect("a file");
        let link = dir.path().join("link.redb");
        std::os::unix::fs::symlink(&one, &link).expect("a link");
        assert!(same(&one, &link), "one file, by two paths");
        assert!(!same(&one, &other), "two files");
        let missing = dir.path().join("missing.redb");
        assert!(same(&missing, &missing), "a path not made yet is itself");
        assert!(!same(&missing, &one), "and not a file that is there");
    }
}
