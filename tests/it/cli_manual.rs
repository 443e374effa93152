//! Shell completions (`jitdesk completions SHELL`) and man pages (`jitdesk man [COMMAND...]`) are
//! made from the same clap definitions as the parser: they name every command, and the pages kept
//! in docs/man/ are exactly what the binary prints now. After changing the command line, write the
//! pages again with `JITDESK_UPDATE_MAN=1 cargo test --test it cli_manual`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::common::*;
use clap::CommandFactory;
use jitdesk::cli::Cli;

fn jitdesk(args: &[&str]) -> Run {
    Run::from_cmd(bare_command().args(args))
}

/// Prints what a successful run printed; fails on anything else.
fn printed(args: &[&str]) -> String {
    let run = jitdesk(args);
    assert_eq!(run.code, 0, "jitdesk {args:?}: {run:?}");
    assert!(run.stderr.is_empty(), "jitdesk {args:?}: {run:?}");
    assert!(!run.stdout.is_empty(), "jitdesk {args:?} printed nothing");
    run.stdout
}

/// The names of the top-level commands, from the definitions the parser uses.
fn top_level() -> Vec<String> {
    Cli::command().get_subcommands().map(|c| c.get_name().to_string()).collect()
}

/// Every command, as the words that name it (`["request", "list"]`), the top (`[]`) first.
fn every_command() -> Vec<Vec<String>> {
    fn walk(command: &clap::Command, path: Vec<String>, all: &mut Vec<Vec<String>>) {
        all.push(path.clone());
        for sub in command.get_subcommands() {
            let mut deeper = path.clone();
            deeper.push(sub.get_name().to_string());
            walk(sub, deeper, all);
        }
    }
    let mut all = Vec::new();
    walk(&Cli::command(), Vec::new(), &mut all);
    all
}

/// Roff as people read it: `\-` is a hyphen.
fn unroff(page: &str) -> String {
    page.replace("\\-", "-")
}

#[test]
fn bash_completions_offer_every_top_level_command() {
    let script = printed(&["completions", "bash"]);
    // The words offered after `jitdesk `: the case for the top-level command.
    let lines: Vec<&str> = script.lines().collect();
    let top = lines.iter().position(|l| l.trim() == "jitdesk)").expect("a case for `jitdesk`");
    let opts = lines[top..].iter().find(|l| l.trim().starts_with("opts=")).expect("its words");
    let offered: BTreeSet<&str> =
        opts.trim().trim_start_matches("opts=").trim_matches('"').split(' ').collect();
    for name in top_level() {
        assert!(offered.contains(name.as_str()), "bash completion lacks `{name}`: {opts}");
    }
    assert!(offered.contains("--store"), "{opts}");
}

/// What bash offers after `words` (the last one being completed), with the script loaded.
fn bash_offers(script: &std::path::Path, words: &[&str]) -> Option<Vec<String>> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let n = words.len();
    let program = format!(
        "source '{}'; COMP_WORDS=({}); COMP_CWORD={}; _jitdesk jitdesk '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        quoted.join(" "),
        n - 1,
        words[n - 1],
        words[n - 2],
    );
    let out = std::process::Command::new("bash").arg("-c").arg(program).output().ok()?;
    assert!(out.status.success(), "bash: {}", String::from_utf8_lossy(&out.stderr));
    Some(String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect())
}

#[test]
fn bash_completes_commands_and_their_words() {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("jitdesk.bash");
    std::fs::write(&script, printed(&["completions", "bash"])).expect("write the script");
    let Some(offered) = bash_offers(&script, &["jitdesk", "re"]) else {
        eprintln!("skipped: no bash to load the script into");
        return;
    };
    assert_eq!(offered, ["request"]);
    assert_eq!(bash_offers(&script, &["jitdesk", "request", "l"]).unwrap_or_default(), ["list"]);
    let shells = bash_offers(&script, &["jitdesk", "completions", ""]).unwrap_or_default();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        assert!(shells.iter().any(|s| s == shell), "`jitdesk completions ` offers {shells:?}");
    }
}

