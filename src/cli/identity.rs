//! `user key`, `tenant ca` and `token`: the commands that manage who a caller is at the remote
//! doors, and how their answers print. Each makes one call through the backend, as the acting user
//! (or the operator); the rules are the engine's.

use std::io::Read;

use super::args::{KeyArgs, TenantCaCmd, TokenCmd, UserKeyCmd};
use super::show::{Times, table};
use super::{Output, by_name, json_out, more, ok, viewer};
use crate::client::{Backend, Error, Result};
use crate::domain::identity::{NewToken, SshKey, TenantCa, TokenInfo, TokenOwner};
use crate::engine::{AddCa, AddKey, RemoveCa, RemoveKey, RevokeToken, Viewer};

/// A public key file is one line; anything longer than this is not one.
const MAX_KEY_FILE: u64 = 64 * 1024;

/// The public key given with `--key`, or read from `--key-file`.
fn key_text(key: &KeyArgs) -> Result<String> {
    if let Some(text) = &key.key {
        return Ok(text.clone());
    }
    let Some(path) = &key.key_file else {
        return Err(Error::Local("give the public key with --key or --key-file".into()));
    };
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_KEY_FILE).read_to_string(&mut text))
        .map_err(|e| Error::Local(format!("cannot read the key file {}: {e}", path.display())))?;
    Ok(text)
}

pub async fn user_key(
    backend: &Backend,
    cli: &super::Cli,
    cmd: &UserKeyCmd,
    times: &Times,
) -> Result<Output> {
    let actor = || backend.actor(cli.as_user.as_deref());
    match cmd {
        UserKeyCmd::Add { upn, key } => {
            let input = AddKey { upn: upn.clone(), key: key_text(key)? };
            let key = backend.run(&actor().await?, input).await?;
            ok(format!("added SSH key {} to {}\n", key.fingerprint, key.upn))
        }
        UserKeyCmd::List { upn, json, page } => {
            let viewer = viewer(backend, cli).await?;
            let upn = match (upn, &viewer) {
                (Some(upn), _) => upn.clone(),
                (None, Viewer::User(me)) => me.clone(),
                (None, Viewer::Operator) => backend.need_user(cli.as_user.as_deref()).await?,
            };
            let page = backend.ssh_keys(&viewer, &upn, by_name(page)?).await?;
            more(&page, *json);
            ok(if *json { json_out(&page.items)? } else { keys(&page.items, times) })
        }
        UserKeyCmd::Remove { upn, fingerprint } => {
            let input = RemoveKey { upn: upn.clone(), fingerprint: fingerprint.clone() };
            let key = backend.run(&actor().await?, input).await?;
            ok(format!("removed SSH key {} from {}\n", key.fingerprint, key.upn))
        }
    }
}

pub async fn tenant_ca(
    backend: &Backend,
    cli: &super::Cli,
    cmd: &TenantCaCmd,
    times: &Times,
) -> Result<Output> {
    let actor = || backend.actor(cli.as_user.as_deref());
    match cmd {
        TenantCaCmd::Add { tenant, key } => {
            let input = AddCa { tenant: tenant.clone(), key: key_text(key)? };
            let ca = backend.run(&actor().await?, input).await?;
            ok(format!("tenant {} trusts the SSH CA {}\n", ca.tenant, ca.fingerprint))
        }
        TenantCaCmd::List { tenant, json, page } => {
            let page = backend.tenant_cas(&viewer(backend, cli).await?, tenant, by_name(page)?).await?;
            more(&page, *json);
            ok(if *json { json_out(&page.items)? } else { cas(&page.items, times) })
        }
        TenantCaCmd::Remove { tenant, fingerprint } => {
            let input = RemoveCa { tenant: tenant.clone(), fingerprint: fingerprint.clone() };
            let ca = backend.run(&actor().await?, input).await?;
            ok(format!("tenant {} no longer trusts the SSH CA {}\n", ca.tenant, ca.fingerprint))
        }
    }
}

pub async fn token(backend: &Backend, cli: &super::Cli, cmd: &TokenCmd, times: &Times) -> Result<Output> {
    match cmd {
        TokenCmd::Create { user, operator, name, expires, read_only, json } => {
            let input = NewToken {
                user: user.clone(),
                operator: *operator,
                name: name.clone(),
                expires_in: *expires,
                read_only: *read_only,
            };
            let made = backend.run(&backend.actor(cli.as_user.as_deref()).await?, input).await?;
            if *json {
                return ok(json_out(&made)?);
            }
            ok(format!(
                "created token {} for {} ({}); keep it now, it is not shown again:\n{}\n",
                made.token.id,
                made.token.owner,
                token_terms(&made.token, times),
                made.secret
            ))
        }
        TokenCmd::List { json, page } => {
            let page = backend.tokens(&viewer(backend, cli).await?, by_name(page)?).await?;
            more(&page, *json);
            ok(if *json { json_out(&page.items)? } else { tokens(&page.items, times) })
        }
        TokenCmd::Revoke { id } => {
            let actor = backend.actor(cli.as_user.as_deref()).await?;
            let token = backend.run(&actor, RevokeToken { id: id.clone() }).await?;
            ok(format!("revoked token {} of {}\n", token.id, token.owner))
        }
    }
}

fn keys(keys: &[SshKey], times: &Times) -> String {
    table(
        ["FINGERPRINT", "COMMENT", "ADDED"],
        keys.iter().map(|k| [k.fingerprint.clone(), k.comment.clone(), times.time(k.added_at)]),
    )
}

fn cas(cas: &[TenantCa], times: &Times) -> String {
    table(
        ["FINGERPRINT", "COMMENT", "ADDED"],
        cas.iter().map(|c| [c.fingerprint.clone(), c.comment.clone(), times.time(c.added_at)]),
    )
}

/// What a token may do and until when, in words.
fn token_terms(t: &TokenInfo, times: &Times) -> String {
    let access = if t.read_only { "read-only" } else { "read-write" };
    match (t.revoked_at, t.expires_at) {
        (Some(at), _) => format!("{access}, revoked {}", times.time(at)),
        (None, Some(end)) if end <= times.now => format!("{access}, expired {}", times.time(end)),
        (None, Some(end)) => format!("{access}, expires {}", times.time(end)),
        (None, None) => format!("{access}, does not expire"),
    }
}

fn tokens(tokens: &[TokenInfo], times: &Times) -> String {
    table(
        ["ID", "OWNER", "NAME", "CREATED", "TERMS"],
        tokens.iter().map(|t| {
            let owner = match &t.owner {
                TokenOwner::Operator => "(operator)".to_string(),
                TokenOwner::User(upn) => upn.clone(),
            };
            [t.id.clone(), owner, t.name.clone(), times.time(t.created_at), token_terms(t, times)]
        }),
    )
}
