//! The scriptable command line: parses, runs one engine call (through the store's service when one
//! runs, in this process otherwise: `client::Backend`), prints. Errors are one line on stderr
//! starting with `error:`; exit 1 for refused or failed commands, 2 for usage, 3 for "no access".

pub(crate) mod args;
mod arm;
mod decide;
mod delivery;
mod extend;
mod generate;
mod groups;
mod identity;
mod show;
mod tenants;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use clap::error::ErrorKind as ClapKind;
use serde::Serialize;

pub use args::Cli;
use args::*;

use crate::client::{self, Backend, Open};
use crate::client::{Error, Result};
use crate::config::Config;
use crate::domain::rules::{
    self, AccessStatus, Actor, Deployment, NewOffer, NewRequest, NewTenant, NewUser, PolicyChange,
};
use crate::domain::text::sanitize;
use crate::domain::{Application, AuditFilter, Input, Listed, Page, Paging, RequestState, RuleError, Window};
use crate::engine::{Cancel, Engine, Revoke, SetPolicy, SystemClock, Viewer};
use crate::engine::{OpenMode, RequestFilter, StoreError};
use crate::engine::{location, maintenance};
use crate::export::Export;
use crate::json;
use crate::tui;
use show::Times;

pub(crate) const EXIT_USAGE: u8 = 2;
const EXIT_NO_ACCESS: u8 = 3;

