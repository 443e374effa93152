//! libpq's password file (PGPASSFILE, ~/.pgpass), read the way libpq reads it, so that the one
//! file a team already keeps for psql serves jitdesk too: lines of
//! `host:port:database:user:password`, `*` matching anything in the first four fields, `\:` and
//! `\\` standing for a colon and a backslash, `#` starting a comment. A Unix socket connection
//! matches the host `localhost`, as in libpq. No maintained crate reads it, hence these few lines.

/// What a connection is to, as the password file's lines are matched against it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Wanted<'a> {
    /// The host name, or `localhost` for a Unix socket.
    pub host: &'a str,
    /// The port, as digits.
    pub port: &'a str,
    /// The database.
    pub database: &'a str,
    /// The user.
    pub user: &'a str,
}

/// The password of the first line that matches, if any.
pub(super) fn find(text: &str, wanted: &Wanted<'_>) -> Option<String> {
    text.lines().filter(|line| !line.trim_start().starts_with('#')).find_map(|line| {
        let fields = split(line)?;
        let want = [wanted.host, wanted.port, wanted.database, wanted.user];
        let matches = fields[..4].iter().zip(want).all(|(field, want)| field == "*" || field == want);
        matches.then(|| fields[4].clone())
    })
}

/// A line's five fields, unescaped; None when it has fewer (libpq skips such lines). A fifth
/// field keeps any further colons, unescaped or not, as libpq does.
fn split(line: &str) -> Option<[String; 5]> {
    let mut fields: Vec<String> = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => fields.last_mut()?.push(chars.next().unwrap_or('\\')),
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut()?.push(c),
        }
    }
    fields.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wanted<'a>(host: &'a str, database: &'a str) -> Wanted<'a> {
        Wanted { host, port: "5432", database, user: "jitdesk" }
    }

    #[test]
    fn the_first_matching_line_gives_the_password() {
        let text =
            "# a comment\ndb.example:5432:other:jitdesk:no\n*:5432:jit:jitdesk:first\n*:*:*:*:second\n";
        assert_eq!(find(text, &wanted("db.example", "jit")).as_deref(), Some("first"));
        assert_eq!(find(text, &wanted("db.example", "other")).as_deref(), Some("no"));
        assert_eq!(find(text, &wanted("elsewhere", "x")).as_deref(), Some("second"));
    }

    #[test]
    fn escapes_and_short_lines_read_as_libpq_reads_them() {
        let text = "short:line\nh\\:1:5432:jit:jitdesk:pa\\:ss\\\\word:tail\n";
        assert_eq!(find(text, &wanted("h:1", "jit")).as_deref(), Some("pa:ss\\word:tail"));
        assert_eq!(find(text, &wanted("h", "jit")), None, "an escaped colon is part of the host");
        assert_eq!(find("", &wanted("h", "jit")), None);
    }

    #[test]
    fn every_field_must_match_unless_it_is_a_star() {
        let text = "h:5433:jit:jitdesk:wrong-port\nh:5432:jit:someone:wrong-user\n";
        assert_eq!(find(text, &wanted("h", "jit")), None);
    }
}
