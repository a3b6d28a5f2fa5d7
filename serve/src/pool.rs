//! Connections to the project for the server's requests, each used by one request at a time
//! on a blocking thread. At most `CONNECTIONS` requests use the project at once (the others wait
//! their turn without a thread), and every connection opened is kept, so no request pays for
//! opening one once the server is warm and 50 busy reviewers do not become 50 threads
//! contending for SQLite's write lock on two cores. Requests that write take their turn at the
//! server's one writer (`write`), first come first served: SQLite's busy wait is not a queue, and
//! writers left to it retry in sleeps of up to 100 ms, so some waited seconds under load while
//! others went ahead. The writer has its own connection outside the readers' turns: SQLite
//! writes one at a time anyway, so the writer is what limits answers per second, and a write
//! that waited for eight reads to finish kept every write behind it waiting too (measured under
//! 50 reviewers: answers/s was the writer's, and each answer waited its turn behind the others).
//! The writer's connection stays open for as long as the server runs, so an import from the
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
    /// The writers' queue (a fair lock: first come, first served) and their connection.
    writer: tokio::sync::Mutex<()>,
    writer_store: Arc<Mutex<Store>>,
}

impl Pool {
    pub fn open(path: PathBuf) -> Result<Arc<Pool>, StoreError> {
        let writer_store = Arc::new(Mutex::new(Store::open(&path)?));
        Ok(Arc::new(Pool {
            path,
            idle: Mutex::new(Vec::new()),
            turns: Semaphore::new(CONNECTIONS),
            writer: tokio::sync::Mutex::new(()),
            writer_store,
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

    /// For a request that writes: one at a time, in the order they came, on the writer's own
    /// connection (never waiting for reads), again while the project is busy.
    pub async fn write<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl Fn(&mut Store) -> Result<T, ApiError> + Send + Sync + 'static,
    ) -> Result<T, ApiError> {
        let _turn = self.writer.lock().await;
        let store = self.writer_store.clone();
        patiently(Arc::new(f), move |f| {
            let store = store.clone();
            async move {
                tokio::task::spawn_blocking(move || {
                    (*f)(&mut store.lock().unwrap_or_else(|p| p.into_inner()))
                })
                .await
                .unwrap_or_else(|_| Err(ApiError::internal()))
            }
        })
        .await
    }

    /// Runs `f` on a reader's connection on a blocking thread, again while the project is busy.
    pub async fn run<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl Fn(&mut Store) -> Result<T, ApiError> + Send + Sync + 'static,
    ) -> Result<T, ApiError> {
        let pool = self.clone();
        patiently(Arc::new(f), move |f| {
            let pool = pool.clone();
            async move {
                let _turn = pool
                    .turns
                    .acquire()
                    .await
                    .expect("the pool's semaphore is never closed");
                let worker = pool.clone();
                tokio::task::spawn_blocking(move || {
                    let mut store = worker.take().map_err(ApiError::from_core)?;
                    let out = (*f)(&mut store);
                    worker.give_back(store);
                    out
                })
                .await
                .unwrap_or_else(|_| Err(ApiError::internal()))
            }
        })
        .await
    }
}

/// `attempt(f)` until it is not busy or `BUSY_PATIENCE` has passed, pausing longer each time.
async fn patiently<F, T, A, Fut>(f: Arc<F>, attempt: A) -> Result<T, ApiError>
where
    A: Fn(Arc<F>) -> Fut,
    Fut: std::future::Future<Output = Result<T, ApiError>>,
{
    let started = Instant::now();
    let mut pause = Duration::from_millis(20);
    loop {
        match attempt(f.clone()).await {
            Err(e) if e.busy && started.elapsed() < BUSY_PATIENCE => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(500));
            }
            other => return other,
        }
    }
}
