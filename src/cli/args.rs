//! The command line's grammar. Names are part of the interface: scripts and tests depend on them.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::builder::PossibleValue;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::domain::list::{DEFAULT_LIMIT, MAX_LIMIT};
use crate::domain::when::parse_time;

use crate::domain::delivery::{NoticeKind, WebhookFormat};
use crate::domain::{ApprovalMode, License, Period, RequestState, TenantKind};

/// Everything `jitdesk` takes on its command line: the global options and at most one command.
#[derive(Parser, Debug)]
#[command(
    name = "jitdesk",
    version,
    about = "Just-in-time access to managed applications",
    after_help = "Without a command: the dashboard, in a terminal that can move the cursor (borders and \
symbols in ASCII on the Linux console, VT100s and locales without UTF-8). Every command works without a \
terminal.",
    max_term_width = 100
)]
pub struct Cli {
    /// The store: a redb file, or a PostgreSQL URL without a password (postgres://USER@HOST/DB)
    /// [default: `store` in config.toml, else $XDG_DATA_HOME/jitdesk/jitdesk.redb]
    #[arg(long, global = true, env = "JITDESK_STORE", value_name = "PATH|URL")]
    pub store: Option<PathBuf>,
    /// Act as this directory user [default: the user whose login name is your OS login]
    #[arg(long = "as", global = true, env = "JITDESK_USER", value_name = "UPN")]
    pub as_user: Option<String>,
    /// The CA that signed the remote service's certificate (PEM), with JITDESK_URL [default: the web's usual roots]
    #[arg(long, global = true, env = "JITDESK_CA", value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Show times in UTC instead of local time
    #[arg(long, global = true, env = "JITDESK_UTC")]
    pub utc: bool,
    /// Dashboard theme: default, light, high-contrast, mono, or one of yours
    #[arg(long, global = true, env = "JITDESK_THEME")]
    pub theme: Option<String>,
    /// Without a command: the dashboard
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create the store; --sample fills it with a small believable directory
    Init {
        /// Fill it with a small believable directory: tenants, users, offers, applications, requests
        #[arg(long)]
        sample: bool,
        /// Also add N synthetic requests (implies --sample; for benchmarks)
        #[arg(long, value_name = "N")]
        scale: Option<usize>,
    },
    /// The dashboard on a throwaway sample store, with simulated publishers (no setup needed)
    Demo {
        /// Scale the simulated activity, or the tour's pace (2 = twice as busy)
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
        /// Keep the demo store instead of removing it on exit
        #[arg(long)]
        keep: bool,
        /// Play a scripted story with captions instead (about 90 s; it ends by itself, q quits)
        #[arg(long)]
        tour: bool,
        /// With --tour: play it again and again, each time on a fresh store, until q (for kiosks)
        #[arg(long = "loop", requires = "tour", conflicts_with = "keep")]
        again: bool,
        /// Ring the terminal bell when a request arrives for you to decide (quiet otherwise)
        #[arg(long)]
        bell: bool,
    },
    /// Manage tenants
    #[command(subcommand)]
    Tenant(TenantCmd),
    /// Manage and find directory users
    #[command(subcommand)]
    User(UserCmd),
    /// Directory groups: a group may approve an application, and then each of its members does
    #[command(subcommand)]
    Group(super::groups::GroupCmd),
    /// Publish and list marketplace offers
    #[command(subcommand)]
    Offer(OfferCmd),
    /// Deploy applications and change their JIT settings
    #[command(subcommand)]
    App(AppCmd),
    /// Ask for, decide and follow JIT access requests
    #[command(subcommand)]
    Request(RequestCmd),
    /// Current grants: list, check and revoke
    #[command(subcommand)]
    Access(AccessCmd),
    /// Your notifications, newest first
    Notifications {
        /// Print JSON, with ARM's field names
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        page: PageArgs,
    },
    /// The deliveries of notices you may see (mail, webhooks, hooks), newest first
    Deliveries {
        /// Only those given up on
        #[arg(long)]
        failed: bool,
        /// Print JSON
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        page: PageArgs,
    },
    /// The audit log you may see, newest first
    Audit {
        /// Print JSON, with ARM's field names
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        window: WindowArgs,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Export the requests or the audit log you may see, for a review: streamed, newest first, as
    /// JSON lines or CSV
    #[command(
        after_help = "requests: those created in the window, as they are now. audit: the records made in \
the window. json: one JSON document per line (NDJSON), in the shapes --json prints. csv: a header row, times in \
UTC (RFC 3339), and a cell that starts with = + - @ or a tab gets a leading ' so no spreadsheet runs it."
    )]
    Export {
        /// What to export
        #[arg(value_enum)]
        what: ExportWhat,
        #[command(flatten)]
        window: WindowArgs,
        /// How to write it
        #[arg(long, value_enum, default_value_t = ExportFormat::Json)]
        format: ExportFormat,
        /// Only this application's
        #[arg(long, value_name = "NAME")]
        app: Option<String>,
        /// Write to this new file (0600) instead of standard output; over SSH, redirect instead
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// With --output: replace the file if it exists
        #[arg(long, requires = "output")]
        force: bool,
    },
    /// Copy the whole store, consistently, into a new file (0600) that `--store` can open; through
    /// the service when one runs, where only its operator may
    Backup {
        /// The new file; an existing one is never overwritten
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// The store itself: what it holds, giving back unused space, copying it into another
    #[command(subcommand)]
    Store(StoreCmd),
    /// Own the store and serve it to everyone on this host over a Unix socket (docs/api.md)
    Serve {
        /// The socket to listen on [default: beside the store, as <store file>.sock]
        #[arg(long, env = "JITDESK_SOCKET", value_name = "PATH")]
        socket: Option<PathBuf>,
        /// Give the socket to this group, whose members may then connect (mode 0660)
        #[arg(long, value_name = "NAME")]
        group: Option<String>,
        /// Also answer SSH on this address, e.g. 0.0.0.0:2222: the dashboard and every command for
        /// people without an account here [default: `ssh` in config.toml, else no SSH]
        #[arg(long, value_name = "ADDR:PORT")]
        ssh: Option<String>,
        /// The operator's SSH public keys (authorized_keys format; a file of the service's user
        /// that nobody else may write): each of them is the operator over SSH
        #[arg(long, value_name = "FILE")]
        operator_keys: Option<PathBuf>,
        /// Print the SSH host key's public line and its SHA256 fingerprint, for clients to pin,
        /// and exit (the key is made beside the store if it is not there yet)
        #[arg(long, conflicts_with_all = ["socket", "group", "ssh", "operator_keys"])]
        print_host_key: bool,
        /// Also serve the API over HTTPS on this address, e.g. 0.0.0.0:8443 (needs --tls-cert and --tls-key)
        #[arg(long, value_name = "ADDR:PORT")]
        listen: Option<String>,
        /// The HTTPS door's certificate chain (PEM), yours or root's and not writable by others
        #[arg(long, value_name = "FILE")]
        tls_cert: Option<PathBuf>,
        /// The HTTPS door's private key (PEM), readable by you alone
        #[arg(long, value_name = "FILE")]
        tls_key: Option<PathBuf>,
        /// Accept client certificates this CA signed (PEM): a certificate's e-mail is its directory user
        #[arg(long, value_name = "FILE")]
        client_ca: Option<PathBuf>,
        /// Serve plain HTTP on --listen instead: only on a loopback address
        #[arg(long)]
        insecure: bool,
    },
    /// Print the completion script for a shell: `source <(jitdesk completions bash)`
    Completions {
        /// bash, zsh, fish, elvish or powershell
        #[arg(value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Print a man page (roff): jitdesk(1), or a command's, e.g. `jitdesk man request list | man -l -`
    Man {
        /// The command whose page to print, e.g. `request list` for jitdesk-request-list(1)
        #[arg(value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// API tokens for the HTTPS door: make, list and revoke
    #[command(subcommand)]
    Token(TokenCmd),
}

impl Command {
    /// Commands that change nothing, and so can read the store without opening it for writing.
    pub fn only_reads(&self) -> bool {
        matches!(
            self,
            Command::User(UserCmd::Search { .. } | UserCmd::List { .. })
                | Command::Tenant(TenantCmd::List { .. } | TenantCmd::Show { .. })
                | Command::Offer(OfferCmd::List { .. })
                | Command::App(AppCmd::List { .. } | AppCmd::Show { .. })
                | Command::Request(RequestCmd::List { .. } | RequestCmd::Show { .. })
                | Command::Access(AccessCmd::List { .. } | AccessCmd::Check { .. })
                | Command::Notifications { .. }
                | Command::Audit { .. }
                | Command::Export { .. }
                | Command::Backup { .. }
                | Command::User(UserCmd::Key(UserKeyCmd::List { .. }))
                | Command::Tenant(TenantCmd::Ca(TenantCaCmd::List { .. }))
                | Command::Tenant(TenantCmd::Channel(TenantChannelCmd::List { .. }))
                | Command::User(UserCmd::Contact { .. })
                | Command::Deliveries { .. }
                | Command::Token(TokenCmd::List { .. })
        ) || matches!(self, Command::Group(cmd) if cmd.only_reads())
    }
}

#[derive(Subcommand, Debug)]
pub enum StoreCmd {
    /// Schema, file size, cache, and each table's entries and bytes
    Info {
        /// Print JSON: schema, bytes, cache and each table's entries and bytes
        #[arg(long)]
        json: bool,
    },
    /// Shrink the file to what its records need (stop any service or dashboard on it first)
    Compact,
    /// Copy every record of one store into a new or empty one, either a redb file or a PostgreSQL
    /// URL, then check the counts of each kind of record in both
    Copy {
        /// The store to copy: a redb file or a PostgreSQL URL (stop services on a redb file first)
        #[arg(long, value_name = "PATH|URL")]
        from: PathBuf,
        /// The store to copy into: a new redb file, or an empty PostgreSQL database
        #[arg(long, value_name = "PATH|URL")]
        to: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum TenantCmd {
    /// Add a publisher or customer tenant
    Add {
        /// The tenant's id
        id: String,
        /// A publisher tenant offers applications; a customer tenant deploys them
        #[arg(long)]
        kind: KindArg,
        /// Its display name
        #[arg(long)]
        name: Option<String>,
        /// Customer tenants only [default: p2]
        #[arg(long, visible_alias = "licence")]
        license: Option<LicenseArg>,
    },
    /// The tenants you may see, in id order (the operator: all; anyone else: their own, the
    /// publishers, and the customers their tenant has applications with)
    List {
        /// Print JSON
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        page: NamePageArgs,
    },
    /// One tenant: kind, name, licence, how many users and applications, its JIT applications
    Show {
        /// The tenant's id
        id: String,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Change a customer tenant's licence (its admins or the operator); below P2 its JIT
    /// applications refuse new requests, extensions and approvals until it is upgraded again
    Set {
        /// The tenant's id
        id: String,
        /// The new licence
        #[arg(long, visible_alias = "licence")]
        license: LicenseArg,
        /// Print JSON: the tenant, the licence it had, and the warnings
        #[arg(long)]
        json: bool,
    },
    /// The SSH certificate authorities a tenant trusts for its users (its admins or the operator)
    #[command(subcommand)]
    Ca(TenantCaCmd),
    /// Where a tenant's notices are sent: webhooks, mail relays, hooks (its admins or the operator)
    #[command(subcommand)]
    Channel(TenantChannelCmd),
}

#[derive(Subcommand, Debug)]
pub enum TenantChannelCmd {
    /// Send the tenant's notices somewhere too: one of --webhook, --smtp, --sendmail or --hook
    #[command(group(clap::ArgGroup::new("target").required(true).args(["webhook", "smtp", "sendmail", "hook"])))]
    Add {
        /// The tenant's id
        tenant: String,
        #[command(flatten)]
        channel: ChannelArgs,
        /// Print JSON (without the secret)
        #[arg(long)]
        json: bool,
    },
    /// A tenant's channels, never with their secrets
    List {
        /// The tenant's id
        tenant: String,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Stop sending the tenant's notices over a channel
    Remove {
        /// The tenant's id
        tenant: String,
        /// The channel's id, as `tenant channel list` shows it
        id: u64,
    },
}

/// Where a channel sends, and what it needs to: exactly one of the four kinds.
#[derive(Args, Debug)]
#[group(skip)]
pub struct ChannelArgs {
    /// POST each notice as JSON to this URL, signed with --secret-file's key (http:// the operator only)
    #[arg(long, value_name = "URL", requires = "secret_file")]
    pub webhook: Option<String>,
    /// With --webhook: the body's shape [default: jitdesk]
    #[arg(long, requires = "webhook")]
    pub format: Option<WebhookFormat>,
    /// With --webhook: a private file holding the HMAC-SHA256 key the receiver checks
    #[arg(long, value_name = "FILE", requires = "webhook")]
    pub secret_file: Option<PathBuf>,
    /// Mail users at their contact addresses through this SMTP server: smtp://USER@HOST:587
    /// (STARTTLS) or smtps://USER@HOST:465 (TLS)
    #[arg(long, value_name = "URL", requires = "from")]
    pub smtp: Option<String>,
    /// With --smtp: a private file holding the server's password
    #[arg(long, value_name = "FILE", requires = "smtp")]
    pub password_file: Option<PathBuf>,
    /// Mail users through this local sendmail program (the operator only)
    #[arg(long, value_name = "PROGRAM", requires = "from")]
    pub sendmail: Option<String>,
    /// With --smtp or --sendmail: the sender's address
    #[arg(long, value_name = "ADDR", conflicts_with_all = ["webhook", "hook"])]
    pub from: Option<String>,
    /// Run this program with each notice's JSON on its standard input (the operator only)
    #[arg(long, value_name = "PROGRAM")]
    pub hook: Option<String>,
    /// With --hook: an argument for the program (repeat for more)
    #[arg(long = "arg", value_name = "A", requires = "hook", allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// `--format` takes the domain's names for the formats.
impl ValueEnum for WebhookFormat {
    fn value_variants<'a>() -> &'a [Self] {
        &WebhookFormat::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.name()))
    }
}

/// A public key given on the command line or in a file (as in a .pub file).
#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
pub struct KeyArgs {
    /// The public key, e.g. "ssh-ed25519 AAAA... comment"
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    /// A file holding the public key, e.g. ~/.ssh/id_ed25519.pub
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum TenantCaCmd {
    /// Trust an SSH CA: a user certificate it signs names the tenant's user whose UPN is its principal
    Add {
        /// The tenant's id
        tenant: String,
        #[command(flatten)]
        key: KeyArgs,
    },
    /// The SSH CAs a tenant trusts, by fingerprint
    List {
        /// The tenant's id
        tenant: String,
        /// Print JSON
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        page: NamePageArgs,
    },
    /// Stop trusting an SSH CA
    Remove {
        /// The tenant's id
        tenant: String,
        /// The CA key's fingerprint, as `tenant ca list` shows it (SHA256:...)
        fingerprint: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserKeyCmd {
    /// Add an SSH key that identifies the user at the SSH door (yours, or anyone's as the operator)
    Add {
        /// The user's UPN
        upn: String,
        #[command(flatten)]
        key: KeyArgs,
    },
    /// A user's SSH keys, by fingerprint
    List {
        /// The user's UPN [default: you]
        upn: Option<String>,
        /// Print JSON
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        page: NamePageArgs,
    },
    /// Remove one of a user's SSH keys
    Remove {
        /// The user's UPN
        upn: String,
        /// The key's fingerprint, as `user key list` shows it (SHA256:...)
        fingerprint: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokenCmd {
    /// Make an API token and print it, this once; only its hash is kept
    Create {
        /// The directory user it acts as [default: you]; only the operator names another user
        #[arg(long, value_name = "UPN")]
        user: Option<String>,
        /// Act as the operator (only the operator makes such a token)
        #[arg(long, conflicts_with = "user")]
        operator: bool,
        /// What it is for [default: token]
        #[arg(long)]
        name: Option<String>,
        /// How long it lives, e.g. 30d [default: until revoked]
        #[arg(long, value_name = "DUR", value_parser = parse_span)]
        expires: Option<Period>,
        /// It may only read: every change made with it is refused
        #[arg(long)]
        read_only: bool,
        /// Print JSON: the token and its secret
        #[arg(long)]
        json: bool,
    },
    /// The tokens you may see (every one for the operator), never their secrets
    List {
        /// Print JSON
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        page: NamePageArgs,
    },
    /// Revoke a token: it identifies nobody from now on
    Revoke {
        /// The token's id, as `token list` shows it
        id: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserCmd {
    /// Add a user to a tenant
    Add {
        /// The user's UPN, e.g. dave@fabrikam.com
        upn: String,
        /// The tenant the user belongs to
        #[arg(long)]
        tenant: String,
        /// Their display name
        #[arg(long)]
        name: Option<String>,
        /// An admin of their tenant (a customer admin deploys applications and sets their JIT policy)
        #[arg(long)]
        admin: bool,
        /// The OS login that identifies this user when no --as is given
        #[arg(long)]
        login: Option<String>,
        /// The user's object id in the directory, a GUID [default: one made from the UPN]
        #[arg(long, value_name = "GUID")]
        object_id: Option<String>,
    },
    /// Find users by any part of their UPN or name, in UPN order (the operator: anyone; anyone
    /// else: their own tenant's users)
    Search {
        /// Any part of a UPN or display name
        text: String,
        /// Print JSON, with ARM's field names
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        page: NamePageArgs,
    },
    /// The users you may list, in UPN order (the operator: anyone's; anyone else: their own tenant's)
    List {
        /// Only this tenant's users
        #[arg(long)]
        tenant: Option<String>,
        /// Print JSON, with ARM's field names
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        page: NamePageArgs,
    },
    /// The SSH keys that identify a user at the SSH door
    #[command(subcommand)]
    Key(UserKeyCmd),
    /// Change how a user is sent notices: their e-mail, the kinds they mute, a digest (yourself,
    /// your tenant's users as its admin, anyone as the operator)
    #[command(group(clap::ArgGroup::new("change").required(true).multiple(true)
        .args(["email", "no_email", "mute", "unmute", "digest", "no_digest"])))]
    Set {
        /// The user's UPN
        upn: String,
        /// Send their mail here
        #[arg(long, value_name = "ADDR")]
        email: Option<String>,
        /// Send them no mail
        #[arg(long, conflicts_with = "email")]
        no_email: bool,
        /// Do not send them this kind of notice (repeat for more): one of to-decide, decided,
        /// approval, canceled, started, ending-soon, ended, timed-out, revoked, policy-changed, delivery-failed
        #[arg(long, value_name = "KIND", value_parser = parse_kind)]
        mute: Vec<NoticeKind>,
        /// Send them this kind again (repeat for more)
        #[arg(long, value_name = "KIND", value_parser = parse_kind)]
        unmute: Vec<NoticeKind>,
        /// Gather their notices into one message every MINUTES
        #[arg(long, value_name = "MINUTES")]
        digest: Option<u32>,
        /// One message per notice again
        #[arg(long, conflicts_with = "digest")]
        no_digest: bool,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// How a user is sent notices
    Contact {
        /// The user's UPN [default: you]
        upn: Option<String>,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum OfferCmd {
    /// Publish an offer (as a publisher-tenant user)
    Publish {
        /// The offer's id
        id: String,
        /// Its display name
        #[arg(long)]
        name: String,
        /// Offer JIT access to customers
        #[arg(long)]
        jit: bool,
        /// Roles a publisher may request [default: Owner]
        #[arg(long, value_delimiter = ',')]
        roles: Vec<String>,
    },
    /// List the marketplace, by offer id
    List {
        /// Print JSON, with ARM's field names
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        page: NamePageArgs,
    },
}

/// The shapes `--output` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shape {
    /// jitdesk's JSON, as --json prints it
    Json,
    /// Azure's Microsoft.Solutions documents (API version 2021-07-01): lists as {value, nextLink}
    Arm,
}

/// Which part of a list to show; lists newest first walk on with the id of the last one shown.
#[derive(Args, Debug, Default)]
pub struct PageArgs {
    #[arg(long, value_name = "N", value_parser = parse_limit, help = limit_help())]
    pub limit: Option<usize>,
    /// Show those after this id (the last one of the previous part)
    #[arg(long, value_name = "ID")]
    pub after: Option<u64>,
}

/// Which part of a list in name order to show: it walks on with the name of the last one shown.
#[derive(Args, Debug, Default)]
pub struct NamePageArgs {
    #[arg(long, value_name = "N", value_parser = parse_limit, help = limit_help())]
    pub limit: Option<usize>,
    /// Show those after this name (the last one of the previous part)
    #[arg(long, value_name = "NAME")]
    pub after: Option<String>,
}

#[derive(Args, Debug, Default)]
pub struct PolicyArgs {
    /// JIT access, chosen once, at deployment [default: on when the offer has it]
    #[arg(long, value_name = "on|off")]
    pub jit: Option<Switch>,
    /// auto approves requests within the maximum at once, manual has them wait for an approver
    /// [default at deployment: auto]
    #[arg(long)]
    pub approval: Option<ModeArg>,
    /// The longest access one request may ask for, e.g. 8h or PT8H
    #[arg(long, value_name = "DUR", value_parser = parse_span)]
    pub max_duration: Option<Period>,
    /// How long a request waits for a decision before it times out
    #[arg(long, value_name = "DUR", value_parser = parse_span)]
    pub request_timeout: Option<Period>,
    /// How many extensions a grant may have beyond the maximum duration [default at deployment: 0,
    /// extensions only within the maximum]
    #[arg(long, value_name = "N")]
    pub max_extensions: Option<u32>,
    /// How many different approvers must approve a request, with manual approval [default at
    /// deployment: 1]
    #[arg(long, value_name = "N")]
    pub approvals_required: Option<u32>,
}

#[derive(Subcommand, Debug)]
pub enum AppCmd {
    /// Deploy an application from an offer (as a customer admin)
    Deploy {
        /// The application's name
        name: String,
        /// The offer it is deployed from
        #[arg(long)]
        offer: String,
        #[command(flatten)]
        policy: PolicyArgs,
        /// A user or group of your tenant who decides requests: a UPN, a group id, or either's
        /// object id; each member of a group decides (repeat for more)
        #[arg(long = "approver", value_name = "UPN|GROUP")]
        approvers: Vec<String>,
        /// Its managed resource group [default: mrg-<name>]
        #[arg(long, value_name = "NAME")]
        resource_group: Option<String>,
        /// Its ARM resource id, ending in /applications/<name> [default: one made from the tenant and the name]
        #[arg(long, value_name = "ID")]
        resource_id: Option<String>,
    },
    /// Change an application's JIT settings (as a customer admin)
    Set {
        /// The application's name
        name: String,
        #[command(flatten)]
        policy: PolicyArgs,
        /// Make this user or group an approver too: a UPN, a group id, or either's object id (repeat for more)
        #[arg(long = "add-approver", value_name = "UPN|GROUP")]
        add_approvers: Vec<String>,
        /// Make this user or group an approver no more (repeat for more)
        #[arg(long = "remove-approver", value_name = "UPN|GROUP")]
        remove_approvers: Vec<String>,
    },
    /// The applications you may see, by name
    List {
        /// Print JSON, with ARM's field names
        #[arg(long)]
        json: bool,
        /// Print in this shape: json (as --json), or arm (Azure's Microsoft.Solutions documents,
        /// API version 2021-07-01)
        #[arg(long, value_name = "SHAPE", conflicts_with = "json")]
        output: Option<Shape>,
        #[command(flatten)]
        page: NamePageArgs,
    },
    /// One application with its JIT policy and approvers
    Show {
        /// The application's name or ARM resource id
        name: String,
        /// Print JSON, with ARM's field names
        #[arg(long)]
        json: bool,
        /// Print in this shape: json (as --json), or arm (Azure's Microsoft.Solutions documents,
        /// API version 2021-07-01)
        #[arg(long, value_name = "SHAPE", conflicts_with = "json")]
        output: Option<Shape>,
    },
}

#[derive(Subcommand, Debug)]
pub enum RequestCmd {
    /// Ask for access; prints the new request's id alone
    Create {
        /// The application to get access to, by name or ARM resource id
        #[arg(long)]
        app: String,
        /// A role its offer has, by name or role definition id (repeat for more)
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// How long the access lasts once it starts, e.g. 2h or PT2H
        #[arg(long, value_name = "DUR", value_parser = parse_span)]
        duration: Period,
        /// RFC 3339, `now` or `+30m`
        #[arg(long, value_name = "TIME", value_parser = parse_start)]
        start: Option<DateTime<Utc>>,
        /// The justification approvers will read
        #[arg(long)]
        reason: String,
        /// A ticket or incident id, for the record
        #[arg(long)]
        ticket: Option<String>,
    },
    /// List requests, newest first
    List {
        /// Only requests in this state: Pending, Approved, Denied, Canceled, Expired, Timeout or
        /// Revoked (any case)
        #[arg(long, value_parser = parse_state)]
        state: Option<RequestState>,
        /// Only requests on this application, by name or ARM resource id
        #[arg(long)]
        app: Option<String>,
        /// Only your own requests
        #[arg(long)]
        mine: bool,
        /// Only requests created in this window
        #[command(flatten)]
        window: WindowArgs,
        #[command(flatten)]
        page: PageArgs,
        /// Print JSON, with ARM's field names
        #[arg(long)]
        json: bool,
        /// Print in this shape: json (as --json), or arm (Azure's Microsoft.Solutions documents,
        /// API version 2021-07-01)
        #[arg(long, value_name = "SHAPE", conflicts_with = "json")]
        output: Option<Shape>,
    },
    /// One request with its history
    Show {
        /// The request's id
        id: u64,
        /// Print JSON, with ARM's field names
        #[arg(long)]
        json: bool,
        /// Print in this shape: json (as --json), or arm (Azure's Microsoft.Solutions documents,
        /// API version 2021-07-01)
        #[arg(long, value_name = "SHAPE", conflicts_with = "json")]
        output: Option<Shape>,
    },
    /// Approve requests: each is its own decision, and a refused one does not stop the others
    #[command(after_help = DECIDE_HELP)]
    Approve(DecideArgs),
    /// Deny requests: each is its own decision, and a refused one does not stop the others
    #[command(after_help = DECIDE_HELP)]
    Deny(DecideArgs),
    /// Withdraw your pending request
    Cancel {
        /// The request's id
        id: u64,
    },
    /// Ask for more time on your approved access that has not ended; the application's policy
    /// decides it as it decides requests
    Extend {
        /// The id of the request that granted the access
        id: u64,
        /// How much longer, e.g. 1h or PT1H
        #[arg(long, value_name = "DUR", value_parser = parse_span)]
        by: Period,
        /// Why: the approvers and the audit log read it
        #[arg(long)]
        reason: String,
    },
    /// Approve or deny the extension a grant's requester asked for
    #[command(subcommand)]
    Extension(ExtensionCmd),
}

#[derive(Subcommand, Debug)]
pub enum ExtensionCmd {
    /// Approve the extension waiting on a request: its access runs longer once enough approvers did
    Approve {
        /// The request's id
        id: u64,
        /// Why: the requester and the audit log read it
        #[arg(long)]
        reason: String,
    },
    /// Deny the extension waiting on a request: its access ends as it would have
    Deny {
        /// The request's id
        id: u64,
        /// Why: the requester and the audit log read it
        #[arg(long)]
        reason: String,
    },
}

const DECIDE_HELP: &str = "Prints one outcome line per request; a refused one is an `error: request ID: \
why` line on stderr (`error: why` when one id is given). Exits 0 only when every decision went through, \
else 1.";

/// Which requests to decide, and the one reason given for all of them.
#[derive(Args, Debug)]
pub struct DecideArgs {
    /// The requests' ids, decided in the order given
    #[arg(value_name = "ID", required_unless_present = "all_pending", conflicts_with = "all_pending")]
    pub ids: Vec<u64>,
    /// Every pending request on --app that you can decide (not your own)
    #[arg(long, requires = "app")]
    pub all_pending: bool,
    /// The application whose pending requests --all-pending decides
    #[arg(long, value_name = "NAME", requires = "all_pending")]
    pub app: Option<String>,
    /// Why: the requester and the audit log read it
    #[arg(long)]
    pub reason: String,
}

#[derive(Subcommand, Debug)]
pub enum AccessCmd {
    /// Active and scheduled grants, newest first
    List {
        /// Print JSON, with ARM's field names
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Exit 0 when the user has access now, 3 when not
    Check {
        /// The application
        #[arg(long)]
        app: String,
        /// The user's UPN
        #[arg(long)]
        user: String,
    },
    /// End a grant early
    Revoke {
        /// The id of the request that granted the access
        id: u64,
        /// Why: the requester and the audit log read it
        #[arg(long)]
        reason: String,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum KindArg {
    Publisher,
    Customer,
}

impl From<KindArg> for TenantKind {
    fn from(kind: KindArg) -> Self {
        match kind {
            KindArg::Publisher => TenantKind::Publisher,
            KindArg::Customer => TenantKind::Customer,
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum LicenseArg {
    Free,
    P1,
    P2,
}

impl From<LicenseArg> for License {
    fn from(license: LicenseArg) -> Self {
        match license {
            LicenseArg::Free => License::Free,
            LicenseArg::P1 => License::P1,
            LicenseArg::P2 => License::P2,
        }
    }
}

/// A window of time a list or an export is narrowed to.
#[derive(Args, Debug, Clone, Default)]
pub struct WindowArgs {
    /// From this time, included: RFC 3339, now, +30m, or a date (its midnight, UTC) [default: the beginning]
    #[arg(long, value_name = "TIME", value_parser = parse_bound)]
    pub since: Option<DateTime<Utc>>,
    /// Up to this time, excluded; same forms as --since [default: now]
    #[arg(long, value_name = "TIME", value_parser = parse_bound)]
    pub until: Option<DateTime<Utc>>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportWhat {
    /// Requests created in the window
    Requests,
    /// Audit records made in the window
    Audit,
}

impl From<ExportWhat> for crate::export::Kind {
    fn from(what: ExportWhat) -> Self {
        match what {
            ExportWhat::Requests => crate::export::Kind::Requests,
            ExportWhat::Audit => crate::export::Kind::Audit,
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// One JSON document per line (NDJSON)
    Json,
    /// Comma-separated values with a header row
    Csv,
}

impl From<ExportFormat> for crate::export::Format {
    fn from(format: ExportFormat) -> Self {
        match format {
            ExportFormat::Json => crate::export::Format::Json,
            ExportFormat::Csv => crate::export::Format::Csv,
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Switch {
    On,
    Off,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum ModeArg {
    Auto,
    Manual,
}

impl From<ModeArg> for ApprovalMode {
    fn from(mode: ModeArg) -> Self {
        match mode {
            ModeArg::Auto => ApprovalMode::AutoApprove,
            ModeArg::Manual => ApprovalMode::ManualApprove,
        }
    }
}

fn parse_span(text: &str) -> Result<Period, String> {
    Period::parse(text).map_err(|e| e.message)
}

fn parse_bound(text: &str) -> Result<DateTime<Utc>, String> {
    crate::domain::window::parse_bound(text, Utc::now()).map_err(|e| e.message)
}

fn parse_start(text: &str) -> Result<DateTime<Utc>, String> {
    parse_time(text, Utc::now()).map_err(|e| e.message)
}

/// `--limit`'s help: the page sizes every door allows.
fn limit_help() -> String {
    format!("How many to show [default: {DEFAULT_LIMIT}, at most {MAX_LIMIT}]")
}

fn parse_limit(text: &str) -> Result<usize, String> {
    let n = text.parse().map_err(|_| format!("`{}` is not a number", crate::domain::text::shown(text)))?;
    crate::domain::list::check_limit(Some(n)).map_err(|e| e.message)
}

fn parse_kind(text: &str) -> Result<NoticeKind, String> {
    NoticeKind::parse(text).ok_or_else(|| {
        let names: Vec<&str> = NoticeKind::ALL.iter().map(|k| k.name()).collect();
        format!("unknown kind of notice; use one of {}", names.join(", "))
    })
}

fn parse_state(text: &str) -> Result<RequestState, String> {
    RequestState::parse(text).ok_or_else(|| {
        let names: Vec<&str> = RequestState::ALL.iter().map(|s| s.name()).collect();
        format!("unknown state; use one of {}", names.join(", "))
    })
}