#[test]
fn every_shell_gets_a_script_that_names_the_commands() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = printed(&["completions", shell]);
        for name in ["request", "access", "notifications", "completions", "serve"] {
            assert!(script.contains(name), "{shell} completion lacks `{name}`");
        }
    }
    let run = jitdesk(&["completions", "tcsh"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.error_line().contains("possible values: bash, elvish, fish, powershell, zsh"), "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
}

#[test]
fn the_man_page_names_every_top_level_command_and_the_global_flags() {
    let page = unroff(&printed(&["man"]));
    assert!(page.starts_with(".ie") && page.contains(".TH jitdesk 1"), "not a man page: {page}");
    for name in top_level() {
        assert!(page.contains(&format!("jitdesk-{name}(1)")), "jitdesk(1) does not name `{name}`");
    }
    for flag in ["--store", "--as", "--utc", "--theme"] {
        assert!(page.contains(flag), "jitdesk(1) does not name `{flag}`");
    }
    assert!(!page.contains("jitdesk-help(1)"), "clap's `help` has no page to point to");
}

#[test]
fn a_commands_page_has_its_own_flags_and_the_global_ones() {
    let page = unroff(&printed(&["man", "request", "list"]));
    assert!(page.contains(".TH jitdesk-request-list 1"), "{page}");
    assert!(page.contains("jitdesk request list"), "the synopsis names the command in full: {page}");
    for flag in ["--state", "--mine", "--limit", "--store"] {
        assert!(page.contains(flag), "jitdesk-request-list(1) does not name `{flag}`");
    }
}

#[test]
fn a_page_for_no_such_command_is_one_line_saying_which_there_are() {
    let run = jitdesk(&["man", "request", "lst"]);
    assert_eq!(run.code, 2, "{run:?}");
    let line = run.error_line();
    assert!(line.contains("no command `jitdesk request lst`") && line.contains("list"), "{line}");
    assert!(run.stdout.is_empty(), "{run:?}");
    let run = jitdesk(&["man", "init", "\u{1b}[2Jx"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(!run.stderr.contains('\u{1b}'), "the typed name reaches the terminal raw: {run:?}");
}

#[test]
fn completions_and_pages_need_no_store_and_no_config() {
    let home = tempfile::tempdir().expect("temp dir");
    let config = home.path().join("config");
    std::fs::create_dir_all(config.join("jitdesk")).expect("config folder");
    std::fs::write(config.join("jitdesk").join("config.toml"), "this is not toml = = =").expect("config");
    let store = home.path().join("nowhere").join("jitdesk.redb");
    let env = |args: &[&str]| {
        Run::from_cmd(
            bare_command()
                .env("XDG_CONFIG_HOME", &config)
                .env("XDG_DATA_HOME", home.path())
                .arg("--store")
                .arg(&store)
                .args(args),
        )
    };
    // The same surroundings stop a command that needs them.
    assert_eq!(env(&["request", "list"]).code, 1);
    for args in [&["completions", "zsh"][..], &["man"], &["man", "serve"]] {
        let run = env(args);
        assert_eq!((run.code, run.stderr.as_str()), (0, ""), "jitdesk {args:?}: {run:?}");
        assert!(!run.stdout.is_empty(), "jitdesk {args:?} printed nothing");
    }
    assert!(!store.exists() && !home.path().join("nowhere").exists(), "nothing was created");
}

#[test]
fn every_command_flag_and_argument_says_what_it_is() {
    let mut silent = Vec::new();
    let mut command = Cli::command();
    command.build();
    fn walk(command: &clap::Command, silent: &mut Vec<String>) {
        let name = command.get_bin_name().unwrap_or(command.get_name()).to_string();
        if command.get_about().is_none() && name != "jitdesk help" {
            silent.push(name.clone());
        }
        for arg in command.get_arguments().filter(|a| !a.is_hide_set()) {
            if arg.get_help().is_none() && arg.get_long_help().is_none() {
                silent.push(format!("{name} {}", arg.get_id()));
            }
        }
        command.get_subcommands().for_each(|sub| walk(sub, silent));
    }
    walk(&command, &mut silent);
    assert!(silent.is_empty(), "these say nothing in --help and the man pages: {silent:?}");
}

fn man_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs").join("man")
}

#[test]
fn the_pages_in_docs_man_are_what_jitdesk_man_prints() {
    let update = std::env::var_os("JITDESK_UPDATE_MAN").is_some();
    let dir = man_dir();
    let mut expected = BTreeSet::new();
    for path in every_command() {
        let name =
            std::iter::once("jitdesk").chain(path.iter().map(String::as_str)).collect::<Vec<_>>().join("-");
        let file = format!("{name}.1");
        let mut args = vec!["man"];
        args.extend(path.iter().map(String::as_str));
        let page = printed(&args);
        if update {
            std::fs::create_dir_all(&dir).expect("docs/man");
            std::fs::write(dir.join(&file), &page).expect("write a page");
        } else {
            let kept = std::fs::read_to_string(dir.join(&file)).unwrap_or_default();
            assert!(
                kept == page,
                "docs/man/{file} is not what `jitdesk {}` prints: write the pages again with \
                 JITDESK_UPDATE_MAN=1 cargo test --test it cli_manual",
                args.join(" ")
            );
        }
        expected.insert(file);
    }
    let kept: BTreeSet<String> = std::fs::read_dir(&dir)
        .expect("docs/man")
        .map(|e| e.expect("an entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(kept, expected, "docs/man/ holds exactly one page per command: remove the others");
}
