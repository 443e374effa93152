//! Remote identity through the engine, with keys and certificates made by OpenSSH's own
//! `ssh-keygen`: a key identifies the one user it belongs to; a certificate names a user of the
//! tenant whose CA signed it while it is valid, and is refused for the reasons the log needs; a
//! token identifies its owner until it is revoked or expires; and who may manage or see each.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use chrono::{TimeDelta, Utc};
use jitdesk::domain::identity::{CertRefusal, NewToken, TokenOwner};
use jitdesk::domain::rules::Actor;
use jitdesk::domain::{Action, ErrorKind, Paging, Period};
use jitdesk::engine::OpenMode;
use jitdesk::engine::{AddCa, AddKey, Engine, ManualClock, RemoveCa, RemoveKey, RevokeToken, Viewer};
use ssh_key::{Certificate, PublicKey};

/// A new ed25519 key pair in `dir` under `name`; its public line.
fn keygen(dir: &Path, name: &str) -> String {
    let path = dir.join(name);
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", &format!("{name}@test"), "-f"])
        .arg(&path)
        .status()
        .expect("ssh-keygen runs");
    assert!(status.success());
    std::fs::read_to_string(path.with_extension("pub")).expect("the public key")
}

/// A user certificate for the key `name`, signed by the CA key `ca`, for `principal`, valid for
/// `validity` (ssh-keygen's `-V`).
fn sign(dir: &Path, ca: &str, name: &str, principal: &str, validity: &str) -> Certificate {
    let key: PathBuf = dir.join(format!("{name}.pub"));
    let status = Command::new("ssh-keygen")
        .args(["-q", "-s"])
        .arg(dir.join(ca))
        .args(["-I", "test", "-n", principal, "-V", validity])
        .arg(&key)
        .status()
        .expect("ssh-keygen signs");
    assert!(status.success());
    let cert = std::fs::read_to_string(dir.join(format!("{name}-cert.pub"))).expect("the certificate");
    Certificate::from_openssh(cert.trim()).expect("a certificate ssh-key reads")
}

async fn sample() -> (tempfile::TempDir, Engine, Arc<ManualClock>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let now = Utc::now();
    jitdesk::sample::create_at(&path, 0, now).await.unwrap();
    let clock = Arc::new(ManualClock::new(now));
    let engine = Engine::open(&path, OpenMode::Existing, clock.clone()).await.unwrap();
    (dir, engine, clock)
}

fn user(upn: &str) -> Actor {
    Actor::User(upn.into())
}

fn operator() -> Actor {
    Actor::Operator("root".into())
}

fn kind<T: std::fmt::Debug>(result: jitdesk::Result<T>) -> ErrorKind {
    result.expect_err("refused").kind().expect("a rule's refusal")
}

#[tokio::test]
async fn a_key_identifies_the_one_user_it_belongs_to() {
    let (dir, engine, _) = sample().await;
    let line = keygen(dir.path(), "dave");
    let key = PublicKey::from_openssh(line.trim()).unwrap();
    let dave = "dave@fabrikam.com";
    assert_eq!(engine.user_for_ssh_key(&key).await.unwrap(), None, "an unknown key is nobody");

    let added = engine.run(&user(dave), AddKey { upn: dave.into(), key: line.clone() }).await.unwrap();
    assert_eq!(added.comment, "dave@test");
    assert!(!added.key.contains("dave@test"), "the key is kept without its comment");
    assert_eq!(engine.user_for_ssh_key(&key).await.unwrap().map(|u| u.upn), Some(dave.to_string()));

    // The same key for another user is refused, without saying whose it is.
    let taken = engine.run(&operator(), AddKey { upn: "erin@fabrikam.com".into(), key: line.clone() }).await;
    let taken = taken.expect_err("a key belongs to one user");
    assert_eq!(taken.kind(), Some(ErrorKind::Conflict));
    assert!(!taken.to_string().contains("dave"), "{taken}");

    // Erin neither adds keys for Dave nor sees his.
    let erin = user("erin@fabrikam.com");
    let other = keygen(dir.path(), "other");
    assert_eq!(kind(engine.run(&erin, AddKey { upn: dave.into(), key: other }).await), ErrorKind::Forbidden);
    let as_erin = Viewer::User("erin@fabrikam.com".into());
    assert_eq!(kind(engine.ssh_keys(&as_erin, dave, Paging::default()).await), ErrorKind::Forbidden);
    let listed = engine.ssh_keys(&Viewer::Operator, dave, Paging::default()).await.unwrap().items;
    assert_eq!(listed, vec![added.clone()]);

    // Removing it as Erin is refused; as Dave it is gone, and the key is nobody again.
    let remove = || RemoveKey { upn: dave.into(), fingerprint: added.fingerprint.clone() };
    assert_eq!(kind(engine.run(&erin, remove()).await), ErrorKind::Forbidden);
    engine.run(&user(dave), remove()).await.unwrap();
    assert_eq!(engine.user_for_ssh_key(&key).await.unwrap(), None);
    assert_eq!(kind(engine.run(&user(dave), remove()).await), ErrorKind::NotFound);

    let audit = engine.audit(&Viewer::Operator, Paging::first(5)).await.unwrap().items;
    let actions: Vec<Action> = audit.iter().map(|r| r.action).collect();
    assert_eq!(&actions[..2], [Action::UserKeyRemoved, Action::UserKeyAdded]);
    assert_eq!(audit[1].after.as_deref(), Some(added.fingerprint.as_str()));
    engine.close().await.unwrap();
}

