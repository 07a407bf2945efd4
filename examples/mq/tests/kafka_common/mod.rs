//! Helpers shared by the kafka_* tests: a unique temporary directory removed on drop,
//! and a runtime runner with a bound so no test can hang.
#![allow(dead_code)]

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

/// A unique directory under the system temp dir, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let p =
            std::env::temp_dir().join(format!("gort-kafka-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `fut` on a gort runtime, failing the test if it takes longer than `limit`.
pub fn run<F: Future + Send + 'static>(limit: Duration, fut: F) -> F::Output
where
    F::Output: Send + 'static,
{
    gort::run(async move {
        gort::time::timeout(limit, fut)
            .await
            .unwrap_or_else(|_| panic!("test did not finish within {limit:?}"))
    })
}

/// Waits (bounded) until `cond` holds, checking every 10 ms.
pub async fn eventually(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + limit;
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        gort::time::sleep(Duration::from_millis(10)).await;
    }
}
