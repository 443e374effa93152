//! The README's "Security model" table of roles and actions, read from README.md, shared by every
//! test that holds something to it: the engine's rules (`security_model`) and the doors that reach
//! them (`doors_parity`) answer to one table, so the documentation cannot drift from either.

/// What a cell promises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    Yes,
    No,
    Own,
    Hidden,
}

/// The table under the README's "## Security model": (role, [(action, cell)]).
pub fn table() -> Vec<(String, Vec<(String, Cell)>)> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md");
    let section = readme.split("\n## Security model\n").nth(1).expect("a `## Security model` section");
    let section = section.split("\n## ").next().unwrap_or(section);
    let rows: Vec<Vec<String>> = section
        .lines()
        .skip_while(|l| !l.starts_with("| role"))
        .take_while(|l| l.starts_with('|'))
        .map(|l| l.trim().trim_matches('|').split('|').map(|c| c.trim().to_lowercase()).collect())
        .collect();
    assert!(rows.len() > 2, "the section has a `| role | ...` table");
    let actions = &rows[0][1..];
    rows[2..]
        .iter()
        .map(|row| {
            assert_eq!(row.len(), actions.len() + 1, "a cell for every action: {row:?}");
            let cells = actions
                .iter()
                .zip(&row[1..])
                .map(|(action, cell)| {
                    let cell = match cell.trim_matches('`') {
                        "yes" => Cell::Yes,
                        "no" => Cell::No,
                        "own" => Cell::Own,
                        "hidden" => Cell::Hidden,
                        other => panic!("unknown cell `{other}` for {} / {action}", row[0]),
                    };
                    (action.clone(), cell)
                })
                .collect();
            (row[0].clone(), cells)
        })
        .collect()
}
