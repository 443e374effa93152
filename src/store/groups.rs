//! Directory groups and their members, kept both ways round: a group's members (for its list and
//! for notifying each of them) and a user's groups (for asking whether they approve through one),
//! so each question walks only its own entries.

use redb::ReadableTable;

use super::codec::{decode, encode};
use super::error::Result;
use super::identity::{missing, next_prefix, under};
use super::read::{named, page};
use super::tables::{Family, Tables, Write};
use crate::domain::*;

impl<F: Family> Tables<F> {
    /// The group of this id, if there is one.
    pub fn group(&self, id: &str) -> Result<Option<Group>> {
        self.groups.get(id)?.map(|v| decode("groups", &id, v.value())).transpose()
    }

    /// The group of this object id, if there is one.
    pub fn group_by_object_id(&self, object_id: &str) -> Result<Option<Group>> {
        match self.groups_by_object_id.get(object_id)? {
            Some(id) => {
                Ok(Some(self.group(id.value())?.ok_or_else(|| missing("groups_by_object_id", "a group"))?))
            }
            None => Ok(None),
        }
    }

    /// Groups in id order after the cursor; one tenant's alone when it is given.
    pub fn groups(&self, tenant: Option<&str>, paging: &Paging<String>) -> Result<Page<Group>> {
        named(&self.groups, "groups", paging, |g: &Group| tenant.is_none_or(|t| g.tenant == t))
    }

    /// A group's members' UPNs, in UPN order after the cursor.
    pub fn members_of(&self, group: &str, paging: &Paging<String>) -> Result<Page<String>> {
        let next = next_prefix(group);
        let range = self.group_members.range::<(&str, &str)>(under(group, paging.after.as_deref(), &next))?;
        page(range.map(|entry| Ok(entry?.0.value().1.to_string())), paging.limit)
    }

    /// The ids of the groups a user is a member of, in id order.
    pub fn groups_of(&self, upn: &str) -> Result<Vec<String>> {
        let next = next_prefix(upn);
        let range = self.groups_of_user.range::<(&str, &str)>(under(upn, None, &next))?;
        Ok(page(range.map(|entry| Ok(entry?.0.value().1.to_string())), None)?.items)
    }
}

impl Tables<Write<'_>> {
    /// Stores a group under its id, replacing any stored there, and indexes its object id.
    pub fn put_group(&mut self, group: &Group) -> Result<()> {
        let old = self.groups.insert(group.id.as_str(), encode(group)?.as_slice())?;
        if let Some(old) = old {
            let old: Group = decode("groups", &group.id, old.value())?;
            self.groups_by_object_id.remove(old.object_id.as_str())?;
        }
        self.groups_by_object_id.insert(group.object_id.as_str(), group.id.as_str())?;
        Ok(())
    }

    /// Makes a user a member of a group; one who already is stays so.
    pub fn add_member(&mut self, group: &str, upn: &str) -> Result<()> {
        self.group_members.insert((group, upn), ())?;
        self.groups_of_user.insert((upn, group), ())?;
        Ok(())
    }

    /// Takes a user out of a group; one who is not a member changes nothing.
    pub fn remove_member(&mut self, group: &str, upn: &str) -> Result<()> {
        self.group_members.remove((group, upn))?;
        self.groups_of_user.remove((upn, group))?;
        Ok(())
    }
}
