//! How many SSH sessions run at once: so many per user, so that one user's scripts cannot take
//! every session, and so many in all, so that the service's processes and memory stay bounded.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::identities::Owner;
use crate::service::fairness::{Held, Holder, PerHolder};

/// The sessions open, in all and per user.
pub struct Places {
    total: Arc<Semaphore>,
    max_total: usize,
    per_user: PerHolder,
    max_per_user: usize,
}

/// One session's place; given back when dropped.
pub struct Place {
    _total: OwnedSemaphorePermit,
    _user: Held,
}

impl Places {
    /// At most `max_total` sessions, and `max_per_user` of each user (the operator is one user).
    pub fn new(max_total: usize, max_per_user: usize) -> Places {
        Places {
            total: Arc::new(Semaphore::new(max_total)),
            max_total,
            per_user: PerHolder::default(),
            max_per_user,
        }
    }

    /// A place for a session of `owner`; when there is none, the line for the log and the line
    /// for the client.
    pub fn take(&self, owner: &Owner) -> Result<Place, (String, String)> {
        let holder = Holder::User(owner.clone());
        let Ok(total) = self.total.clone().try_acquire_owned() else {
            return Err((
                format!("SSH: {} sessions are open; refused one of {holder}", self.max_total),
                "error: the service has as many SSH sessions as it takes: try again shortly\n".into(),
            ));
        };
        let Some(user) = self.per_user.try_take(&holder, self.max_per_user) else {
            return Err((
                format!("SSH: {holder} has {} sessions open; refused another", self.max_per_user),
                format!(
                    "error: you have {} SSH sessions open already: end one and try again\n",
                    self.max_per_user
                ),
            ));
        };
        Ok(Place { _total: total, _user: user })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_user_has_so_many_sessions_and_all_together_so_many() {
        let places = Places::new(5, 2);
        let alice = Some("alice@contoso.com".to_string());
        let bob = Some("bob@contoso.com".to_string());
        let mine: Vec<Place> = (0..2).map(|_| places.take(&alice).expect("a place")).collect();
        let (log, told) = places.take(&alice).err().expect("a third is refused");
        assert!(log.contains("user alice@contoso.com has 2 sessions open"), "{log}");
        assert!(told.starts_with("error: you have 2 SSH sessions open already"), "{told}");
        let others: Vec<Place> =
            [&bob, &bob, &None].iter().map(|o| places.take(o).expect("their own")).collect();
        let (log, told) = places.take(&None).err().expect("all five are taken");
        assert!(log.contains("5 sessions are open; refused one of the operator"), "{log}");
        assert!(told.contains("as many SSH sessions as it takes"), "{told}");
        drop(mine);
        assert!(places.take(&alice).is_ok(), "places come back when a session ends");
        drop(others);
    }
}
