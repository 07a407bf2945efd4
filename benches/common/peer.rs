//! The runtimes under comparison, behind one trait so each workload is one piece of
//! generic code that monomorphises into a gort copy and a tokio copy.
//!
//! Both are configured alike: 2 worker threads (gort `procs(2)`, tokio
//! `worker_threads(2)` with every driver enabled).

use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

/// Worker threads (gort Ps / tokio workers) for every measurement.
pub const WORKERS: usize = 2;

pub trait Peer: 'static {
    /// The benchmark function name in each criterion group.
    const NAME: &'static str;
    type Rt;
    type JoinError: Debug;
    type Join<T: Send + 'static>: Future<Output = Result<T, Self::JoinError>>
        + Send
        + Unpin
        + 'static;
    type Sleep: Future<Output = ()> + Send + 'static;

    fn build(workers: usize) -> Self::Rt;
    fn block_on<F: Future>(rt: &Self::Rt, f: F) -> F::Output;
    /// Spawns from any thread (the bench thread: a "remote" spawn).
    fn spawn<F>(rt: &Self::Rt, f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;
    /// Spawns on the current runtime (inside a task: a "local" spawn).
    fn go<F>(f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;
    fn yield_now() -> impl Future<Output = ()> + Send + 'static;
    fn sleep(d: Duration) -> Self::Sleep;
    /// Runs `f` outside the peer's cooperative budget, if it has one (tokio's coop
    /// budget would otherwise make a `Sleep` return `Pending` without registering once
    /// 128 polls have happened in one task poll). gort has no budget: identity.
    fn unconstrained<F: Future + Send>(f: F) -> impl Future<Output = F::Output> + Send;
}

pub enum Gort {}

impl Peer for Gort {
    const NAME: &'static str = "gort";
    type Rt = gort::Runtime;
    type JoinError = gort::JoinError;
    type Join<T: Send + 'static> = gort::JoinHandle<T>;
    type Sleep = gort::time::Sleep;

    fn build(workers: usize) -> gort::Runtime {
        gort::Runtime::builder()
            .procs(workers)
            .build()
            .expect("build gort runtime")
    }
    fn block_on<F: Future>(rt: &gort::Runtime, f: F) -> F::Output {
        rt.block_on(f)
    }
    fn spawn<F>(rt: &gort::Runtime, f: F) -> gort::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        rt.spawn(f)
    }
    fn go<F>(f: F) -> gort::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        gort::go(f)
    }
    fn yield_now() -> impl Future<Output = ()> + Send + 'static {
        gort::yield_now()
    }
    fn sleep(d: Duration) -> gort::time::Sleep {
        gort::time::sleep(d)
    }
    fn unconstrained<F: Future + Send>(f: F) -> impl Future<Output = F::Output> + Send {
        f
    }
}

pub enum Tokio {}

impl Peer for Tokio {
    const NAME: &'static str = "tokio";
    type Rt = tokio::runtime::Runtime;
    type JoinError = tokio::task::JoinError;
    type Join<T: Send + 'static> = tokio::task::JoinHandle<T>;
    type Sleep = tokio::time::Sleep;

    fn build(workers: usize) -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()
            .expect("build tokio runtime")
    }
    fn block_on<F: Future>(rt: &tokio::runtime::Runtime, f: F) -> F::Output {
        rt.block_on(f)
    }
    fn spawn<F>(rt: &tokio::runtime::Runtime, f: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        rt.spawn(f)
    }
    fn go<F>(f: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        tokio::spawn(f)
    }
    fn yield_now() -> impl Future<Output = ()> + Send + 'static {
        tokio::task::yield_now()
    }
    fn sleep(d: Duration) -> tokio::time::Sleep {
        tokio::time::sleep(d)
    }
    fn unconstrained<F: Future + Send>(f: F) -> impl Future<Output = F::Output> + Send {
        tokio::task::unconstrained(f)
    }
}
