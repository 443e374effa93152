use std::process::ExitCode;

fn main() -> ExitCode {
    jitdesk::cli::main()
}
