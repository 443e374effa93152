//! The dashboard over SSH: a pty and a shell request open it for the key's owner. This is the hook
//! the remote dashboard fills: `started` carries the client's input, its terminal's size as it
//! changes, TERM/COLORTERM/NO_COLOR/LANG, and the channel to draw on. Until then the client is
//! told so, and the session ends with status 1.

use super::identities::Owner;
use super::session::Started;

/// Runs the dashboard on a started session with a terminal, as `owner`, to its end.
pub async fn open(_owner: Owner, started: Started) {
    started.finish("error: the dashboard over SSH is not available yet; give a command instead\n", 1).await;
}
