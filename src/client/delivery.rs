//! The backend's calls about where notices go: a tenant's channels, a user's contact, and the
//! deliveries the outbox owes. Channels answer as their JSON view on both sides, since a service
//! never sends a channel's secret back, and so a local engine's answer must not carry it either.

use hyper::Method;

use super::backend::{as_header, header, list, whole};
use super::{Backend, Result};
use crate::api::paths;
use crate::api::wire;
use crate::domain::delivery::{Contact, Delivery};
use crate::domain::rules::Actor;
use crate::domain::{Page, Paging};
use crate::engine::{AddChannel, DeliveryFilter, RemoveChannel, SetContact, Viewer};
use crate::json;

impl Backend {
    /// Adds a channel to a tenant, as `actor`; the answer shows it without its secret.
    pub async fn add_channel(&self, actor: &Actor, input: AddChannel) -> Result<json::Channel> {
        match self {
            Backend::Local(engine) => Ok(json::Channel::new(&engine.run(actor, input).await?)),
            Backend::Remote(client) => {
                let path = paths::channels(&input.tenant);
                let body = wire::NewChannel::from(input.kind);
                client.submit(Method::POST, &path, header(actor), &body).await
            }
        }
    }

    /// Removes one of a tenant's channels, as `actor`.
    pub async fn remove_channel(&self, actor: &Actor, input: RemoveChannel) -> Result<json::Channel> {
        match self {
            Backend::Local(engine) => Ok(json::Channel::new(&engine.run(actor, input).await?)),
            Backend::Remote(client) => {
                let path = paths::channel(&input.tenant, input.id);
                client.submit(Method::DELETE, &path, header(actor), &serde_json::json!({})).await
            }
        }
    }

    /// A tenant's channels, for its admins or the operator.
    pub async fn channels(&self, viewer: &Viewer, tenant: &str) -> Result<Vec<json::Channel>> {
        match self {
            Backend::Local(engine) => {
                Ok(engine.channels(viewer, tenant).await?.iter().map(json::Channel::new).collect())
            }
            Backend::Remote(client) => client.get(&paths::channels(tenant), as_header(viewer)).await,
        }
    }

    /// Changes how a user is reached, as `actor`.
    pub async fn set_contact(&self, actor: &Actor, input: SetContact) -> Result<Contact> {
        match self {
            Backend::Local(engine) => Ok(engine.run(actor, input).await?),
            Backend::Remote(client) => {
                let path = paths::contact(&input.upn);
                let body = wire::ContactBody::from(input.change);
                let view: json::Contact = client.submit(Method::PUT, &path, header(actor), &body).await?;
                Ok(view.into())
            }
        }
    }

    /// How a user is reached, for themself, their tenant's admins or the operator.
    pub async fn contact(&self, viewer: &Viewer, upn: &str) -> Result<Contact> {
        match self {
            Backend::Local(engine) => Ok(engine.contact(viewer, upn).await?),
            Backend::Remote(client) => {
                let view: json::Contact = client.get(&paths::contact(upn), as_header(viewer)).await?;
                Ok(view.into())
            }
        }
    }

    /// The deliveries the viewer may see, newest first.
    pub async fn deliveries(
        &self,
        viewer: &Viewer,
        filter: DeliveryFilter,
        paging: Paging<u64>,
    ) -> Result<Page<Delivery>> {
        match self {
            Backend::Local(engine) => Ok(engine.deliveries(viewer, filter, &whole(paging)).await?),
            Backend::Remote(client) => {
                let query = if filter.failed_only { vec![("failed", "true".to_string())] } else { vec![] };
                let page: Page<json::Delivery> =
                    list(client, as_header(viewer), paths::DELIVERIES, query, paging).await?;
                Ok(Page { items: page.items.into_iter().map(Delivery::from).collect(), more: page.more })
            }
        }
    }
}
