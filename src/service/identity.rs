//! Who is calling. On the Unix socket, the peer credentials give a uid; the uid gives an OS login;
//! the login gives the directory user whose login name it is. The service's own uid is its
//! operator, who manages the directory and may act as anyone by naming them in `X-Jitdesk-As`;
//! everyone else is their own directory user and nobody else. A remote door (SSH) authenticates
//! its caller before the connection reaches the router and hands over whom it found, with the same
//! rule: the operator may act as anyone, a user only as themselves. On the HTTPS door a caller
//! without a client certificate is named by each request's bearer token (`bearer`).

use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use tokio::net::UnixStream;

use super::State;
use super::error::{ApiError, ApiResult};
use super::fairness::Holder;
use crate::api::wire::AS_HEADER;
use crate::domain::User;
use crate::domain::rules::{self, Actor};
use crate::engine::Result;
use crate::engine::{Engine, Viewer};
use crate::os_user::login_of;

/// Who is at the other end of a connection, as its door knows before anything is read from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peer {
    /// On the Unix socket: the kernel's word.
    Local(Local),
    /// Authenticated by a remote door before the connection reached the router (an SSH session's
    /// key or certificate): the door's word. The directory user's UPN; `None` is the operator.
    Known(Option<String>),
    /// On a TCP door, without a client certificate: each request's bearer token names the caller
    /// (`bearer`), and a request without a known one is refused.
    Remote(std::net::IpAddr),
}

impl Peer {
    /// Whose share the connection's places and refusals count against.
    pub fn holder(&self) -> Holder {
        match self {
            Peer::Local(Local { uid: Some(uid), .. }) => Holder::Uid(*uid),
            Peer::Local(Local { uid: None, .. }) => Holder::Unknown,
            Peer::Known(upn) => Holder::User(upn.clone()),
            Peer::Remote(addr) => Holder::Addr(*addr),
        }
    }
}

impl Connected<&UnixStream> for Peer {
    fn connect_info(stream: &UnixStream) -> Peer {
        Peer::Local(Local::of(stream))
    }
}

/// What the Unix socket says about the other end of a connection, read once when it is accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Local {
    /// None when the kernel would not say (never on Linux for a Unix socket).
    pub uid: Option<u32>,
    /// The uid's login name, when it has one.
    pub login: Option<String>,
    /// Why the password database could not be read (out of descriptors, say): the login is then
    /// unknown rather than absent, and the caller is asked to try again instead of being refused.
    pub lookup_failed: Option<String>,
}

impl Local {
    pub fn of(stream: &UnixStream) -> Local {
        match stream.peer_cred() {
            Ok(cred) => Local::for_uid(cred.uid()),
            Err(_) => Local { uid: None, login: None, lookup_failed: None },
        }
    }

    /// The peer of a uid, its login looked up now.
    pub fn for_uid(uid: u32) -> Local {
        let (login, lookup_failed) = match login_of(uid) {
            Ok(login) => (login, None),
            Err(e) => (None, Some(e.to_string())),
        };
        Local { uid: Some(uid), login, lookup_failed }
    }
}

/// The service's own user: whoever runs `jitdesk serve`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    pub uid: u32,
    pub login: String,
}

impl Operator {
    pub fn current() -> Operator {
        let uid = nix::unistd::geteuid().as_raw();
        Operator { uid, login: login_of(uid).ok().flatten().unwrap_or_else(|| format!("uid{uid}")) }
    }
}

/// Who a request is from, once decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The caller's OS login.
    pub login: Option<String>,
    /// The caller is the service's operator.
    pub operator: bool,
    /// The directory user the caller acts as; None only for the operator acting as itself.
    pub user: Option<User>,
    /// The operator's own login, the label of its directory changes.
    operator_login: String,
}

impl Caller {
    pub fn actor(&self) -> Actor {
        match &self.user {
            Some(user) => Actor::User(user.upn.clone()),
            None => Actor::Operator(self.operator_login.clone()),
        }
    }

    /// Whose view reads answer: the directory user acting, or the operator's whole view.
    pub fn viewer(&self) -> Viewer {
        Viewer::from(&self.actor())
    }

    /// The directory user, for calls that make no sense without one (notifications, `mine`).
    pub fn need_user(&self) -> ApiResult<&User> {
        self.user.as_ref().ok_or_else(|| rules::needs_user().into())
    }
}

/// What `identify` needs from the directory.
pub trait Directory {
    fn user(&self, upn: &str) -> impl Future<Output = Result<User>> + Send;
    fn user_by_login(&self, login: &str) -> impl Future<Output = Result<Option<User>>> + Send;
}

impl Directory for Engine {
    async fn user(&self, upn: &str) -> Result<User> {
        Engine::user(self, upn).await
    }
    async fn user_by_login(&self, login: &str) -> Result<Option<User>> {
        Engine::user_by_login(self, login).await
    }
}

