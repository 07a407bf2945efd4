//! Compile-time properties of the API (what user code must be able to write), checked
//! by compiling small programs against this build of gort-channels with `rustc`, so
//! that one failing property fails one test instead of breaking the whole build.
//!
//! Each snippet is type-checked only (`--emit=metadata`), as a library crate, against
//! the `libgort_channels-*.rlib` next to this test binary (the newest one: the one
//! this binary was just linked with).

use std::path::{Path, PathBuf};
use std::process::Command;

fn deps_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent().expect("the deps directory").to_path_buf()
}

fn newest_rlib(deps: &Path) -> PathBuf {
    let mut best: Option<(std::time::SystemTime, PathBuf)> = None;
    for e in std::fs::read_dir(deps).expect("read deps") {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("libgort_channels-") && name.ends_with(".rlib") {
            let t = p.metadata().unwrap().modified().unwrap();
            if best.as_ref().map_or(true, |(bt, _)| t > *bt) {
                best = Some((t, p));
            }
        }
    }
    best.expect("libgort_channels-*.rlib next to the test binary")
        .1
}

/// Type-checks `src` as a library crate using gort_channels. `Err(compiler output)`.
fn check(name: &str, src: &str) -> Result<(), String> {
    let deps = deps_dir();
    let rlib = newest_rlib(&deps);
    let dir = std::env::temp_dir().join(format!(
        "gort-channels-compile-{}-{name}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("lib.rs");
    std::fs::write(&file, format!("#![allow(unused, unreachable_code)]\n{src}")).unwrap();
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(rustc)
        .args([
            "--edition",
            "2021",
            "--crate-type",
            "lib",
            "--emit=metadata",
            "--crate-name",
            "snippet",
        ])
        .arg("-L")
        .arg(format!("dependency={}", deps.display()))
        .arg("--extern")
        .arg(format!("gort_channels={}", rlib.display()))
        .arg("--out-dir")
        .arg(&dir)
        .arg(&file)
        .output()
        .expect("run rustc");
    let _ = std::fs::remove_dir_all(&dir);
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn must_compile(name: &str, src: &str) {
    if let Err(e) = check(name, src) {
        panic!("`{name}` does not compile:\n{src}\n--- rustc:\n{e}");
    }
}

fn must_not_compile(name: &str, src: &str, expect_in_error: &str) {
    match check(name, src) {
        Ok(()) => panic!("`{name}` compiles but must not:\n{src}"),
        Err(e) => assert!(
            e.contains(expect_in_error),
            "`{name}` fails for another reason than {expect_in_error:?}:\n{e}"
        ),
    }
}

/// The harness itself works (a trivially good and a trivially bad snippet).
#[test]
fn harness_sanity() {
    must_compile(
        "sanity_ok",
        "pub fn f() { let (_t, _r) = gort_channels::bounded::<i32>(1); }",
    );
    must_not_compile(
        "sanity_bad",
        "pub fn f() { let x: i32 = \"no\"; }",
        "mismatched types",
    );
}

/// crossbeam's arm syntax: a block body may be followed by a comma, before more arms
/// or at the end (`recv(rx) -> v => { .. },`).
#[test]
fn select_block_bodies_with_commas() {
    must_compile(
        "block_comma",
        r#"
        pub async fn f(a: gort_channels::Receiver<i32>, b: gort_channels::Sender<i32>) -> i32 {
            gort_channels::select! {
                recv(a) -> v => { v.unwrap_or(0) },
                send(b, 1) -> r => { r.unwrap(); 1 },
                default => { 2 },
            }
        }
        "#,
    );
}

/// The same, one arm at a time (to tell which position breaks).
#[test]
fn select_block_body_comma_then_arm() {
    must_compile(
        "block_comma_then_arm",
        r#"
        pub async fn f(a: gort_channels::Receiver<i32>, c: gort_channels::Receiver<i32>) {
            gort_channels::select! {
                recv(a) -> _ => {},
                recv(c) -> _ => {}
            }
        }
        "#,
    );
}

#[test]
fn select_block_body_trailing_comma() {
    must_compile(
        "block_trailing_comma",
        r#"
        pub async fn f(a: gort_channels::Receiver<i32>) {
            gort_channels::select! {
                recv(a) -> _ => {},
            }
        }
        "#,
    );
}

/// Bodies without commas, expression bodies with commas, mixed: all fine.
#[test]
fn select_other_arm_forms() {
    must_compile(
        "arm_forms",
        r#"
        pub async fn f(a: gort_channels::Receiver<i32>, b: gort_channels::Sender<i32>) -> i32 {
            let x = gort_channels::select! {
                recv(a) -> v => v.unwrap_or(0),
                send(b, 1) -> _ => 1,
                default => 2
            };
            let y = gort_channels::select! {
                recv(a) -> v => { v.unwrap_or(0) }
                default => { 2 }
                send(b, 1) -> _ => { 1 }
            };
            gort_channels::select! { default => {} }
            x + y
        }
        "#,
    );
}

/// A future that awaits `select!` is `Send` when its channels' values are, so it can
/// be spawned on a work-stealing runtime (`gort::go` asks for `Send`).
#[test]
fn select_future_is_send() {
    must_compile(
        "select_send",
        r#"
        fn assert_send<F: std::future::Future + Send>(_: F) {}
        pub fn f(rx: gort_channels::Receiver<i32>, tx: gort_channels::Sender<i32>) {
            assert_send(async move {
                gort_channels::select! {
                    recv(rx) -> v => v,
                    send(tx, 1) -> _ => None,
                }
            });
        }
        "#,
    );
}

/// The same for one arm and for default-only selects (no case array).
#[test]
fn select_future_is_send_one_arm() {
    must_compile(
        "select_send_one",
        r#"
        fn assert_send<F: std::future::Future + Send>(_: F) {}
        pub fn f(rx: gort_channels::Receiver<i32>) {
            assert_send(async move {
                gort_channels::select! { recv(rx) -> v => v }
            });
        }
        "#,
    );
}

/// A future that awaits the dynamic `Select` is `Send` too.
#[test]
fn dynamic_select_future_is_send() {
    must_compile(
        "dyn_select_send",
        r#"
        fn assert_send<F: std::future::Future + Send>(_: F) {}
        pub fn f(rx: gort_channels::Receiver<i32>, tx: gort_channels::Sender<i32>) {
            assert_send(async move {
                let mut sel = gort_channels::Select::new();
                let r = sel.recv(&rx);
                let _s = sel.send(&tx);
                let op = sel.select().await;
                if op.index() == r { op.recv(&rx) } else { op.send(&tx, 1).ok(); None }
            });
        }
        "#,
    );
}

/// Plain `send`/`recv` futures are `Send` (they are).
#[test]
fn send_recv_futures_are_send() {
    must_compile(
        "fut_send",
        r#"
        fn assert_send<F: std::future::Future + Send>(_: F) {}
        pub fn f(rx: gort_channels::Receiver<String>, tx: gort_channels::Sender<String>) {
            assert_send(async move {
                tx.send("a".into()).await.ok();
                rx.recv().await
            });
        }
        "#,
    );
}

/// Every public type implements `Debug` (STYLE.md), without asking `T: Debug`: the
/// iterators too.
#[test]
fn iterators_debug_without_t_debug() {
    must_compile(
        "iter_debug",
        r#"
        pub struct Opaque;
        pub fn f(rx: gort_channels::Receiver<Opaque>) {
            let _ = format!("{:?} {:?}", rx.iter(), rx.try_iter());
            let _ = format!("{:?}", rx.into_iter());
        }
        "#,
    );
}

/// Operands are borrowed, not moved: the channels are usable after the select.
#[test]
fn select_borrows_operands() {
    must_compile(
        "borrows",
        r#"
        pub struct S { rx: gort_channels::Receiver<i32>, txs: Vec<gort_channels::Sender<i32>> }
        impl S {
            pub async fn f(&self, i: usize) -> Option<i32> {
                let v = gort_channels::select! {
                    recv(self.rx) -> v => v,
                    recv(&self.rx) -> v => v,
                    send(self.txs[i], 1) -> _ => None,
                    send(&self.txs[0], 2) -> _ => None,
                };
                let _ = self.rx.try_recv();
                v
            }
        }
        "#,
    );
}

/// Two `default` arms are refused with a clear message.
#[test]
fn two_defaults_refused() {
    must_not_compile(
        "two_defaults",
        r#"
        pub async fn f(a: gort_channels::Receiver<i32>) {
            gort_channels::select! { recv(a) -> _ => (), default => (), default => () }
        }
        "#,
        "more than one `default`",
    );
}

/// `select!` is for async code only.
#[test]
fn select_outside_async_refused() {
    must_not_compile(
        "not_async",
        r#"
        pub fn f(a: gort_channels::Receiver<i32>) {
            gort_channels::select! { recv(a) -> _ => () }
        }
        "#,
        "async",
    );
}
