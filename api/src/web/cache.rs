//! Warehouse figures the pages show, kept for a minute: a page within that minute is served from
//! here; after it, the stale figures are shown once more while fresh ones are computed in the
//! background — so only the first view of a report waits for the warehouse. Keys name the team
//! and everything the figures depend on; callers check the viewer's permission before asking.

use futures::future::{BoxFuture, FutureExt, Shared};
use serde_json::Value;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long computed figures are served before they are recomputed.
pub const FRESH_FOR: Duration = Duration::from_secs(60);
/// The most entries kept; the oldest go first beyond it.
const CAPACITY: usize = 256;

/// A computation under way, which every request for its key joins.
type Computing = Shared<BoxFuture<'static, Value>>;

/// Computed figures by key.
#[derive(Default)]
pub struct FigureCache {
    entries: tokio::sync::Mutex<HashMap<String, Entry>>,
}

struct Entry {
    at: Instant,
    value: Option<Value>,
    computing: Option<Computing>,
}

impl FigureCache {
    /// The figures under `key`: fresh ones as they are, stale ones while `compute` refreshes them
    /// in the background, missing ones computed now (joining a computation under way).
    pub async fn get<F, Fut>(self: &Arc<Self>, key: String, compute: F) -> Value
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Value> + Send + 'static,
    {
        let computing = {
            let mut entries = self.entries.lock().await;
            match self.lookup(&mut entries, key, compute) {
                Ok(value) => return value,
                Err(computing) => computing,
            }
        };
        computing.await
    }

    /// The figures under `key` if there are any (stale ones are refreshed in the background);
    /// otherwise `None`, with `compute` started in the background for the next request.
    pub async fn peek<F, Fut>(self: &Arc<Self>, key: String, compute: F) -> Option<Value>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Value> + Send + 'static,
    {
        let mut entries = self.entries.lock().await;
        self.lookup(&mut entries, key, compute).ok()
    }

    /// A value to show now, or the computation to wait for.
    fn lookup<F, Fut>(
        self: &Arc<Self>,
        entries: &mut HashMap<String, Entry>,
        key: String,
        compute: F,
    ) -> Result<Value, Computing>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Value> + Send + 'static,
    {
        if let Some(entry) = entries.get(&key) {
            match (&entry.value, &entry.computing) {
                (Some(value), _) if entry.at.elapsed() < FRESH_FOR => return Ok(value.clone()),
                (Some(stale), Some(_)) => return Ok(stale.clone()),
                (None, Some(computing)) => return Err(computing.clone()),
                _ => {}
            }
        }
        let cache = self.clone();
        let k = key.clone();
        let computing: Computing = async move {
            let value = compute().await;
            cache.put(k, value.clone()).await;
            value
        }
        .boxed()
        .shared();
        // Driven to the end even when nobody waits for it (a refresh, or a request gone away).
        tokio::spawn(computing.clone());
        let entry = entries.entry(key).or_insert(Entry { at: Instant::now(), value: None, computing: None });
        entry.computing = Some(computing.clone());
        match &entry.value {
            Some(stale) => Ok(stale.clone()),
            None => Err(computing),
        }
    }

    async fn put(&self, key: String, value: Value) {
        let mut entries = self.entries.lock().await;
        if entries.len() >= CAPACITY
            && let Some(oldest) =
                entries.iter().filter(|(_, e)| e.computing.is_none()).min_by_key(|(_, e)| e.at).map(|(k, _)| k.clone())
        {
            entries.remove(&oldest);
        }
        entries.insert(key, Entry { at: Instant::now(), value: Some(value), computing: None });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn fresh_figures_are_computed_once() {
        let cache = Arc::new(FigureCache::default());
        let runs = Arc::new(AtomicUsize::new(0));
        for _ in 0..3 {
            let runs = runs.clone();
            let v = cache
                .get("team/a".into(), move || async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    json!(42)
                })
                .await;
            assert_eq!(v, json!(42));
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        let other = cache.get("team/b".into(), || async { json!(7) }).await;
        assert_eq!(other, json!(7));
    }

    #[tokio::test]
    async fn a_peek_starts_the_computation_that_a_get_joins() {
        let cache = Arc::new(FigureCache::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = |runs: Arc<AtomicUsize>| {
            move || async move {
                runs.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
                json!("figures")
            }
        };
        assert_eq!(cache.peek("k".into(), counted(runs.clone())).await, None);
        assert_eq!(cache.get("k".into(), counted(runs.clone())).await, json!("figures"));
        assert_eq!(cache.peek("k".into(), counted(runs.clone())).await, Some(json!("figures")));
        assert_eq!(runs.load(Ordering::SeqCst), 1, "one computation, joined");
    }

    #[tokio::test]
    async fn stale_figures_are_served_while_refreshed() {
        let cache = Arc::new(FigureCache::default());
        cache.get("k".into(), || async { json!(1) }).await;
        cache.entries.lock().await.get_mut("k").unwrap().at = Instant::now() - FRESH_FOR - Duration::from_secs(1);
        let (tx, rx) = tokio::sync::oneshot::channel();
        let v = cache
            .get("k".into(), || async move {
                let _ = tx.send(());
                json!(2)
            })
            .await;
        assert_eq!(v, json!(1), "the stale value, at once");
        rx.await.unwrap();
        for _ in 0..100 {
            if cache.get("k".into(), || async { json!(3) }).await == json!(2) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the refreshed value never arrived");
    }
}