/// The whole `jitdesk` program: parses the command line, runs the command (or the dashboard) and
/// turns any error into one line and its exit code.
pub fn main() -> ExitCode {
    // A panic is a bug, but the user still gets one line, not a backtrace; the dashboard's own hook
    // restores the terminal before this runs.
    // Where it happened goes to the log only: a path on the build machine means nothing to a user.
    std::panic::set_hook(Box::new(|info| {
        tracing::error!("panic: {info}");
        if !crate::engine::probing() {
            // Not `eprintln!`: it panics when stderr is gone (a hung-up terminal), and a panic in
            // here aborts the process before anything is cleaned up.
            let _ = writeln!(
                std::io::stderr(),
                "error: internal error; this is a bug, please report it (details in the log)"
            );
        }
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage(e),
    };
    // Made from the grammar alone: no store, socket or config file is looked at.
    match cli.command {
        Some(Command::Completions { shell }) => {
            print(&generate::completions(shell));
            return ExitCode::SUCCESS;
        }
        Some(Command::Man { command }) => {
            return match generate::man_page(&command) {
                Ok(page) => {
                    print(&page);
                    ExitCode::SUCCESS
                }
                Err(why) => {
                    report(&why);
                    ExitCode::from(EXIT_USAGE)
                }
            };
        }
        _ => {}
    }
    // Read once, here: the socket, the store's cache and limits, and how times read all come from it.
    let config = match Config::user() {
        Ok(config) => config,
        Err(e) => return fail(&e),
    };
    let path = cli.store.clone().or_else(|| config.store.location.clone()).unwrap_or_else(default_store);
    // Before anything is opened, here rather than in the backend, whose words name no flag.
    if let Err(e) = location::check(&path) {
        return fail(&format!("{e} (--store, JITDESK_STORE or `store` in config.toml)"));
    }
    // A service can answer for the store only where its socket file is; `init`, `demo` and `store`
    // work on the store itself, and `serve` is the service.
    let client = !matches!(
        cli.command,
        Some(Command::Init { .. } | Command::Demo { .. } | Command::Serve { .. } | Command::Store(_))
    );
    let socket = client::socket_for(&path, &config);
    // A remote service named by JITDESK_URL (or `url`) answers every client command: no store is
    // opened here, and no socket looked for.
    let remote = match client.then(|| client::Remote::configured(cli.ca.as_deref(), &config)).transpose() {
        Ok(remote) => remote.flatten(),
        Err(e) => return fail(&e.to_string()),
    };
    let service =
        Some(socket.clone()).filter(|socket| client && remote.is_none() && client::may_answer(socket));
    // One-shot commands that only read need no I/O or timer drivers unless they talk to a service,
    // and skipping them is measurable per call; one that writes to a store opened here runs the
    // outbox's sends, which need both. The service serves many clients at once: a thread per core.
    let mut builder = match cli.command {
        Some(Command::Serve { .. }) => tokio::runtime::Builder::new_multi_thread(),
        _ => tokio::runtime::Builder::new_current_thread(),
    };
    // A database is reached over the network on the runtime's own drivers, whatever the command.
    let database = location::database(&path).is_some();
    if service.is_some()
        || remote.is_some()
        || database
        || cli.command.as_ref().is_none_or(|c| !c.only_reads())
    {
        builder.enable_all();
    }
    let runtime = match builder.build() {
        Ok(runtime) => runtime,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    let outcome = match runtime.block_on(run(&cli, &config, &path, service, remote.as_ref())) {
        // A service holds the store before its socket answers while it starts, and after its
        // socket stops answering while it stops: wait for either to finish, then try once more,
        // rather than say "in use". A service that stopped answering between finding it and
        // calling it was sent nothing (a command's one change is its last call): the same.
        Err(e)
            if client
                && remote.is_none()
                && matches!(e.store(), Some(StoreError::InUse { .. }))
                && client::held_by_a_service_or_free(&path) =>
        {
            drop(runtime);
            once_more(&cli, &config, &path, &socket)
        }
        Err(Error::Unreachable(_)) if client && remote.is_none() => {
            drop(runtime);
            once_more(&cli, &config, &path, &socket)
        }
        outcome => outcome,
    };
    match outcome {
        Ok(code) => code,
        Err(e) => fail(&worded(&e)),
    }
}

/// An error in the command line's words: a refused rule says which flags give what it is about.
fn worded(e: &Error) -> String {
    match e {
        Error::Engine(crate::engine::Error::Rule(rule)) if !rule.about.is_empty() => {
            let flags: Vec<&str> = rule.about.iter().map(|input| flags(*input)).collect();
            format!("{rule} ({})", flags.join(", "))
        }
        other => other.to_string(),
    }
}

/// How an input the rules speak of is given on the command line.
fn flags(input: Input) -> &'static str {
    match input {
        Input::Identity => "--as UPN, JITDESK_USER, or `jitdesk user add --login`",
        Input::License => "--license",
        Input::Jit => "--jit on|off",
        Input::ApprovalMode => "--approval",
        Input::MaxDuration => "--max-duration",
        Input::Approvers => "--approver",
        Input::RequestTimeout => "--request-timeout",
        Input::MaxExtensions => "--max-extensions",
        Input::ApprovalsRequired => "--approvals-required",
        Input::Roles => "--role",
        Input::Email => "--email",
        Input::Sender => "--from",
        Input::Digest => "--digest",
        Input::Muted => "--mute, --unmute",
        Input::Location => "--webhook or --smtp",
        Input::Program => "--sendmail or --hook",
        Input::HookArgs => "--arg",
        Input::Secret => "--secret-file or --password-file",
    }
}

fn fail(message: &str) -> ExitCode {
    report(message);
    ExitCode::FAILURE
}

/// An error's one line on stderr.
fn report(message: &str) {
    // Messages quote what people typed and what a service said; neither may steer the terminal.
    // The terminal may be gone (a hang-up): then there is nobody to tell, and no reason to panic.
    let _ = writeln!(std::io::stderr(), "error: {}", sanitize(&one_line(message)));
}

fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// clap's own messages span several lines; scripts and people get the gist on one.
fn usage(e: clap::Error) -> ExitCode {
    if matches!(e.kind(), ClapKind::DisplayHelp | ClapKind::DisplayVersion) {
        // Nothing useful to do if stdout is gone.
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    let _ = std::io::stderr().write_all(usage_answer(&e).0.as_bytes());
    ExitCode::from(EXIT_USAGE)
}

/// What the CLI answers a command line it cannot take: the text, whether it goes to stderr (help
/// and the version go to stdout) and the exit code. Doors that parse a command line for the CLI
/// answer with it too.
pub(crate) fn usage_answer(e: &clap::Error) -> (String, bool, u8) {
    let rendered = e.render().to_string();
    if matches!(e.kind(), ClapKind::DisplayHelp | ClapKind::DisplayVersion) {
        return (rendered, false, 0);
    }
    let gist: Vec<&str> = rendered
        .lines()
        .take_while(|l| !l.starts_with("Usage:"))
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("For more information"))
        .collect();
    // clap quotes the arguments it could not use, as typed.
    (format!("{} (see --help)\n", sanitize(&one_line(&gist.join(" ")))), true, EXIT_USAGE)
}

/// The store used without `--store` or `JITDESK_STORE`: `$XDG_DATA_HOME/jitdesk/jitdesk.redb`.
pub fn default_store() -> PathBuf {
    dirs::data_dir().unwrap_or_else(|| PathBuf::from(".")).join("jitdesk").join("jitdesk.redb")
}

fn once_more(
    cli: &Cli,
    config: &Config,
    path: &std::path::Path,
    socket: &std::path::Path,
) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Local(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async {
        if !client::wait_for_service_or_store(path, socket, crate::api::limits::SERVICE_WAIT).await {
            let holder = crate::engine::holder_pid(path).map_or_else(
                || "another process".to_string(),
                |pid| {
                    format!(
                        "a jitdesk service or dashboard (pid {pid}) that does not answer on {}",
                        socket.display()
                    )
                },
            );
            return Err(StoreError::InUse { path: path.to_path_buf(), holder }.into());
        }
        let service = Some(socket.to_path_buf()).filter(|socket| client::may_answer(socket));
        run(cli, config, path, service, None).await
    })
}

/// Runs the command on the `remote` service when there is one; else on the service for the store
/// when one answers on `service` (the socket, when its file is there), otherwise on the store
/// opened here.
async fn run(
    cli: &Cli,
    config: &Config,
    path: &std::path::Path,
    service: Option<PathBuf>,
    remote: Option<&client::Remote>,
) -> Result<ExitCode> {
    let command = match &cli.command {
        Some(Command::Init { sample, scale }) => {
            config.store.apply();
            return init(path, *sample, *scale).await;
        }
        Some(Command::Demo { speed, keep, bell, tour, again }) => {
            let play = DemoPlay { speed: *speed, keep: *keep, bell: *bell, tour: *tour, again: *again };
            return demo(cli, play).await;
        }
        None => return dashboard(cli, config, path, service.as_deref(), remote).await,
        Some(Command::Serve { print_host_key: true, .. }) => return print_host_key(path),
        Some(Command::Serve {
            socket,
            group,
            ssh,
            operator_keys,
            listen,
            tls_cert,
            tls_key,
            client_ca,
            insecure,
            ..
        }) => {
            let ssh = crate::service::SshOptions { addr: ssh.clone(), operator_keys: operator_keys.clone() };
            let asked = crate::service::https::Settings {
                listen: listen.clone(),
                tls_cert: tls_cert.clone(),
                tls_key: tls_key.clone(),
                client_ca: client_ca.clone(),
                insecure: *insecure,
            };
            return serve(config, path, socket.as_deref(), group.as_deref(), ssh, asked).await;
        }
        Some(Command::Store(cmd)) => return store(config, path, cmd).await,
        Some(command) => command,
    };
    let open = if command.only_reads() { Open::Queries } else { Open::Existing };
    let backend = open_backend(cli, config, path, service.as_deref(), remote, open).await?;
    let outcome = dispatch(&backend, cli, config, command).await;
    backend.close().await?;
    let (out, code) = outcome?;
    print(&out);
    Ok(code)
}

fn print(out: &str) {
    // A closed pipe (`| head`) is not an error worth reporting.
    let _ = std::io::stdout().write_all(out.as_bytes());
}

async fn init(path: &std::path::Path, sample: bool, scale: Option<usize>) -> Result<ExitCode> {
    let database = location::database(path).is_some();
    if sample || scale.is_some() {
        let summary = crate::sample::create(path, scale.unwrap_or(0)).await?;
        // A bulk load leaves many pages half full; packed, the file is what its records need.
        // PostgreSQL reclaims its own space.
        if !database {
            maintenance::compact(path).await?;
        }
        print(&format!("loaded the sample into {}: {summary}\n", path.display()));
    } else if database {
        // A database is made by its administrator; jitdesk makes (or migrates) its schema in it.
        Engine::open(path, OpenMode::Create, Arc::new(SystemClock)).await?.close().await?;
        print(&format!("jitdesk's schema is ready in {}\n", path.display()));
    } else {
        let existed = path.exists();
        Engine::open(path, OpenMode::Create, Arc::new(SystemClock)).await?.close().await?;
        let what = if existed { "store already exists at" } else { "created an empty store at" };
        print(&format!("{what} {}\n", path.display()));
    }
    Ok(ExitCode::SUCCESS)
}

/// `jitdesk store info|compact|copy`, on the store itself, with the settings the config gives.
async fn store(config: &Config, path: &std::path::Path, cmd: &StoreCmd) -> Result<ExitCode> {
    config.store.apply();
    match cmd {
        StoreCmd::Info { json: true } => print(&json_out(&maintenance::store_info(path).await?)?),
        StoreCmd::Info { json: false } => {
            print(&show::store_info(path, &maintenance::store_info(path).await?))
        }
        StoreCmd::Compact => {
            let done = maintenance::compact(path).await.map_err(|e| match e {
                crate::engine::Error::Storage(StoreError::InUse { path, holder }) => Error::Local(format!(
                    "cannot compact {} while {holder} holds it: stop it first, compacting needs the store to itself",
                    path.display()
                )),
                e => e.into(),
            })?;
            print(&format!(
                "compacted {}: {} bytes, was {} bytes\n",
                path.display(),
                done.after,
                done.before
            ));
        }
        StoreCmd::Copy { from, to } => {
            for (store, flag) in [(from, "--from"), (to, "--to")] {
                location::check(store).map_err(|e| Error::Local(format!("{e} ({flag})")))?;
            }
            let copied = crate::engine::copy::copy(from, to).await?;
            print(&show::copied(from, to, &copied));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The dashboard on a store, or on the service that owns it; a new store shows the first-run screen.
/// A store opened here is served on its socket while the dashboard runs (`service::share`), so
/// other commands on it are not locked out.
async fn dashboard(
    cli: &Cli,
    config: &Config,
    path: &std::path::Path,
    service: Option<&std::path::Path>,
    remote: Option<&client::Remote>,
) -> Result<ExitCode> {
    // Before anything is opened or created: a refused dashboard changes nothing.
    tui::capabilities::check().map_err(Error::Local)?;
    crate::logging::to_file();
    // Clients compare the store path in /v1/health with theirs; an absolute path matches from any
    // folder. The socket stays beside the path as given, where clients look for it.
    let store = match location::database(path) {
        Some(_) => path.to_path_buf(),
        None => std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
    };
    let backend = open_backend(cli, config, &store, service, remote, Open::Create).await?;
    let socket = client::socket_for(path, config);
    let shown = shared(&backend, &socket, async {
        let actor = backend.actor(cli.as_user.as_deref()).await?;
        let opts = tui::Options { actor, theme: cli.theme.clone(), utc: cli.utc, bell: None, tour: None };
        tui::run(backend.clone(), opts).await
    })
    .await;
    backend.close().await?;
    shown?;
    Ok(ExitCode::SUCCESS)
}

/// The `remote` service when there is one, without opening anything here; else `Backend::open`.
async fn open_backend(
    cli: &Cli,
    config: &Config,
    path: &std::path::Path,
    service: Option<&std::path::Path>,
    remote: Option<&client::Remote>,
    open: Open,
) -> Result<Backend> {
    let backend = match remote {
        Some(remote) => Backend::Remote(client::Client::remote(remote.clone(), cli.as_user.as_deref())),
        None => Backend::open(path, service, cli.as_user.as_deref(), open, config).await?,
    };
    // A process holding the store for writing sends what the outbox owes while no service runs;
    // one that only asks questions leaves it for the next writer.
    if let (Backend::Local(engine), Open::Existing | Open::Create) = (&backend, open) {
        engine.deliver_with(deliveries(config, cli.utc).0, config.deliveries.retry())?;
    }
    Ok(backend)
}

/// The couriers that carry the outbox's parcels, and how often to try, as config.toml says.
fn deliveries(config: &Config, utc: bool) -> crate::service::Deliveries {
    let couriers = crate::notify::Couriers::new(
        Arc::new(SystemClock),
        config.time_style(utc),
        config.deliveries.ssh.clone(),
    );
    crate::service::Deliveries(Arc::new(couriers), config.deliveries.retry())
}

/// Runs `shown` while a store opened here is served on `socket`; the socket goes before this returns.
async fn shared<T>(backend: &Backend, socket: &std::path::Path, shown: impl Future<Output = T>) -> T {
    let served = match backend {
        Backend::Local(engine) => crate::service::share(engine, socket).await,
        Backend::Remote(_) => None,
    };
    let shown = shown.await;
    if let Some(served) = served {
        served.stop().await;
    }
    shown
}

/// The shared service, until SIGTERM or SIGINT.
/// The HTTPS door is what the command line asks for, each setting it leaves out from config.toml.
async fn serve(
    config: &Config,
    path: &std::path::Path,
    socket: Option<&std::path::Path>,
    group: Option<&str>,
    ssh: crate::service::SshOptions,
    asked: crate::service::https::Settings,
) -> Result<ExitCode> {
    let socket = match socket {
        Some(socket) => socket.to_path_buf(),
        None => client::socket_for(path, config),
    };
    let remote = crate::service::https::Settings {
        listen: asked.listen.or(config.listen.clone()),
        tls_cert: asked.tls_cert.or(config.tls_cert.clone()),
        tls_key: asked.tls_key.or(config.tls_key.clone()),
        client_ca: asked.client_ca.or(config.client_ca.clone()),
        insecure: asked.insecure || config.insecure,
    };
    match crate::service::serve(path, &socket, group, ssh, &remote, deliveries(config, false)).await {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(crate::service::ServeError::Store(e)) => Err(e.into()),
        Err(e) => Ok(fail(&e.to_string())),
    }
}

/// `serve --print-host-key`: the SSH host key beside the store (made if missing), for pinning.
fn print_host_key(path: &std::path::Path) -> Result<ExitCode> {
    let store = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let key = crate::service::ssh::host_key::load_or_create(&crate::service::ssh::host_key::path_for(&store))
        .and_then(|key| crate::service::ssh::host_key::public_line(&key));
    match key {
        Ok((line, fingerprint)) => {
            print(&format!("{line}\n{fingerprint}\n"));
            Ok(ExitCode::SUCCESS)
        }
        Err(why) => Ok(fail(&why)),
    }
}

/// How `jitdesk demo` plays: its flags.
struct DemoPlay {
    speed: f64,
    keep: bool,
    bell: bool,
    tour: bool,
    again: bool,
}

/// The dashboard on a throwaway sample store with simulated activity, or the tour; with `--loop`
/// the tour again on a fresh store each time it ends, until the user quits.
async fn demo(cli: &Cli, play: DemoPlay) -> Result<ExitCode> {
    if !(play.speed.is_finite() && play.speed > 0.0) {
        return Err(Error::from(RuleError::invalid("--speed needs a number above 0: 2 plays twice as fast")));
    }
    let as_other = cli.as_user.as_deref().is_some_and(|upn| upn.trim().to_lowercase() != tui::tour::VIEWER);
    if play.tour && as_other {
        let why = format!("the tour is told as {}: leave out --as", tui::tour::VIEWER);
        return Err(Error::from(RuleError::invalid(why)));
    }
    tui::capabilities::check().map_err(Error::Local)?;
    crate::logging::to_file();
    loop {
        let ending = demo_once(cli, &play).await?;
        if !(play.again && ending == tui::Ending::TourOver) {
            return Ok(ExitCode::SUCCESS);
        }
    }
}

/// One demo on a sample store of its own, removed after it unless kept.
async fn demo_once(cli: &Cli, play: &DemoPlay) -> Result<tui::Ending> {
    let dir = tempfile::Builder::new()
        .prefix("jitdesk-demo-")
        .tempdir()
        .map_err(|e| Error::Local(format!("cannot make a demo folder: {e}")))?;
    let path = dir.path().join("demo.redb");
    crate::sample::create(&path, 0).await?;
    let engine = Engine::open(&path, OpenMode::Existing, Arc::new(SystemClock)).await?;
    let viewer = match &cli.as_user {
        Some(upn) => Actor::User(upn.trim().to_lowercase()),
        None => Actor::User(tui::tour::VIEWER.into()),
    };
    let (player, tour) = if play.tour {
        let (cues, heard) = tokio::sync::mpsc::unbounded_channel();
        let script = tui::tour::SCRIPT;
        (tokio::spawn(tui::tour::play(engine.clone(), script, play.speed, cues)), Some(heard))
    } else {
        (tokio::spawn(tui::demo::simulate(engine.clone(), viewer.clone(), play.speed)), None)
    };
    let opts =
        tui::Options { actor: viewer, theme: cli.theme.clone(), utc: cli.utc, bell: Some(play.bell), tour };
    // Served beside the store, in the demo's private folder, never on a configured shared socket:
    // `jitdesk --store <demo store>` from another terminal reaches it while the demo runs.
    let backend = Backend::Local(engine.clone());
    let socket = crate::api::paths::default_socket(&path);
    let shown = shared(&backend, &socket, tui::run(backend.clone(), opts)).await;
    player.abort();
    // The player holds an engine handle; wait for it to let go before closing.
    let _ = player.await;
    engine.close().await?;
    if play.keep {
        let kept = dir.keep();
        print(&format!("kept the demo store at {}\n", kept.join("demo.redb").display()));
    }
    shown
}

fn json_out<T: Serialize>(value: &T) -> Result<String> {
    crate::json_writer::to_string_pretty(value).map(|s| s + "\n").map_err(|e| Error::Local(e.to_string()))
}

type Output = (String, ExitCode);

fn ok(out: String) -> Result<Output> {
    Ok((out, ExitCode::SUCCESS))
}

async fn dispatch(backend: &Backend, cli: &Cli, config: &Config, command: &Command) -> Result<Output> {
    // The same zone as the dashboard's: `--utc`, else config.toml's `time`, else the system's.
    let zone = config.time_style(cli.utc);
    let times = Times { zone, now: backend.now() };
    // Directory changes are made as the operator (the OS login), whatever --as says.
    let operator = Actor::Operator(client::os_login().unwrap_or_else(|| "unknown".into()));
    match command {
        Command::Init { .. }
        | Command::Demo { .. }
        | Command::Serve { .. }
        | Command::Store(_)
        | Command::Completions { .. }
        | Command::Man { .. } => ok(String::new()),
        Command::Tenant(TenantCmd::Add { id, kind, name, license }) => {
            let input = NewTenant {
                id: id.clone(),
                kind: (*kind).into(),
                name: name.clone(),
                license: license.map(Into::into),
            };
            let tenant = backend.run(&operator, input).await?;
            ok(format!("added tenant {}\n", tenant.id))
        }
        Command::User(UserCmd::Add { upn, tenant, name, admin, login, object_id }) => {
            let input = NewUser {
                upn: upn.clone(),
                tenant: tenant.clone(),
                name: name.clone(),
                admin: *admin,
                login: login.clone(),
                object_id: object_id.clone(),
            };
            let user = backend.run(&operator, input).await?;
            ok(format!("added user {} to {}\n", user.upn, user.tenant))
        }
        Command::User(UserCmd::Search { text, json, page }) => {
            let page = backend.search_users(&viewer(backend, cli).await?, text, by_name(page)?).await?;
            more(&page, *json);
            ok(if *json { json_out(&page.items)? } else { show::users(&page.items) })
        }
        Command::Offer(OfferCmd::Publish { id, name, jit, roles }) => {
            let input =
                NewOffer { id: id.clone(), name: name.clone(), jit_available: *jit, roles: roles.clone() };
            let offer = backend.run(&backend.actor(cli.as_user.as_deref()).await?, input).await?;
            ok(format!(
                "published offer {} (JIT {})\n",
                offer.id,
                if offer.jit_available { "available" } else { "not available" }
            ))
        }
        Command::Offer(OfferCmd::List { json, page }) => {
            viewer(backend, cli).await?;
            let page = backend.offers(by_name(page)?).await?;
            more(&page, *json);
            ok(if *json { json_out(&page.items)? } else { show::offers(&page.items) })
        }
        Command::App(cmd) => app(backend, cli, cmd, &times).await,
        Command::Request(cmd) => request(backend, cli, cmd, &times).await,
        Command::Access(cmd) => access(backend, cli, cmd, &times).await,
        Command::Notifications { json, page } => {
            let upn = backend.need_user(cli.as_user.as_deref()).await?;
            let page = backend.notifications(&upn, paging(page)?).await?;
            more(&page, *json);
            ok(if *json { json_out(&page.items)? } else { show::notifications(&page.items, &times) })
        }
        Command::Backup { file } => {
            let size = backend.backup(&operator, file).await?;
            ok(format!("wrote a backup of the store to {} ({size} bytes)\n", file.display()))
        }
        Command::Audit { json, window, page } => {
            let filter = AuditFilter { app: None, at: Window::new(window.since, window.until)? };
            let page = backend.audit(&viewer(backend, cli).await?, filter, paging(page)?).await?;
            more(&page, *json);
            ok(if *json { json_out(&page.items)? } else { show::audit(&page.items, &times) })
        }
        Command::Export { what, window, format, app, output, force } => {
            let window = Window::new(window.since, window.until)?;
            let export = Export { kind: (*what).into(), format: (*format).into(), window, app: app.clone() };
            let viewer = viewer(backend, cli).await?;
            match output {
                Some(to) => backend.export_to(&viewer, &export, to, *force).await?,
                None => backend.export(&viewer, &export, &mut std::io::stdout()).await?,
            };
            ok(String::new())
        }
        Command::User(UserCmd::Key(cmd)) => identity::user_key(backend, cli, cmd, &times).await,
        Command::Tenant(TenantCmd::Ca(cmd)) => identity::tenant_ca(backend, cli, cmd, &times).await,
        Command::Tenant(TenantCmd::List { json, page }) => tenants::list(backend, cli, *json, page).await,
        Command::Tenant(TenantCmd::Show { id, json }) => tenants::show(backend, cli, id, *json).await,
        Command::Tenant(TenantCmd::Set { id, license, json }) => {
            tenants::set(backend, cli, id, *license, *json).await
        }
        Command::User(UserCmd::List { tenant, json, page }) => {
            tenants::users(backend, cli, tenant.as_deref(), *json, page).await
        }
        Command::Token(cmd) => identity::token(backend, cli, cmd, &times).await,
        Command::Group(cmd) => groups::run(backend, cli, cmd).await,
        Command::Tenant(TenantCmd::Channel(cmd)) => delivery::tenant_channel(backend, cli, cmd).await,
        Command::User(UserCmd::Set { upn, email, no_email, mute, unmute, digest, no_digest, json }) => {
            let flags = delivery::ContactFlags {
                email,
                no_email: *no_email,
                mute,
                unmute,
                digest: *digest,
                no_digest: *no_digest,
            };
            delivery::set_contact(backend, cli, upn, flags, *json).await
        }
        Command::User(UserCmd::Contact { upn, json }) => delivery::contact(backend, cli, upn, *json).await,
        Command::Deliveries { failed, json, page } => {
            delivery::deliveries(backend, cli, *failed, *json, page, &times).await
        }
    }
}

async fn viewer(backend: &Backend, cli: &Cli) -> Result<Viewer> {
    backend.viewer(cli.as_user.as_deref()).await
}

fn paging(page: &PageArgs) -> Result<Paging<u64>> {
    Ok(Paging::asked(page.limit, page.after)?)
}

fn by_name(page: &NamePageArgs) -> Result<Paging<String>> {
    Ok(Paging::asked(page.limit, page.after.clone())?)
}

/// Under a table cut short, where the rest begins.
fn more<T: Listed>(page: &Page<T>, json: bool) {
    if let Some(next) = page.next().filter(|_| !json) {
        let _ = writeln!(
            std::io::stderr(),
            "(there are more: see them with --after {})",
            sanitize(&next.to_string())
        );
    }
}

async fn app(backend: &Backend, cli: &Cli, cmd: &AppCmd, times: &Times) -> Result<Output> {
    match cmd {
        AppCmd::Deploy { name, offer, policy, approvers, resource_group, resource_id } => {
            let input = Deployment {
                name: name.clone(),
                offer: offer.clone(),
                jit: policy.jit.map(|s| s == Switch::On),
                mode: policy.approval.map(Into::into),
                max_duration: policy.max_duration,
                approvers: approvers.clone(),
                request_timeout: policy.request_timeout,
                approvals_required: policy.approvals_required,
                resource_group: resource_group.clone(),
                resource_id: resource_id.clone(),
                max_extensions: policy.max_extensions,
            };
            let app = backend.run(&backend.actor(cli.as_user.as_deref()).await?, input).await?;
            ok(format!("deployed {}: {}\n", app.name, rules::describe_policy(&app.policy)))
        }
        AppCmd::Set { name, policy, add_approvers, remove_approvers } => {
            let change = PolicyChange {
                jit: policy.jit.map(|s| s == Switch::On),
                mode: policy.approval.map(Into::into),
                max_duration: policy.max_duration,
                add_approvers: add_approvers.clone(),
                remove_approvers: remove_approvers.clone(),
                request_timeout: policy.request_timeout,
                max_extensions: policy.max_extensions,
                approvals_required: policy.approvals_required,
            };
            let app = backend
                .run(&backend.actor(cli.as_user.as_deref()).await?, SetPolicy { app: name.clone(), change })
                .await?;
            ok(format!("{}: {}\n", app.name, rules::describe_policy(&app.policy)))
        }
        AppCmd::List { json, output, page } => {
            let viewer = viewer(backend, cli).await?;
            match arm::Printed::of(*json, *output) {
                arm::Printed::Json => {
                    let page = backend.app_views(&viewer, by_name(page)?).await?;
                    ok(json_out(&page.items)?)
                }
                printed => {
                    let page = backend.apps(&viewer, by_name(page)?).await?;
                    more(&page, false);
                    if printed == arm::Printed::Arm {
                        arm::apps(backend, &viewer, &page.items).await
                    } else {
                        ok(show::apps(&page.items))
                    }
                }
            }
        }
        AppCmd::Show { name, json, output } => {
            let viewer = viewer(backend, cli).await?;
            let printed = arm::Printed::of(*json, *output);
            if printed == arm::Printed::Json {
                ok(json_out(&backend.app_view(&viewer, name).await?)?)
            } else if printed == arm::Printed::Arm {
                arm::app(backend, &viewer, &backend.app(&viewer, name).await?).await
            } else {
                let view = backend.app_view(&viewer, name).await?;
                let approvers = view.jit_access_policy.jit_approvers.clone();
                let app = Application::from(view);
                let approved = RequestFilter {
                    state: Some(RequestState::Approved),
                    app: Some(app.name.clone()),
                    ..RequestFilter::default()
                };
                let grants: Vec<_> = backend
                    .requests(&viewer, approved)
                    .await?
                    .items
                    .into_iter()
                    .filter(|g| g.is_active(times.now))
                    .collect();
                ok(show::app(&app, &approvers, &grants, times))
            }
        }
    }
}

async fn request(backend: &Backend, cli: &Cli, cmd: &RequestCmd, times: &Times) -> Result<Output> {
    match cmd {
        RequestCmd::Create { app, roles, duration, start, reason, ticket } => {
            let input = NewRequest {
                app: app.clone(),
                roles: roles.clone(),
                start: *start,
                duration: *duration,
                justification: reason.clone(),
                ticket: ticket.clone(),
            };
            let request = backend.run(&backend.actor(cli.as_user.as_deref()).await?, input).await?;
            ok(format!("{}\n", request.id))
        }
        RequestCmd::List { state, app, mine, window, page, json, output } => {
            let requester = if *mine { Some(backend.need_user(cli.as_user.as_deref()).await?) } else { None };
            let Paging { limit, after } = paging(page)?;
            let created = Window::new(window.since, window.until)?;
            let filter = RequestFilter { state: *state, app: app.clone(), requester, created, limit, after };
            let viewer = viewer(backend, cli).await?;
            let page = backend.requests(&viewer, filter).await?;
            let apps = backend.apps_of(&viewer, &page.items).await?;
            let printed = arm::Printed::of(*json, *output);
            more(&page, printed == arm::Printed::Json);
            match printed {
                arm::Printed::Json => ok(json_out(&json::Request::all_needing(&page.items, &apps))?),
                arm::Printed::Arm => arm::requests(backend, &viewer, &page.items, &apps).await,
                arm::Printed::Table => ok(show::requests(&page.items, &apps, times)),
            }
        }
        RequestCmd::Show { id, json, output } => {
            let viewer = viewer(backend, cli).await?;
            let detail = backend.request(&viewer, *id).await?;
            let apps = backend.apps_of(&viewer, std::slice::from_ref(&detail.request)).await?;
            let printed = arm::Printed::of(*json, *output);
            if printed == arm::Printed::Arm {
                arm::request(backend, &viewer, &detail.request, &apps).await
            } else if printed == arm::Printed::Json {
                let mut view = json::Request::new(&detail.request).needing(apps.first());
                view.history = Some(detail.history);
                ok(json_out(&view)?)
            } else {
                ok(show::request(&detail, &apps, times))
            }
        }
        RequestCmd::Approve(args) => decide::run(backend, cli, args, true, times).await,
        RequestCmd::Deny(args) => decide::run(backend, cli, args, false, times).await,
        RequestCmd::Extend { id, by, reason } => extend::extend(backend, cli, *id, *by, reason, times).await,
        RequestCmd::Extension(cmd) => extend::decide(backend, cli, cmd, times).await,
        RequestCmd::Cancel { id } => {
            let r = backend.run(&backend.actor(cli.as_user.as_deref()).await?, Cancel { id: *id }).await?;
            ok(format!("request {} {}\n", r.id, r.state))
        }
    }
}

async fn access(backend: &Backend, cli: &Cli, cmd: &AccessCmd, times: &Times) -> Result<Output> {
    match cmd {
        AccessCmd::List { json, page } => {
            let page = backend.grants(&viewer(backend, cli).await?, paging(page)?).await?;
            more(&page, *json);
            ok(if *json {
                json_out(&page.items.iter().map(json::Request::new).collect::<Vec<_>>())?
            } else {
                show::grants(&page.items, times)
            })
        }
        AccessCmd::Check { app, user } => {
            let status = backend.access_check(&viewer(backend, cli).await?, app, user).await?;
            let code = match status {
                AccessStatus::None { .. } => ExitCode::from(EXIT_NO_ACCESS),
                _ => ExitCode::SUCCESS,
            };
            Ok((show::access(app, &user.to_lowercase(), &status, times), code))
        }
        AccessCmd::Revoke { id, reason } => {
            let r = backend
                .run(
                    &backend.actor(cli.as_user.as_deref()).await?,
                    Revoke { id: *id, reason: reason.clone() },
                )
                .await?;
            ok(format!("request {} {}: access ended\n", r.id, r.state))
        }
    }
}
