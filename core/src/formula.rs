//! CSV formula-injection defence. A spreadsheet runs a cell starting with `=`, `+`, `-`, `@`,
//! tab or CR as a formula; export prefixes such cells with `'`, which spreadsheets show as
//! text. Cells that already start with `'`s before such a character get one more, so import
//! can remove exactly one and the round trip is lossless.

const TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

fn needs_quote(after_quotes: &str) -> bool {
    after_quotes.starts_with(TRIGGERS)
}

/// The cell as it is safe to write.
pub fn guard(cell: &str) -> std::borrow::Cow<'_, str> {
    if needs_quote(cell.trim_start_matches('\'')) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// The text a guarded cell stands for.
pub fn unguard(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if needs_quote(rest.trim_start_matches('\'')) => rest,
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_defuses() {
        for text in [
            "=1+1", "+x", "-2", "@SUM(A1)", "\tx", "\rx", "'=x", "''-x", "'plain", "plain", "",
            "a=b",
        ] {
            let g = guard(text);
            assert!(
                !g.starts_with(TRIGGERS),
                "{text:?} → {g:?} still starts a formula"
            );
            assert_eq!(unguard(&g), text);
        }
        assert_eq!(guard("=1"), "'=1");
        assert_eq!(guard("a=b"), "a=b");
    }
}
