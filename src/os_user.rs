//! Who a uid is, as people know it: its login from the password database. The service names its
//! callers by it, the client names whoever answers on a socket, and the store names the owner of a
//! file it will not trust; all of them say it the same way.

/// The login name of a uid, from the password database: None when the uid has none, an error when
/// the database could not be read.
pub fn login_of(uid: u32) -> nix::Result<Option<String>> {
    known(nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)))
}

/// Tells "no such uid" from "could not look": getpwuid_r(3) may report a missing entry as any of
/// these errors instead of an empty answer; anything else (EMFILE, ENFILE, EIO, ENOMEM, ...) is
/// trouble reading the database.
fn known(lookup: nix::Result<Option<nix::unistd::User>>) -> nix::Result<Option<String>> {
    use nix::errno::Errno;
    match lookup {
        Ok(user) => Ok(user.map(|u| u.name)),
        Err(Errno::ENOENT | Errno::ESRCH | Errno::EBADF | Errno::EPERM) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A uid as people know it: `login (uid N)`, or `uid N` when it has no login.
pub fn named(uid: u32) -> String {
    match login_of(uid) {
        Ok(Some(login)) => format!("{login} (uid {uid})"),
        Ok(None) | Err(_) => format!("uid {uid}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_entry_is_no_login_and_a_failed_lookup_is_an_error() {
        use nix::errno::Errno;
        assert_eq!(known(Ok(None)), Ok(None));
        for missing in [Errno::ENOENT, Errno::ESRCH, Errno::EBADF, Errno::EPERM] {
            assert_eq!(known(Err(missing)), Ok(None), "{missing}");
        }
        for trouble in [Errno::EMFILE, Errno::ENFILE, Errno::EIO, Errno::ENOMEM, Errno::EINTR] {
            assert_eq!(known(Err(trouble)), Err(trouble), "{trouble}");
        }
    }
}
