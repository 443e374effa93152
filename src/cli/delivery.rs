//! `tenant channel`, `user set`, `user contact` and `deliveries`: where notices go and whether they
//! got there. Secrets are read here, from private files, and handed to the engine; nothing here
//! prints one: channels print as their JSON view, which has none.

use super::args::{ChannelArgs, TenantChannelCmd};
use super::show::{Times, table};
use super::{Output, json_out, more, ok, paging, viewer};
use crate::client::{Backend, Error, Result};
use crate::domain::delivery::{
    ChannelKind, Contact, ContactChange, Delivery, MailRelay, Secret, WebhookFormat,
};
use crate::domain::text::sanitize;
use crate::engine::{AddChannel, DeliveryFilter, RemoveChannel, SetContact, Viewer};
use crate::json;
use crate::private_file::{self, Rules};

/// A channel's secret or password: small, and nobody's but this user's.
const SECRET_FILE: Rules = Rules::secret("secret file", 64 * 1024);

/// The secret in `path`: a file of this user that nobody else may read, its text without the
/// line's end. `flag` names where it was given, for the message when it cannot be used.
fn secret_from(path: &std::path::Path, flag: &str) -> Result<Secret> {
    let bytes = private_file::read(path, SECRET_FILE)
        .map_err(|e| Error::Local(format!("{e} (given with {flag})")))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::Local(format!("the file of {flag} {} is not text", path.display())))?;
    // The engine refuses an empty secret, for every door.
    Ok(Secret(text.trim_end_matches(['\n', '\r']).to_string()))
}

/// The channel the flags describe, with its secrets read from their files.
fn channel_kind(args: &ChannelArgs) -> Result<ChannelKind> {
    let from = || args.from.clone().unwrap_or_default();
    if let Some(url) = &args.webhook {
        let Some(file) = &args.secret_file else {
            return Err(Error::Local("a webhook signs with a secret: give --secret-file".into()));
        };
        let format = args.format.unwrap_or(WebhookFormat::Jitdesk);
        return Ok(ChannelKind::Webhook {
            url: url.clone(),
            format,
            secret: secret_from(file, "--secret-file")?,
        });
    }
    if let Some(url) = &args.smtp {
        let password =
            args.password_file.as_deref().map(|f| secret_from(f, "--password-file")).transpose()?;
        return Ok(ChannelKind::Mail(MailRelay::Smtp { url: url.clone(), password, from: from() }));
    }
    if let Some(program) = &args.sendmail {
        return Ok(ChannelKind::Mail(MailRelay::Sendmail { program: program.clone(), from: from() }));
    }
    match &args.hook {
        Some(program) => Ok(ChannelKind::Hook { program: program.clone(), args: args.args.clone() }),
        None => Err(Error::Local("give one of --webhook, --smtp, --sendmail or --hook".into())),
    }
}

pub async fn tenant_channel(backend: &Backend, cli: &super::Cli, cmd: &TenantChannelCmd) -> Result<Output> {
    let actor = || backend.actor(cli.as_user.as_deref());
    match cmd {
        TenantChannelCmd::Add { tenant, channel, json } => {
            let input = AddChannel { tenant: tenant.clone(), kind: channel_kind(channel)? };
            let added = backend.add_channel(&actor().await?, input).await?;
            if *json {
                return ok(json_out(&added)?);
            }
            ok(format!("added channel {} to {}: {}\n", added.id, added.tenant, sanitize(&added.summary())))
        }
        TenantChannelCmd::List { tenant, json } => {
            let channels = backend.channels(&viewer(backend, cli).await?, tenant).await?;
            ok(if *json { json_out(&channels)? } else { channels_table(&channels) })
        }
        TenantChannelCmd::Remove { tenant, id } => {
            let input = RemoveChannel { tenant: tenant.clone(), id: *id };
            let removed = backend.remove_channel(&actor().await?, input).await?;
            let summary = sanitize(&removed.summary()).into_owned();
            ok(format!("removed channel {} from {}: {summary}\n", removed.id, removed.tenant))
        }
    }
}