/// The whole decision of who a request is from, and whether it may claim to be someone else.
///
/// - The service's own uid is the operator: as itself without `X-Jitdesk-As` (it manages the
///   directory), as the named directory user with it.
/// - Any other uid is the directory user whose login name is its OS login. Naming someone else in
///   `X-Jitdesk-As` is refused; naming oneself is allowed. A login no user has is refused.
///
/// A caller a remote door authenticated follows the same rule: the operator acts as itself or as
/// anyone named; a directory user only as themselves, and only while the directory has them.
///
/// An empty header counts as no header, as an empty `JITDESK_USER` does for the CLI.
pub async fn identify(
    peer: &Peer,
    operator: &Operator,
    as_header: Option<&str>,
    directory: &impl Directory,
) -> ApiResult<Caller> {
    let claimed = as_header.map(str::trim).filter(|s| !s.is_empty()).map(str::to_lowercase);
    match peer {
        Peer::Local(local) => identify_local(local, operator, claimed, directory).await,
        Peer::Known(upn) => identify_known(upn.as_deref(), operator, claimed, directory).await,
        // The door's caller proves who they are request by request, before `identify` (`bearer`).
        Peer::Remote(_) => {
            Err(ApiError::unauthorized("this door needs a client certificate or a bearer token"))
        }
    }
}

async fn identify_known(
    upn: Option<&str>,
    operator: &Operator,
    claimed: Option<String>,
    directory: &impl Directory,
) -> ApiResult<Caller> {
    let caller = |user, is_operator| Caller {
        login: None,
        operator: is_operator,
        user,
        operator_login: operator.login.clone(),
    };
    let Some(upn) = upn else {
        return Ok(match claimed {
            Some(upn) => caller(Some(directory.user(&upn).await?), true),
            None => caller(None, true),
        });
    };
    // The door found this user when the session began; the directory is asked again on every
    // call, so a user removed since is refused like one never known.
    let user = directory.user(upn).await.map_err(|_| {
        ApiError::forbidden(format!(
            "{} is not in the directory: ask the operator to add them",
            crate::domain::text::shown(upn)
        ))
    })?;
    if let Some(claimed) = claimed
        && claimed != user.upn
    {
        return Err(ApiError::forbidden(format!(
            "you are {} and may not act as {}: only the service's operator ({}) can act as someone else",
            user.upn,
            crate::domain::text::shown(&claimed),
            operator.login
        )));
    }
    Ok(caller(Some(user), false))
}

async fn identify_local(
    peer: &Local,
    operator: &Operator,
    claimed: Option<String>,
    directory: &impl Directory,
) -> ApiResult<Caller> {
    let Some(uid) = peer.uid else {
        return Err(ApiError::forbidden(
            "the service cannot tell who you are: the socket gave no peer credentials",
        ));
    };
    let caller = |user| Caller {
        login: peer.login.clone(),
        operator: uid == operator.uid,
        user,
        operator_login: operator.login.clone(),
    };
    if uid == operator.uid {
        return Ok(match claimed {
            Some(upn) => caller(Some(directory.user(&upn).await?)),
            None => caller(None),
        });
    }
    if let Some(why) = &peer.lookup_failed {
        // The refusal's own line (throttled per uid) says 503; the reason is for a closer look.
        tracing::debug!("cannot look up the login of uid {uid}: {why}");
        return Err(ApiError::unavailable(format!(
            "the service could not read the password database to tell who uid {uid} is ({why}): try again shortly"
        )));
    }
    let Some(login) = &peer.login else {
        return Err(ApiError::forbidden(format!(
            "your uid {uid} has no OS login name, so it maps to no directory user; ask the operator to give you a login"
        )));
    };
    let Some(user) = directory.user_by_login(login).await? else {
        return Err(ApiError::forbidden(format!(
            "your OS login `{login}` is not mapped to a directory user; ask the operator to `jitdesk user add ... --login {login}`"
        )));
    };
    if let Some(upn) = claimed
        && upn != user.upn
    {
        return Err(ApiError::forbidden(format!(
            "you are {} (OS login `{login}`) and may not act as {upn}: only the service's operator ({}) can act as someone else",
            user.upn, operator.login
        )));
    }
    Ok(caller(Some(user)))
}

