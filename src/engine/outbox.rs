//! What the outbox hands the edge to send. The engine decides what is owed and when (deliveries are
//! queued with their notifications and tried again by `Retry`); a courier, given by whoever opens
//! the engine, only carries a parcel to its channel and says how that went. So mail, webhooks and
//! hooks live at the edge, and tests give the engine a courier of their own.

use std::future::Future;
use std::pin::Pin;

use crate::domain::delivery::{ChannelKind, Notice};

/// One send: one notice, or a user's digest of several, over one channel.
#[derive(Debug, Clone)]
pub struct Parcel {
    /// `delivery::parcel_key` of the deliveries it carries: the same on every attempt of the same
    /// deliveries, so a receiver drops a repeat.
    pub key: String,
    /// Where it goes.
    pub channel: ChannelKind,
    /// The channel's tenant.
    pub tenant: String,
    /// Whether someone other than the operator added the channel (`Channel::restricted`): then the
    /// courier sends only to public addresses and says little about a failed connection.
    pub restricted: bool,
    /// Mail: the user it goes to and their address.
    pub to: Option<Recipient>,
    /// Oldest first; more than one only in a digest.
    pub notices: Vec<Notice>,
}

/// A mail's addressee.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// The directory user.
    pub upn: String,
    /// Their contact's address.
    pub email: String,
}

/// Why a send failed, in words fit for `deliveries --failed` (sanitized by the courier: it may
/// quote a receiver).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undelivered {
    /// What went wrong, in one line.
    pub reason: String,
    /// Trying again cannot help (a malformed address, a refused signature): give up at once.
    pub permanent: bool,
}

/// The future a courier's send returns.
pub type Sending<'a> = Pin<Box<dyn Future<Output = Result<(), Undelivered>> + Send + 'a>>;

/// Carries parcels to their channels. It holds no state the engine needs; it may be called for
/// several parcels at once.
pub trait Courier: Send + Sync + 'static {
    /// Sends one parcel; done when the receiver took it.
    fn send<'a>(&'a self, parcel: &'a Parcel) -> Sending<'a>;
}