/// `user set`: the change its flags make.
pub struct ContactFlags<'a> {
    pub email: &'a Option<String>,
    pub no_email: bool,
    pub mute: &'a [crate::domain::delivery::NoticeKind],
    pub unmute: &'a [crate::domain::delivery::NoticeKind],
    pub digest: Option<u32>,
    pub no_digest: bool,
}

impl ContactFlags<'_> {
    fn change(&self) -> ContactChange {
        ContactChange {
            email: if self.no_email { Some(None) } else { self.email.clone().map(Some) },
            mute: self.mute.to_vec(),
            unmute: self.unmute.to_vec(),
            digest_minutes: if self.no_digest { Some(None) } else { self.digest.map(Some) },
        }
    }
}

pub async fn set_contact(
    backend: &Backend,
    cli: &super::Cli,
    upn: &str,
    flags: ContactFlags<'_>,
    json: bool,
) -> Result<Output> {
    let actor = backend.actor(cli.as_user.as_deref()).await?;
    let contact =
        backend.set_contact(&actor, SetContact { upn: upn.to_string(), change: flags.change() }).await?;
    let upn = upn.trim().to_lowercase();
    ok(if json { json_out(&json::Contact::new(&upn, &contact))? } else { contact_block(&upn, &contact) })
}

pub async fn contact(
    backend: &Backend,
    cli: &super::Cli,
    upn: &Option<String>,
    json: bool,
) -> Result<Output> {
    let viewer = viewer(backend, cli).await?;
    let upn = match (upn, &viewer) {
        (Some(upn), _) => upn.trim().to_lowercase(),
        (None, Viewer::User(me)) => me.clone(),
        (None, Viewer::Operator) => backend.need_user(cli.as_user.as_deref()).await?,
    };
    let contact = backend.contact(&viewer, &upn).await?;
    ok(if json { json_out(&json::Contact::new(&upn, &contact))? } else { contact_block(&upn, &contact) })
}

pub async fn deliveries(
    backend: &Backend,
    cli: &super::Cli,
    failed: bool,
    json: bool,
    page: &super::args::PageArgs,
    times: &Times,
) -> Result<Output> {
    let filter = DeliveryFilter { failed_only: failed };
    let page = backend.deliveries(&viewer(backend, cli).await?, filter, paging(page)?).await?;
    more(&page, json);
    ok(if json {
        json_out(&page.items.iter().map(json::Delivery::new).collect::<Vec<_>>())?
    } else {
        deliveries_table(&page.items, times)
    })
}

fn channels_table(channels: &[json::Channel]) -> String {
    table(
        ["ID", "TYPE", "SENDS TO", "ADDED BY"],
        channels.iter().map(|c| [c.id.to_string(), c.kind().to_string(), c.summary(), c.added_by.clone()]),
    )
}

/// A contact as lines of `key: value`.
fn contact_block(upn: &str, contact: &Contact) -> String {
    let muted: Vec<&str> = contact.muted.iter().map(|k| k.name()).collect();
    let lines = [
        ("user", upn.to_string()),
        ("email", contact.email.clone().unwrap_or_else(|| "(none: no mail)".into())),
        ("muted", if muted.is_empty() { "(none)".into() } else { muted.join(", ") }),
        (
            "digest",
            contact
                .digest_minutes
                .map_or_else(|| "(none: one message per notice)".into(), |m| format!("every {m} min")),
        ),
    ];
    lines.iter().map(|(k, v)| format!("{k:<7} {}\n", sanitize(v))).collect()
}

fn deliveries_table(deliveries: &[Delivery], times: &Times) -> String {
    table(
        ["ID", "STATE", "KIND", "CHANNEL", "TO", "AUDIT", "TRIES", "WHEN", "LAST ERROR"],
        deliveries.iter().map(|d| {
            let view = json::Delivery::new(d);
            let when = view.done_at.unwrap_or(view.next_at);
            [
                d.id.to_string(),
                view.state.name().to_string(),
                d.kind.name().to_string(),
                format!("{} ({})", d.channel, d.tenant),
                d.to.clone().unwrap_or_else(|| "-".into()),
                d.audit.to_string(),
                d.attempts.to_string(),
                times.time(when),
                d.last_error.clone().unwrap_or_default(),
            ]
        }),
    )
}
