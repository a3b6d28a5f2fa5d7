//! Who a browser is, for `verdikt serve`: single-use invites that open a session bound to one
//! reviewer. Codes and tokens are 160 random bits from the OS (`getrandom`), handed out once and
//! stored only as their SHA-256, so a copy of the project file opens no session. Both expire;
//! an invite is used at most once (marked in the same immediate transaction that opens the
//! session); `revoke` ends every invite and session of a reviewer at once. No HTTP here: the
//! server (`verdikt-serve`) and the CLI (`verdikt reviewer invite|revoke`) call these.

use std::time::Duration;

use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::audit::{AuditError, Reviewer, reviewer};
use crate::store::Store;

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// Unknown, used, expired or revoked: deliberately one answer for all four.
    #[error(
        "this invite code is not valid: it may be used already, expired or revoked; ask the curator for a new link"
    )]
    BadInvite,
    /// Unknown, expired or revoked: deliberately one answer for all three.
    #[error("no valid session: open your invite link again, or ask the curator for a new one")]
    NoSession,
    #[error("the operating system gave no random bytes: {0}")]
    Random(String),
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
}

/// A fresh invite: `code` is shown once (in the link) and never stored.
#[derive(Clone, Debug, Serialize)]
pub struct Invite {
    pub reviewer: String,
    pub code: String,
    pub expires_at: String,
}

/// An open session: `token` goes to the browser once (in a cookie) and is never stored.
#[derive(Clone, Debug)]
pub struct NewSession {
    pub id: i64,
    pub token: String,
    pub reviewer: Reviewer,
    pub expires_at: String,
}

/// The reviewer a session token stands for.
#[derive(Clone, Debug)]
pub struct Session {
    pub id: i64,
    pub reviewer: Reviewer,
}

/// What `revoke` ended.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Revoked {
    pub invites: usize,
    pub sessions: usize,
}

const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

