//! What shells and man(1) know of the command line: completion scripts and man pages, both made
//! from the clap definitions (`args`) when asked for, so they describe exactly the commands and
//! flags this very binary takes and cannot fall behind it. docs/man/ holds the pages as this makes
//! them (tests/cli_manual.rs keeps them equal).

use clap::CommandFactory;
use clap_complete::Shell;

use super::args::Cli;
use crate::domain::text::shown;

/// The name people type, whatever the binary file is called.
const NAME: &str = "jitdesk";

/// The completion script for `shell`.
pub fn completions(shell: Shell) -> String {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), NAME, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The man page, in roff, of the command named by `path` (`["request", "list"]` for
/// jitdesk-request-list(1); none for jitdesk(1)); else the one line that says why not.
pub fn man_page(path: &[String]) -> Result<String, String> {
    // `help` is clap's own command, not one of ours: it gets no page, and no page names it.
    let mut command = Cli::command().name(NAME).disable_help_subcommand(true);
    // Built from the top, so that each command's page carries its full name and the global flags.
    command.build();
    for name in path {
        let Some(sub) = command.find_subcommand(name).cloned() else {
            let parent = command.get_bin_name().unwrap_or(NAME).to_string();
            let asked = format!("{parent} {}", shown(name));
            let known: Vec<&str> = command.get_subcommands().map(|c| c.get_name()).collect();
            return Err(if known.is_empty() {
                format!("no command `{asked}`: `{parent}` has no commands under it")
            } else {
                format!("no command `{asked}`: `{parent}` has {}", known.join(", "))
            });
        };
        command = sub;
    }
    let mut out = Vec::new();
    clap_mangen::Man::new(command)
        .source(format!("{NAME} {}", env!("CARGO_PKG_VERSION")))
        .render(&mut out)
        .map_err(|e| format!("cannot make the man page: {e}"))?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}