impl FromRequestParts<State> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &State) -> ApiResult<Caller> {
        let mut peer = parts
            .extensions
            .get::<ConnectInfo<Peer>>()
            .map(|c| c.0.clone())
            .unwrap_or(Peer::Local(Local { uid: None, login: None, lookup_failed: None }));
        // A lookup that failed when the connection came is tried again: the trouble may have passed,
        // and a client that keeps its connection must not be told "try again" for ever.
        if let Peer::Local(Local { uid: Some(uid), lookup_failed: Some(_), .. }) = &peer {
            peer = Peer::Local(Local::for_uid(*uid));
        }
        if let Peer::Remote(_) = &peer {
            peer = super::bearer::identify(&parts.headers, &parts.method, &state.engine).await?;
        }
        let claimed = match parts.headers.get(AS_HEADER) {
            None => None,
            Some(value) => Some(
                value
                    .to_str()
                    .map_err(|_| ApiError::invalid("the X-Jitdesk-As header must be a plain UPN"))?,
            ),
        };
        identify(&peer, &state.operator, claimed, &state.engine).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::wire::ErrorKind;
    use crate::domain::RuleError;

    const ME: u32 = 1000;

    fn operator() -> Operator {
        Operator { uid: ME, login: "svc".into() }
    }

    fn user(upn: &str, login: Option<&str>) -> User {
        User {
            upn: upn.into(),
            display_name: upn.into(),
            tenant: "t".into(),
            admin: false,
            login: login.map(Into::into),
            object_id: String::new(),
        }
    }

    /// alice has login `alice`; bob has none.
    struct Dir;

    impl Directory for Dir {
        async fn user(&self, upn: &str) -> Result<User> {
            match upn {
                "alice@contoso.com" => Ok(user(upn, Some("alice"))),
                "bob@contoso.com" => Ok(user(upn, None)),
                _ => Err(RuleError::not_found(format!("no user `{upn}` in the directory")).into()),
            }
        }
        async fn user_by_login(&self, login: &str) -> Result<Option<User>> {
            Ok((login == "alice").then(|| user("alice@contoso.com", Some("alice"))))
        }
    }

    fn peer(uid: u32, login: &str) -> Peer {
        Peer::Local(Local { uid: Some(uid), login: Some(login.into()), lookup_failed: None })
    }

    fn nobody() -> Local {
        Local { uid: None, login: None, lookup_failed: None }
    }

    async fn who(peer: &Peer, header: Option<&str>) -> ApiResult<Caller> {
        identify(peer, &operator(), header, &Dir).await
    }

    fn refused(result: ApiResult<Caller>, kind: ErrorKind) -> String {
        let e = result.expect_err("refused");
        assert_eq!(e.kind, kind, "{}", e.message);
        e.message
    }

    #[tokio::test]
    async fn the_services_own_uid_is_the_operator() {
        let c = who(&peer(ME, "svc"), None).await.unwrap();
        assert!(c.operator);
        assert_eq!(c.user, None);
        assert_eq!(c.actor(), Actor::Operator("svc".into()));
        assert_eq!(c.viewer(), Viewer::Operator);
        assert_eq!(c.need_user().unwrap_err().kind, ErrorKind::Forbidden);
        // An empty header is no header.
        assert_eq!(who(&peer(ME, "svc"), Some("  ")).await.unwrap().user, None);
    }

    #[tokio::test]
    async fn the_operator_acts_as_anyone_in_the_directory() {
        for header in ["bob@contoso.com", " BOB@Contoso.com "] {
            let c = who(&peer(ME, "svc"), Some(header)).await.unwrap();
            assert!(c.operator);
            assert_eq!(c.actor(), Actor::User("bob@contoso.com".into()));
            assert_eq!(c.viewer(), Viewer::User("bob@contoso.com".into()));
        }
        refused(who(&peer(ME, "svc"), Some("nobody@x.com")).await, ErrorKind::NotFound);
    }

    #[tokio::test]
    async fn anyone_else_is_their_own_directory_user() {
        let c = who(&peer(2000, "alice"), None).await.unwrap();
        assert!(!c.operator);
        assert_eq!(c.actor(), Actor::User("alice@contoso.com".into()));
        // Naming oneself is fine, in any case.
        let c = who(&peer(2000, "alice"), Some("Alice@Contoso.com")).await.unwrap();
        assert_eq!(c.actor(), Actor::User("alice@contoso.com".into()));
    }

    #[tokio::test]
    async fn nobody_else_acts_as_someone_else() {
        let m = refused(who(&peer(2000, "alice"), Some("bob@contoso.com")).await, ErrorKind::Forbidden);
        assert!(m.contains("may not act as bob@contoso.com") && m.contains("operator (svc)"), "{m}");
    }

    #[tokio::test]
    async fn an_unmapped_login_is_refused_clearly() {
        let m = refused(who(&peer(2000, "mallory"), None).await, ErrorKind::Forbidden);
        assert!(m.contains("`mallory` is not mapped") && m.contains("--login mallory"), "{m}");
        // Claiming a user does not help.
        refused(who(&peer(2000, "mallory"), Some("alice@contoso.com")).await, ErrorKind::Forbidden);
        // Nor does a uid without a login, or a socket without credentials.
        let m = refused(
            who(&Peer::Local(Local { uid: Some(2001), ..nobody() }), None).await,
            ErrorKind::Forbidden,
        );
        assert!(m.contains("uid 2001"), "{m}");
        refused(who(&Peer::Local(nobody()), None).await, ErrorKind::Forbidden);
    }