#[tokio::test]
async fn a_certificate_names_a_user_of_the_tenant_whose_ca_signed_it_while_it_is_valid() {
    let (dir, engine, clock) = sample().await;
    let d = dir.path();
    let fabrikam_ca = keygen(d, "fabrikam_ca");
    let contoso_ca = keygen(d, "contoso_ca");
    keygen(d, "stranger_ca");
    keygen(d, "laptop");

    // Fabrikam has no admin: the operator adds its CA. Contoso's admin adds Contoso's; a user who
    // is not an admin of it may not.
    engine.run(&operator(), AddCa { tenant: "fabrikam".into(), key: fabrikam_ca }).await.unwrap();
    let bob = AddCa { tenant: "contoso".into(), key: contoso_ca.clone() };
    assert_eq!(kind(engine.run(&user("bob@contoso.com"), bob).await), ErrorKind::Forbidden);
    let dave = AddCa { tenant: "contoso".into(), key: contoso_ca.clone() };
    assert_eq!(kind(engine.run(&user("dave@fabrikam.com"), dave).await), ErrorKind::Forbidden);
    let contoso = engine
        .run(&user("alice@contoso.com"), AddCa { tenant: "contoso".into(), key: contoso_ca })
        .await
        .unwrap();
    let alice = Viewer::User("alice@contoso.com".into());
    assert_eq!(
        engine.tenant_cas(&alice, "contoso", Paging::default()).await.unwrap().items,
        vec![contoso.clone()]
    );
    assert_eq!(kind(engine.tenant_cas(&alice, "fabrikam", Paging::default()).await), ErrorKind::Forbidden);

    let who = |cert: Certificate| {
        let engine = engine.clone();
        async move { engine.user_for_ssh_certificate(&cert).await.unwrap().map(|u| u.upn) }
    };
    let valid = sign(d, "fabrikam_ca", "laptop", "dave@fabrikam.com", "-1h:+1h");
    assert_eq!(who(valid.clone()).await, Ok("dave@fabrikam.com".to_string()));
    let nobody = sign(d, "fabrikam_ca", "laptop", "nobody@fabrikam.com", "-1h:+1h");
    assert_eq!(who(nobody).await, Err(CertRefusal::WrongPrincipal));
    let other_tenant = sign(d, "fabrikam_ca", "laptop", "alice@contoso.com", "-1h:+1h");
    assert_eq!(who(other_tenant).await, Err(CertRefusal::OtherTenant));
    let stranger = sign(d, "stranger_ca", "laptop", "dave@fabrikam.com", "-1h:+1h");
    assert_eq!(who(stranger).await, Err(CertRefusal::UnknownCa));
    let later = sign(d, "fabrikam_ca", "laptop", "dave@fabrikam.com", "+1h:+2h");
    assert_eq!(who(later).await, Err(CertRefusal::NotYetValid));
    // The engine's clock decides: two hours on, the same certificate has expired.
    clock.advance(TimeDelta::hours(2));
    assert_eq!(who(valid.clone()).await, Err(CertRefusal::Expired));
    clock.advance(TimeDelta::hours(-2));

    // A CA the tenant no longer trusts vouches for nobody.
    let fabrikam = engine.tenant_cas(&Viewer::Operator, "fabrikam", Paging::default()).await.unwrap().items;
    let remove = RemoveCa { tenant: "fabrikam".into(), fingerprint: fabrikam[0].fingerprint.clone() };
    engine.run(&operator(), remove).await.unwrap();
    assert_eq!(who(valid).await, Err(CertRefusal::UnknownCa));
    engine.close().await.unwrap();
}

