//! Which command lines the SSH door runs: the CLI's own grammar, and only commands that act
//! through the service, so that the service's rules decide what the key's owner may do. Whatever
//! would touch the host itself is refused: the store file (`init`, `store`, `--store`), the service
//! (`serve`), files on the host (`backup`, `export --output`, `--key-file`, `--secret-file`, `--password-file`, `--ca`), the demo; `completions` and `man` are harmless (they
//! print text made from the grammar alone) and run. `--as` is only for the operator's keys.

use clap::CommandFactory;
use clap::parser::ValueSource;

use crate::cli::Cli;
use crate::cli::args::Command;

/// What the door does with an exec request's command line.
#[derive(Debug, PartialEq, Eq)]
pub enum Vetted {
    /// Run the CLI with these arguments (after the program's name).
    Run(Vec<String>),
    /// Answer without running anything: this text, on stdout or stderr, and this exit status.
    Answer { text: String, stderr: bool, status: u32 },
}

/// Vets `line` for a caller who is the operator or not.
pub fn vet(line: &[u8], operator: bool) -> Vetted {
    let refuse = |why: String| Vetted::Answer {
        text: format!("error: {why}\n"),
        stderr: true,
        status: u32::from(crate::cli::EXIT_USAGE),
    };
    let Ok(line) = std::str::from_utf8(line) else {
        return refuse("the command line is not UTF-8".into());
    };
    let words = match shell_words::split(line) {
        Ok(words) => words,
        Err(_) => return refuse("the command line has an unclosed quote".into()),
    };
    if words.is_empty() {
        return refuse("give a command, e.g. `request list`, or use `ssh -t` for the dashboard".into());
    }
    let argv = std::iter::once("jitdesk".to_string()).chain(words.iter().cloned());
    let matches = match Cli::command().try_get_matches_from(argv) {
        Ok(matches) => matches,
        // Help, the version and mistakes read exactly as the CLI's own.
        Err(e) => {
            let (text, stderr, status) = crate::cli::usage_answer(&e);
            return Vetted::Answer { text, stderr, status: u32::from(status) };
        }
    };
    let given = |id: &str| {
        // A global option may follow the command: look where clap put it as well as at the top.
        std::iter::successors(Some(&matches), |m| m.subcommand().map(|(_, sub)| sub))
            .any(|m| m.try_contains_id(id).is_ok() && m.value_source(id) == Some(ValueSource::CommandLine))
    };
    if given("store") {
        return refuse("`--store` is not taken over SSH: the service serves its own store".into());
    }
    // A path would be read on the service's host, as the service's user: what is there is not the
    // caller's to read or to probe for.
    for (id, flag, instead) in [
        ("key_file", "--key-file", "--key \"ssh-ed25519 AAAA...\""),
        ("ca", "--ca", "nothing"),
        ("secret_file", "--secret-file", "it from a CLI on your machine, with JITDESK_URL"),
        ("password_file", "--password-file", "it from a CLI on your machine, with JITDESK_URL"),
    ] {
        if given(id) {
            return refuse(format!(
                "`{flag}` names a file on the service's host and is not taken over SSH: give {instead}"
            ));
        }
    }
    if given("as_user") && !operator {
        return refuse(
            "`--as` is only for the service's operator: over SSH you are the user your key belongs to".into(),
        );
    }
    let command = match <Cli as clap::FromArgMatches>::from_arg_matches(&matches) {
        Ok(cli) => cli.command,
        Err(e) => return refuse(e.to_string()),
    };
    let name = matches.subcommand_name().unwrap_or_default().to_string();
    match command {
        None => refuse("give a command, e.g. `request list`, or use `ssh -t` for the dashboard".into()),
        Some(Command::Init { .. } | Command::Demo { .. } | Command::Serve { .. } | Command::Store(_)) => {
            refuse(format!("`{name}` works on the service's host itself and is not taken over SSH"))
        }
        Some(Command::Backup { .. }) => {
            refuse("`backup` writes a file on the service's host and is not taken over SSH".into())
        }
        Some(Command::Export { output: Some(_), .. }) => refuse(
            "`export --output` writes a file on the service's host and is not taken over SSH: leave it out and redirect the output on your side".into(),
        ),
        Some(_) => Vetted::Run(words),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(line: &str, operator: bool) -> String {
        match vet(line.as_bytes(), operator) {
            Vetted::Answer { text, stderr: true, status: 2 } => text,
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn commands_through_the_service_run_split_as_a_shell_would() {
        assert_eq!(
            vet(b"request create --app 'my app' --role Reader --duration 1h --reason \"needs a fix\"", false),
            Vetted::Run(
                [
                    "request",
                    "create",
                    "--app",
                    "my app",
                    "--role",
                    "Reader",
                    "--duration",
                    "1h",
                    "--reason",
                    "needs a fix"
                ]
                .map(String::from)
                .to_vec()
            )
        );
        assert!(matches!(vet(b"request list --json", false), Vetted::Run(_)));
        assert!(matches!(vet(b"man request list", false), Vetted::Run(_)));
        assert!(matches!(vet(b"--as bob@contoso.com request list", true), Vetted::Run(_)));
        assert!(matches!(vet(b"request list --as bob@contoso.com", true), Vetted::Run(_)));
    }

    #[test]
    fn the_store_the_host_and_other_users_are_refused() {
        for line in ["--store /tmp/x request list", "request list --store=/tmp/x"] {
            assert!(refused(line, true).contains("`--store` is not taken"), "{line}");
        }
        for line in ["--as bob@contoso.com request list", "access list --as=bob@contoso.com"] {
            assert!(refused(line, false).contains("only for the service's operator"), "{line}");
        }
        for line in ["init", "serve --socket /tmp/s", "store info", "demo"] {
            assert!(refused(line, true).contains("on the service's host itself"), "{line}");
        }
        assert!(refused("backup /tmp/copy", true).contains("writes a file"));
        assert!(refused("export audit --output /tmp/log.csv", true).contains("writes a file"));
        assert!(matches!(vet(b"export audit --format csv", false), Vetted::Run(_)));
        // Files on the host are not read for the caller, nor probed.
        let line = "user key add dave@fabrikam.com --key-file /etc/ssh/ssh_host_ed25519_key.pub";
        assert!(refused(line, true).contains("`--key-file` names a file on the service's host"), "{line}");
        let line = "tenant ca add fabrikam --key-file=/root/.ssh/id_ed25519.pub";
        assert!(refused(line, false).contains("`--key-file`"), "{line}");
        let line = "tenant channel add contoso --webhook https://x.example --secret-file /etc/shadow";
        assert!(refused(line, true).contains("`--secret-file` names a file on the service's host"), "{line}");
        let line =
            "tenant channel add contoso --smtp smtp://u@m.example --from a@b.c --password-file=/etc/shadow";
        assert!(refused(line, false).contains("`--password-file`"), "{line}");
        assert!(refused("--ca /etc/shadow request list", false).contains("`--ca` names a file"));
        assert!(refused("request list --ca /etc/shadow", false).contains("`--ca` names a file"));
        assert!(refused("", false).contains("give a command"));
        assert!(refused("--utc", false).contains("give a command"));
        assert!(refused("request list 'open", false).contains("unclosed quote"));
    }

    #[test]
    fn mistakes_and_help_read_as_the_clis_own() {
        match vet(b"request frobnicate", false) {
            Vetted::Answer { text, stderr: true, status: 2 } => {
                assert!(text.contains("frobnicate"), "{text}")
            }
            other => panic!("{other:?}"),
        }
        match vet(b"--help", false) {
            Vetted::Answer { text, stderr: false, status: 0 } => assert!(text.contains("Usage"), "{text}"),
            other => panic!("{other:?}"),
        }
    }
}
