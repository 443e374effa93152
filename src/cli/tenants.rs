//! `tenant list|show|set` and `user list`: the tenants and users the caller may see, and the change
//! of a customer tenant's licence. A downgrade that stops JIT access prints one warning line per
//! application on stderr (in the JSON answer with `--json`), while the change itself is done.

use std::io::Write;

use super::args::{Cli, LicenseArg, NamePageArgs};
use super::show::table;
use super::{Output, by_name, json_out, more, ok, viewer};
use crate::client::{Backend, Result};
use crate::domain::licence;
use crate::domain::text::sanitize;
use crate::domain::{Tenant, TenantKind};
use crate::engine::{SetLicence, TenantDetail};

/// `tenant list`: the tenants the caller sees.
pub async fn list(backend: &Backend, cli: &Cli, json: bool, page: &NamePageArgs) -> Result<Output> {
    let page = backend.tenants(&viewer(backend, cli).await?, by_name(page)?).await?;
    more(&page, json);
    ok(if json { json_out(&page.items)? } else { tenants(&page.items) })
}

/// `tenant show ID`: one tenant as far as the caller sees it.
pub async fn show(backend: &Backend, cli: &Cli, id: &str, json: bool) -> Result<Output> {
    let detail = backend.tenant(&viewer(backend, cli).await?, id).await?;
    ok(if json { json_out(&detail)? } else { shown(&detail) })
}

/// `tenant set ID --license L`, as the actor; the warnings go to stderr unless `json` carries them.
pub async fn set(backend: &Backend, cli: &Cli, id: &str, license: LicenseArg, json: bool) -> Result<Output> {
    let actor = backend.actor(cli.as_user.as_deref()).await?;
    let change = backend.run(&actor, SetLicence { tenant: id.to_string(), license: license.into() }).await?;
    if json {
        return ok(json_out(&change)?);
    }
    let mut stderr = std::io::stderr().lock();
    for line in &change.warnings {
        // A closed stderr leaves nobody to warn; the change is made all the same.
        let _ = writeln!(stderr, "warning: {}", sanitize(line));
    }
    let (before, after) = (licence::name(change.before), licence::name(change.tenant.license));
    ok(if before == after {
        format!("tenant {} already has the {after} licence\n", sanitize(&change.tenant.id))
    } else {
        format!("tenant {}: licence {before} -> {after}\n", sanitize(&change.tenant.id))
    })
}

/// `user list [--tenant ID]`: the users the caller may list.
pub async fn users(
    backend: &Backend,
    cli: &Cli,
    tenant: Option<&str>,
    json: bool,
    page: &NamePageArgs,
) -> Result<Output> {
    let page = backend.users(&viewer(backend, cli).await?, tenant, by_name(page)?).await?;
    more(&page, json);
    ok(if json { json_out(&page.items)? } else { super::show::users(&page.items) })
}

fn kind(tenant: &Tenant) -> &'static str {
    match tenant.kind {
        TenantKind::Publisher => "publisher",
        TenantKind::Customer => "customer",
    }
}

/// The tenants as a table (`table` sanitises every cell).
fn tenants(tenants: &[Tenant]) -> String {
    table(
        ["ID", "NAME", "KIND", "LICENCE"],
        tenants
            .iter()
            .map(|t| [t.id.clone(), t.name.clone(), kind(t).into(), licence::name(t.license).into()]),
    )
}

/// One tenant, a field a line, its JIT applications under it.
fn shown(d: &TenantDetail) -> String {
    let t = &d.tenant;
    let mut out = format!(
        "tenant {}\nname: {}\nkind: {}\nlicence: {}\n",
        sanitize(&t.id),
        sanitize(&t.name),
        kind(t),
        licence::name(t.license)
    );
    if let Some(users) = d.users {
        out.push_str(&format!("users: {users}\n"));
    }
    out.push_str(&format!("applications: {} ({} with JIT access)\n", d.applications, d.jit_count));
    for name in &d.jit_applications {
        out.push_str(&format!("  {}\n", sanitize(name)));
    }
    if d.jit_count > d.jit_applications.len() {
        out.push_str(&format!("  and {} more\n", d.jit_count - d.jit_applications.len()));
    }
    out
}