    #[tokio::test]
    async fn the_operators_login_name_does_not_matter_only_its_uid() {
        // Another uid with the operator's login name (say, a renamed account) is not the operator.
        let m = refused(who(&peer(2000, "svc"), None).await, ErrorKind::Forbidden);
        assert!(m.contains("not mapped"), "{m}");
    }

    #[tokio::test]
    async fn a_failed_lookup_is_try_again_never_an_identity_refusal() {
        let why = nix::errno::Errno::EMFILE.to_string();
        let failed = Local { uid: Some(2000), login: None, lookup_failed: Some(why) };
        let e = who(&Peer::Local(failed.clone()), None).await.expect_err("not identified");
        assert_eq!((e.status.as_u16(), e.kind), (503, ErrorKind::Unavailable), "{}", e.message);
        assert!(e.message.contains("try again") && e.message.contains("uid 2000"), "{}", e.message);
        // The operator is known by its uid alone, so a lookup that failed does not matter for it.
        let operator = Local { uid: Some(ME), ..failed };
        assert!(who(&Peer::Local(operator), None).await.expect("the operator").operator);
    }

    #[tokio::test]
    async fn a_user_a_door_authenticated_is_that_user_and_nobody_else() {
        let alice = Peer::Known(Some("alice@contoso.com".into()));
        let c = who(&alice, None).await.unwrap();
        assert!(!c.operator);
        assert_eq!(c.actor(), Actor::User("alice@contoso.com".into()));
        assert_eq!(c.login, None);
        assert_eq!(who(&alice, Some("ALICE@contoso.com")).await.unwrap().actor(), c.actor());
        let m = refused(who(&alice, Some("bob@contoso.com")).await, ErrorKind::Forbidden);
        assert!(m.contains("may not act as bob@contoso.com"), "{m}");
        // A user who left the directory since the session began is refused, not served.
        let gone = Peer::Known(Some("carol@contoso.com".into()));
        let m = refused(who(&gone, None).await, ErrorKind::Forbidden);
        assert!(m.contains("carol@contoso.com is not in the directory"), "{m}");
    }

    #[tokio::test]
    async fn the_operator_a_door_authenticated_acts_as_anyone() {
        let operator = Peer::Known(None);
        let c = who(&operator, None).await.unwrap();
        assert!(c.operator);
        assert_eq!(c.actor(), Actor::Operator("svc".into()));
        let c = who(&operator, Some("bob@contoso.com")).await.unwrap();
        assert_eq!(c.actor(), Actor::User("bob@contoso.com".into()));
        refused(who(&operator, Some("nobody@x.com")).await, ErrorKind::NotFound);
    }

    #[test]
    fn each_peer_counts_against_its_own_holder() {
        assert_eq!(peer(2000, "alice").holder(), Holder::Uid(2000));
        assert_eq!(Peer::Local(nobody()).holder(), Holder::Unknown);
        assert_eq!(Peer::Known(None).holder(), Holder::User(None));
        let dave = Peer::Known(Some("dave@fabrikam.com".into()));
        assert_eq!(dave.holder(), Holder::User(Some("dave@fabrikam.com".into())));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn the_engine_finds_the_directory_user_of_an_os_login() {
        use crate::domain::TenantKind;
        use crate::domain::rules::{NewTenant, NewUser};
        use crate::engine::{ManualClock, OpenMode};
        let dir = tempfile::tempdir().expect("a temporary directory");
        let clock = std::sync::Arc::new(ManualClock::new(chrono::Utc::now()));
        let engine = Engine::open(&dir.path().join("s.redb"), OpenMode::Create, clock).await.unwrap();
        let op = Actor::Operator("svc".into());
        let tenant =
            NewTenant { id: "contoso".into(), kind: TenantKind::Customer, name: None, license: None };
        engine.run(&op, tenant).await.unwrap();
        let alice = NewUser {
            upn: "alice@contoso.com".into(),
            tenant: "contoso".into(),
            name: None,
            admin: false,
            login: Some("alice".into()),
            object_id: None,
        };
        engine.run(&op, alice).await.unwrap();
        let c = identify(&peer(2000, "alice"), &operator(), None, &engine).await.expect("alice");
        assert_eq!(c.actor(), Actor::User("alice@contoso.com".into()));
        refused(identify(&peer(2001, "bob"), &operator(), None, &engine).await, ErrorKind::Forbidden);
        engine.close().await.unwrap();
    }
}
