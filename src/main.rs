//! The `jitdesk` binary: everything it does is the library's command line.

#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    jitdesk::cli::main()
}
