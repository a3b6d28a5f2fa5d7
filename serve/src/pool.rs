//! Connections to the project for the server's requests, each used by one request at a time
//! on a blocking thread. At most `CONNECTIONS` requests use the project at once (the others wait
//! their turn without a thread), and every connection opened is kept, so no request pays for
//! opening one once the server is warm and 50 busy reviewers do not become 50 threads
//! contending for SQLite's write lock on two cores. Requests that write take their turn at the
//! server's one writer (`write`), first come first served: SQLite's busy wait is not a queue, and
//! writers left to it retry in sleeps of up to 100 ms, so some waited seconds under load while
//! others went ahead. One stays open for as long as the server runs, so an import from the
//! CLI sees a reader and keeps the project in WAL mode (readers never wait for it). SQLite's
//! busy (another program holds the write lock: an import is one transaction) is retried here
//! until `BUSY_PATIENCE` has passed, never shown to a reviewer as an error; nothing is stored by
//! an attempt that found the project busy, so trying again cannot double an answer.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use verdikt_core::store::{Store, StoreError};

use crate::reply::ApiError;

/// How long a request keeps retrying a busy project before it answers "busy" (503).
const BUSY_PATIENCE: Duration = Duration::from_secs(60);
/// Requests that use the project at once; connections kept open.
const CONNECTIONS: usize = 8;

pub struct Pool {
    path: PathBuf,
    idle: Mutex<Vec<Store>>,
    turns: Semaphore,
    writer: tokio::sync::Mutex<()>,
}

impl Pool {
    pub fn open(path: PathBuf) -> Result<Arc<Pool>, StoreError> {
        let first = Store::open(&path)?;
        Ok(Arc::new(Pool {
            path,
            idle: Mutex::new(vec![first]),
            turns: Semaphore::new(CONNECTIONS),
            writer: tokio::sync::Mutex::new(()),
        }))
    }

    fn take(&self) -> Result<Store, StoreError> {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        match idle {
            Some(store) => Ok(store),
            None => Store::open(&self.path),
        }
    }

    fn give_back(&self, store: Store) {
        self.idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(store);
    }

    /// `run` for a request that writes: one at a time, in the order they came.
    pub async fn write<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl Fn(&mut Store) -> Result<T, ApiError> + Send + Sync + 'static,
    ) -> Result<T, ApiError> {
        let _turn = self.writer.lock().await;
        self.run(f).await
    }

    /// Runs `f` on a connection on a blocking thread, again while the project is busy.
    pub async fn run<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl Fn(&mut Store) -> Result<T, ApiError> + Send + Sync + 'static,
    ) -> Result<T, ApiError> {
        let started = Instant::now();
        let f = Arc::new(f);
        let mut pause = Duration::from_millis(20);
        loop {
            let pool = self.clone();
            let f = f.clone();
            let turn = self
                .turns
                .acquire()
                .await
                .expect("the pool's semaphore is never closed");
            let attempt = tokio::task::spawn_blocking(move || {
                let mut store = pool.take().map_err(ApiError::from_core)?;
                let out = f(&mut store);
                pool.give_back(store);
                out
            })
            .await
            .unwrap_or_else(|_| Err(ApiError::internal()));
            drop(turn);
            match attempt {
                Err(e) if e.busy && started.elapsed() < BUSY_PATIENCE => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(500));
                }
                other => return other,
            }
        }
    }
}
