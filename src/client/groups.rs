//! The backend's calls about directory groups: the group commands as routes, and the lists and
//! the one group people read, the same values from the engine here or a service's routes.

use hyper::Method;

use super::backend::{Routed, as_header, list, whole};
use super::{Backend, Client, Result};
use crate::api::paths;
use crate::api::wire::{self, MORE_HEADER};
use crate::domain::groups::NewGroup;
use crate::domain::{Group, Page, Paging};
use crate::engine::{AddMembers, GroupDetail, RemoveMember, Viewer};
use crate::json;

impl Routed for NewGroup {
    async fn send(self, client: &Client, as_user: Option<&str>) -> Result<Group> {
        client.submit(Method::POST, paths::GROUPS, as_user, &self).await
    }
}

impl Routed for AddMembers {
    async fn send(self, client: &Client, as_user: Option<&str>) -> Result<(Group, Vec<String>)> {
        let body = wire::Members { upns: self.upns };
        let view: json::GroupMembers =
            client.submit(Method::POST, &paths::group_members(&self.group), as_user, &body).await?;
        Ok((view.group, view.members))
    }
}

impl Routed for RemoveMember {
    async fn send(self, client: &Client, as_user: Option<&str>) -> Result<(Group, String)> {
        let path = paths::group_member(&self.group, &self.upn);
        let view: json::GroupMembers =
            client.submit(Method::DELETE, &path, as_user, &serde_json::json!({})).await?;
        let upn = view.members.into_iter().next().unwrap_or(self.upn);
        Ok((view.group, upn))
    }
}

impl Backend {
    /// The groups the viewer may see, in id order; one tenant's when it is named.
    pub async fn groups(
        &self,
        viewer: &Viewer,
        tenant: Option<&str>,
        paging: Paging<String>,
    ) -> Result<Page<Group>> {
        match self {
            Backend::Local(engine) => Ok(engine.groups(viewer, tenant, whole(paging)).await?),
            Backend::Remote(client) => {
                let query = tenant.map(|t| ("tenant", t.to_string())).into_iter().collect();
                list(client, as_header(viewer), paths::GROUPS, query, paging).await
            }
        }
    }

    /// One group with a page of its members, if the viewer may see it.
    pub async fn group(&self, viewer: &Viewer, id: &str, paging: Paging<String>) -> Result<GroupDetail> {
        match self {
            Backend::Local(engine) => Ok(engine.group(viewer, id, whole(paging)).await?),
            Backend::Remote(client) => {
                let paging = whole(paging);
                let mut query: Vec<String> = paging.limit.map(|l| format!("limit={l}")).into_iter().collect();
                query.extend(paging.after.map(|a| format!("after={}", paths::encode(&a))));
                let path = format!("{}?{}", paths::group(id), query.join("&"));
                let (view, more): (json::GroupMembers, _) =
                    client.get_with(&path, as_header(viewer), MORE_HEADER).await?;
                let members = Page { items: view.members, more: more.as_deref() == Some("true") };
                Ok(GroupDetail { group: view.group, members })
            }
        }
    }

    /// The ids of the groups a directory user is a member of: whether they approve through one.
    pub async fn member_of(&self, upn: &str) -> Result<Vec<String>> {
        match self {
            Backend::Local(engine) => Ok(engine.groups_of(upn).await?),
            Backend::Remote(client) => {
                let me: wire::Me = client.get(paths::ME, Some(upn)).await?;
                Ok(me.groups)
            }
        }
    }
}
