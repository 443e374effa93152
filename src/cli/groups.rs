//! `group`: directory groups, whose members approve together where a group is an application's
//! approver. Its grammar lives here beside the commands, so the group commands change one line
//! of `args.rs`; each command makes one call through the backend, and the rules are the engine's.

use clap::Subcommand;

use super::args::NamePageArgs;
use super::show::table;
use super::{Output, by_name, json_out, more, ok, viewer};
use crate::client::{Backend, Result};
use crate::domain::Group;
use crate::domain::groups::NewGroup;
use crate::domain::text::sanitize;
use crate::engine::{AddMembers, RemoveMember};
use crate::json;

#[derive(Subcommand, Debug)]
pub enum GroupCmd {
    /// Add a group of a customer tenant's users, to make an approver of applications (its admins or the operator)
    Add {
        /// The group's id, unique in the directory: letters, digits, `.`, `_` or `-`, no `@`
        id: String,
        /// The customer tenant whose users may be its members
        #[arg(long, value_name = "TENANT")]
        tenant: String,
        /// Its name for people [default: the id]
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// Its object id in the directory, a GUID [default: one made from the id]
        #[arg(long, value_name = "GUID")]
        object_id: Option<String>,
    },
    /// The groups you may see (your tenant's; every one for the operator), by id
    List {
        /// Only this tenant's
        #[arg(long, value_name = "TENANT")]
        tenant: Option<String>,
        /// Print JSON
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        page: NamePageArgs,
    },
    /// One group and its members, by UPN
    Show {
        /// The group's id
        id: String,
        /// Print JSON
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        page: NamePageArgs,
    },
    /// Add or remove a group's members
    #[command(subcommand)]
    Member(GroupMemberCmd),
}

#[derive(Subcommand, Debug)]
pub enum GroupMemberCmd {
    /// Make users of the group's tenant members: each approves wherever the group does
    Add {
        /// The group's id
        group: String,
        /// The users' UPNs
        #[arg(required = true, value_name = "UPN")]
        upns: Vec<String>,
    },
    /// Take a user out of the group: from now on they approve nothing through it
    Remove {
        /// The group's id
        group: String,
        /// The member's UPN
        #[arg(value_name = "UPN")]
        upn: String,
    },
}

impl GroupCmd {
    /// Whether the command only reads, and so can read the store without opening it for writing.
    pub fn only_reads(&self) -> bool {
        matches!(self, GroupCmd::List { .. } | GroupCmd::Show { .. })
    }
}

/// A group as one line names it: its id, and its name when that differs.
fn named(group: &Group) -> String {
    if group.display_name == group.id {
        group.id.clone()
    } else {
        format!("{} ({})", group.id, sanitize(&group.display_name))
    }
}

pub async fn run(backend: &Backend, cli: &super::Cli, cmd: &GroupCmd) -> Result<Output> {
    let actor = || backend.actor(cli.as_user.as_deref());
    match cmd {
        GroupCmd::Add { id, tenant, name, object_id } => {
            let input = NewGroup {
                id: id.clone(),
                tenant: tenant.clone(),
                name: name.clone(),
                object_id: object_id.clone(),
            };
            let group = backend.run(&actor().await?, input).await?;
            ok(format!(
                "added group {} to tenant {}, object id {}\n",
                named(&group),
                group.tenant,
                group.object_id
            ))
        }
        GroupCmd::List { tenant, json, page } => {
            let page =
                backend.groups(&viewer(backend, cli).await?, tenant.as_deref(), by_name(page)?).await?;
            more(&page, *json);
            ok(if *json { json_out(&page.items)? } else { groups(&page.items) })
        }
        GroupCmd::Show { id, json, page } => {
            let detail = backend.group(&viewer(backend, cli).await?, id, by_name(page)?).await?;
            more(&detail.members, *json);
            if *json {
                let view = json::GroupMembers { group: detail.group, members: detail.members.items };
                return ok(json_out(&view)?);
            }
            let g = &detail.group;
            let mut out = format!(
                "group      {}\nname       {}\ntenant     {}\nobject id  {}\n",
                g.id,
                sanitize(&g.display_name),
                g.tenant,
                g.object_id
            );
            out.push_str(&if detail.members.items.is_empty() {
                "members    none\n".to_string()
            } else {
                table(["MEMBER"], detail.members.items.iter().map(|m| [m.clone()]))
            });
            ok(out)
        }
        GroupCmd::Member(GroupMemberCmd::Add { group, upns }) => {
            let input = AddMembers { group: group.clone(), upns: upns.clone() };
            let (group, added) = backend.run(&actor().await?, input).await?;
            ok(match added.as_slice() {
                [] => format!("no one added: each is already a member of group {}\n", named(&group)),
                _ => format!("added to group {}: {}\n", named(&group), added.join(", ")),
            })
        }
        GroupCmd::Member(GroupMemberCmd::Remove { group, upn }) => {
            let input = RemoveMember { group: group.clone(), upn: upn.clone() };
            let (group, upn) = backend.run(&actor().await?, input).await?;
            ok(format!("removed {upn} from group {}\n", named(&group)))
        }
    }
}

fn groups(groups: &[Group]) -> String {
    table(
        ["ID", "NAME", "TENANT", "OBJECT ID"],
        groups.iter().map(|g| [g.id.clone(), g.display_name.clone(), g.tenant.clone(), g.object_id.clone()]),
    )
}