/// 160 random bits as 40 hex digits.
fn secret() -> Result<String, AccessError> {
    let mut bytes = [0u8; 20];
    getrandom::fill(&mut bytes).map_err(|e| AccessError::Random(e.to_string()))?;
    Ok(hex(&bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What is stored of a code or token.
pub fn hashed(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

fn expiry(lifetime: Duration) -> String {
    format!(
        "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+{} seconds')",
        lifetime.as_secs()
    )
}

/// A single-use invite for reviewer `name`, valid for `lifetime`.
pub fn invite(store: &Store, name: &str, lifetime: Duration) -> Result<Invite, AccessError> {
    let who = reviewer(store, name)?;
    let code = secret()?;
    let expires_at: String = store.conn().query_row(
        &format!(
            "INSERT INTO serve_invites (reviewer_id, code_sha256, expires_at)
             VALUES (?1, ?2, {}) RETURNING expires_at",
            expiry(lifetime)
        ),
        params![who.id, hashed(&code)],
        |r| r.get(0),
    )?;
    Ok(Invite {
        reviewer: who.name,
        code,
        expires_at,
    })
}

/// The link a reviewer opens: the server's address with the code after `#`, so the code never
/// reaches a server log or a `Referer`.
pub fn invite_link(server_url: &str, code: &str) -> String {
    format!("{}/invite#{code}", server_url.trim_end_matches('/'))
}

/// Uses invite `code` (once) and opens a session of `lifetime` for its reviewer.
pub fn open_session(
    store: &mut Store,
    code: &str,
    lifetime: Duration,
) -> Result<NewSession, AccessError> {
    let tx = store
        .conn_mut()
        .transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: Option<(i64, String)> = tx
        .query_row(
            &format!(
                "UPDATE serve_invites SET used_at = {NOW}
                 WHERE code_sha256 = ?1 AND used_at IS NULL AND revoked_at IS NULL
                   AND expires_at > {NOW}
                 RETURNING id, (SELECT name FROM reviewers WHERE id = reviewer_id)"
            ),
            [hashed(code.trim())],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((invite_id, name)) = found else {
        return Err(AccessError::BadInvite);
    };
    let token = secret()?;
    let (id, expires_at): (i64, String) = tx.query_row(
        &format!(
            "INSERT INTO serve_sessions (reviewer_id, invite_id, token_sha256, expires_at)
             SELECT reviewer_id, id, ?2, {} FROM serve_invites WHERE id = ?1
             RETURNING id, expires_at",
            expiry(lifetime)
        ),
        params![invite_id, hashed(&token)],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    tx.commit()?;
    Ok(NewSession {
        id,
        token,
        reviewer: reviewer(store, &name)?,
        expires_at,
    })
}

/// A session's `last_seen_at` is older than a minute (or unset): time to write it again.
const SEEN_LONG_AGO: &str = "(last_seen_at IS NULL
     OR last_seen_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-60 seconds'))";

/// The session `token` opened, if it is still valid, with its reviewer as they are now. Notes
/// when it was last used (see [`note_seen`]).
pub fn session(store: &Store, token: &str) -> Result<Session, AccessError> {
    let found: Option<(i64, String, bool)> = store
        .conn()
        .prepare_cached(&format!(
            "SELECT s.id, r.name, {SEEN_LONG_AGO}
             FROM serve_sessions AS s JOIN reviewers AS r ON r.id = s.reviewer_id
             WHERE s.token_sha256 = ?1 AND s.revoked_at IS NULL AND s.expires_at > {NOW}"
        ))?
        .query_row([hashed(token)], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let (id, name, long_ago) = found.ok_or(AccessError::NoSession)?;
    if long_ago {
        note_seen(store, id)?;
    }
    Ok(Session {
        id,
        reviewer: reviewer(store, &name)?,
    })
}

/// Writes that session `id` is in use now, at most once a minute (concurrent requests write
/// once). Never waits for the write lock: while another writer (an import) holds it, nothing
/// is written and a later request writes it, so the lookup costs a reviewer no time.
fn note_seen(store: &Store, id: i64) -> Result<(), AccessError> {
    let conn = store.conn();
    let patience: u32 = conn.query_row("PRAGMA busy_timeout", [], |r| r.get(0))?;
    conn.busy_timeout(Duration::ZERO)?;
    let written = conn.execute(
        &format!(
            "UPDATE serve_sessions SET last_seen_at = {NOW} WHERE id = ?1 AND {SEEN_LONG_AGO}"
        ),
        [id],
    );
    conn.busy_timeout(Duration::from_millis(patience.into()))?;
    match written {
        Err(e) if crate::store::is_busy(&e) => Ok(()),
        other => other.map(drop).map_err(AccessError::from),
    }
}

/// An open session, for the curator: whose, since and until when, and what it stored.
#[derive(Clone, Debug, Serialize)]
pub struct OpenSession {
    pub id: i64,
    pub reviewer: String,
    pub created_at: String,
    pub expires_at: String,
    /// Answers and final answers stored through it, and when the last one was.
    pub answers: i64,
    pub last_answer_at: Option<String>,
    /// When it was last used (to within a minute); `None`: not since it opened.
    pub last_seen_at: Option<String>,
}

/// Every session still valid, by reviewer.
pub fn open_sessions(store: &Store) -> Result<Vec<OpenSession>, AccessError> {
    let mut stmt = store.conn().prepare(&format!(
        "WITH given AS (SELECT source, created_at FROM annotations WHERE source LIKE 'session:%'
                        UNION ALL
                        SELECT source, created_at FROM final_answers WHERE source LIKE 'session:%')
         SELECT s.id, r.name, s.created_at, s.expires_at,
                (SELECT count(*) FROM given WHERE given.source = 'session:' || s.id),
                (SELECT max(created_at) FROM given WHERE given.source = 'session:' || s.id),
                s.last_seen_at
         FROM serve_sessions AS s JOIN reviewers AS r ON r.id = s.reviewer_id
         WHERE s.revoked_at IS NULL AND s.expires_at > {NOW}
         ORDER BY r.name, s.id"
    ))?;
    let rows = stmt.query_map([], |r| {
        Ok(OpenSession {
            id: r.get(0)?,
            reviewer: r.get(1)?,
            created_at: r.get(2)?,
            expires_at: r.get(3)?,
            answers: r.get(4)?,
            last_answer_at: r.get(5)?,
            last_seen_at: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Ends every open invite and session of reviewer `name` at once.
pub fn revoke(store: &mut Store, name: &str) -> Result<Revoked, AccessError> {
    let who = reviewer(store, name)?;
    let tx = store
        .conn_mut()
        .transaction_with_behavior(TransactionBehavior::Immediate)?;
    let invites = tx.execute(
        &format!(
            "UPDATE serve_invites SET revoked_at = {NOW}
             WHERE reviewer_id = ?1 AND revoked_at IS NULL AND used_at IS NULL"
        ),
        [who.id],
    )?;
    let sessions = tx.execute(
        &format!(
            "UPDATE serve_sessions SET revoked_at = {NOW}
             WHERE reviewer_id = ?1 AND revoked_at IS NULL AND expires_at > {NOW}"
        ),
        [who.id],
    )?;
    tx.commit()?;
    Ok(Revoked { invites, sessions })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::add_reviewer;

    #[test]
    fn an_invite_opens_one_session_and_revoke_ends_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("p.sqlite")).unwrap();
        add_reviewer(&store, "ana", "pl").unwrap();
        let inv = invite(&store, "ana", Duration::from_secs(60)).unwrap();
        assert_eq!(inv.code.len(), 40);
        let stored: String = store
            .conn()
            .query_row("SELECT code_sha256 FROM serve_invites", [], |r| r.get(0))
            .unwrap();
        assert_eq!(stored, hashed(&inv.code), "only the hash is kept");
        let s = open_session(&mut store, &inv.code, Duration::from_secs(60)).unwrap();
        assert_eq!(s.reviewer.name, "ana");
        assert!(matches!(
            open_session(&mut store, &inv.code, Duration::from_secs(60)),
            Err(AccessError::BadInvite)
        ));
        assert_eq!(session(&store, &s.token).unwrap().id, s.id);
        let open = open_sessions(&store).unwrap();
        assert_eq!((open.len(), open[0].answers), (1, 0));
        assert!(matches!(
            session(&store, "0000"),
            Err(AccessError::NoSession)
        ));
        let unused = invite(&store, "ana", Duration::from_secs(60)).unwrap();
        assert_eq!(
            revoke(&mut store, "ana").unwrap(),
            Revoked {
                invites: 1,
                sessions: 1
            }
        );
        assert!(matches!(
            session(&store, &s.token),
            Err(AccessError::NoSession)
        ));
        assert!(open_sessions(&store).unwrap().is_empty());
        assert!(open_session(&mut store, &unused.code, Duration::from_secs(60)).is_err());
        let expired = invite(&store, "ana", Duration::ZERO).unwrap();
        assert!(open_session(&mut store, &expired.code, Duration::from_secs(60)).is_err());
    }

    #[test]
    fn a_lookup_notes_the_session_seen_once_a_minute_and_never_waits_for_a_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.sqlite");
        let mut store = Store::open(&path).unwrap();
        add_reviewer(&store, "ana", "pl").unwrap();
        let code = invite(&store, "ana", Duration::from_secs(60)).unwrap().code;
        let s = open_session(&mut store, &code, Duration::from_secs(60)).unwrap();
        let seen = |store: &Store| -> Option<String> {
            store
                .conn()
                .query_row("SELECT last_seen_at FROM serve_sessions", [], |r| r.get(0))
                .unwrap()
        };
        let set_seen = |store: &Store, ago: &str| {
            store
                .conn()
                .execute(
                    "UPDATE serve_sessions SET last_seen_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?1)",
                    [ago],
                )
                .unwrap();
            seen(store).unwrap()
        };
        assert_eq!(seen(&store), None);
        session(&store, &s.token).unwrap();
        assert!(seen(&store).is_some(), "the first lookup writes it");
        let recent = set_seen(&store, "-30 seconds");
        session(&store, &s.token).unwrap();
        assert_eq!(seen(&store), Some(recent), "not again within a minute");
        let old = set_seen(&store, "-90 seconds");
        session(&store, &s.token).unwrap();
        assert!(seen(&store).unwrap() > old, "again after a minute");
        assert_eq!(open_sessions(&store).unwrap()[0].last_seen_at, seen(&store));

        // Another writer holds the project (an import): the lookup answers at once.
        let old = set_seen(&store, "-90 seconds");
        let import = rusqlite::Connection::open(&path).unwrap();
        import.execute_batch("BEGIN IMMEDIATE").unwrap();
        let started = std::time::Instant::now();
        assert_eq!(session(&store, &s.token).unwrap().id, s.id);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        import.execute_batch("COMMIT").unwrap();
        assert_eq!(
            seen(&store),
            Some(old),
            "skipped, written by a later lookup"
        );
        let patience: i64 = store
            .conn()
            .query_row("PRAGMA busy_timeout", [], |r| r.get(0))
            .unwrap();
        assert!(patience > 0, "the connection's patience is restored");
    }
}