#[tokio::test]
async fn a_token_identifies_its_owner_until_it_is_revoked_or_expires() {
    let (_dir, engine, clock) = sample().await;
    let dave = "dave@fabrikam.com";
    let ask = |user: Option<&str>, operator: bool| NewToken {
        user: user.map(str::to_string),
        operator,
        name: Some("laptop".into()),
        expires_in: Some(Period::from_hours(1)),
        read_only: true,
    };
    let made = engine.run(&user(dave), ask(None, false)).await.unwrap();
    assert!(made.secret.starts_with(&format!("jdt_{}_", made.token.id)), "{}", made.secret);
    let identity = engine.token_identity(&made.secret).await.unwrap().expect("the token is Dave");
    assert_eq!((identity.owner, identity.read_only), (TokenOwner::User(dave.into()), true));
    assert_eq!(engine.token_identity("jdt_0000_nothing").await.unwrap(), None);
    let other = format!("{}x", made.secret);
    assert_eq!(engine.token_identity(&other).await.unwrap(), None, "a secret is matched whole");

    // Dave's tokens are only ever Dave's; the operator's only the operator makes.
    let for_erin = ask(Some("erin@fabrikam.com"), false);
    assert_eq!(kind(engine.run(&user(dave), for_erin).await), ErrorKind::Forbidden);
    assert_eq!(kind(engine.run(&user(dave), ask(None, true)).await), ErrorKind::Forbidden);
    let op = engine.run(&operator(), ask(None, true)).await.unwrap();
    assert_eq!(op.token.owner, TokenOwner::Operator);
    let erins = engine.run(&operator(), ask(Some("erin@fabrikam.com"), false)).await.unwrap();

    // Each user lists their own; the operator lists every one; no list holds a secret or a hash.
    let as_dave = Viewer::User(dave.into());
    let mine = engine.tokens(&as_dave, Paging::default()).await.unwrap().items;
    assert_eq!(mine, vec![made.token.clone()]);
    let all = engine.tokens(&Viewer::Operator, Paging::default()).await.unwrap().items;
    assert_eq!(all.len(), 3);
    let shown = serde_json::to_string(&all).unwrap();
    for secret in [&made.secret, &op.secret, &erins.secret] {
        assert!(
            !shown.contains(secret.as_str())
                && !shown.contains(&jitdesk::domain::identity::token_hash(secret))
        );
    }

    // Erin cannot revoke Dave's token, and is told exactly what a missing one tells.
    let erin = user("erin@fabrikam.com");
    let theirs = engine.run(&erin, RevokeToken { id: made.token.id.clone() }).await.expect_err("not Erin's");
    let missing = engine.run(&erin, RevokeToken { id: "feedface".into() }).await.expect_err("no such token");
    assert_eq!(
        theirs.to_string().replace(&made.token.id, "ID"),
        missing.to_string().replace("feedface", "ID")
    );
    assert_eq!(theirs.kind(), Some(ErrorKind::NotFound));

    // Expired at the engine's time; revoked for good.
    clock.advance(TimeDelta::hours(1));
    assert_eq!(engine.token_identity(&made.secret).await.unwrap(), None, "expired");
    clock.advance(TimeDelta::hours(-1));
    engine.run(&user(dave), RevokeToken { id: made.token.id.clone() }).await.unwrap();
    assert_eq!(engine.token_identity(&made.secret).await.unwrap(), None, "revoked");
    assert_eq!(
        kind(engine.run(&user(dave), RevokeToken { id: made.token.id.clone() }).await),
        ErrorKind::Conflict
    );
    let audit = engine.audit(&Viewer::Operator, Paging::first(1)).await.unwrap().items;
    assert_eq!(audit[0].action, Action::TokenRevoked);
    engine.close().await.unwrap();
}
