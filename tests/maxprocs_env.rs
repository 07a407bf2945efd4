//! `GORT_MAXPROCS`: sets the number of Ps when `Builder::procs` is not given, and a
//! bad value is an `InvalidInput` error. Environment variables are process-global, so
//! every case runs in this one test, in its own test binary (own process).

use std::io::ErrorKind;

fn procs_with_env(value: Option<&str>) -> std::io::Result<usize> {
    match value {
        Some(v) => std::env::set_var("GORT_MAXPROCS", v),
        None => std::env::remove_var("GORT_MAXPROCS"),
    }
    let rt = gort::Runtime::builder().build()?;
    let procs = rt.metrics().procs;
    assert_eq!(rt.metrics().local_queue_lens.len(), procs);
    // The runtime works with that many Ps.
    let sum = rt.block_on(async {
        let hs: Vec<_> = (0..100u32).map(|i| gort::go(async move { i })).collect();
        let mut s = 0;
        for h in hs {
            s += h.await.unwrap();
        }
        s
    });
    assert_eq!(sum, 4950);
    Ok(procs)
}

#[test]
fn maxprocs_env() {
    // Valid values.
    assert_eq!(procs_with_env(Some("3")).unwrap(), 3);
    assert_eq!(procs_with_env(Some("1")).unwrap(), 1);
    assert_eq!(procs_with_env(Some("17")).unwrap(), 17);
    assert_eq!(
        procs_with_env(Some(" 5 ")).unwrap(),
        5,
        "surrounding spaces are trimmed"
    );

    // Runtime::new reads it too.
    std::env::set_var("GORT_MAXPROCS", "3");
    assert_eq!(gort::Runtime::new().unwrap().metrics().procs, 3);

    // Invalid values: an InvalidInput error naming the variable.
    for bad in ["0", "", "abc", "-1", "2.5", "3x", "99999999999999999999999"] {
        let err = procs_with_env(Some(bad)).expect_err(bad);
        assert_eq!(
            err.kind(),
            ErrorKind::InvalidInput,
            "GORT_MAXPROCS={bad:?}: {err}"
        );
        assert!(
            err.to_string().contains("GORT_MAXPROCS"),
            "GORT_MAXPROCS={bad:?}: the error should name the variable: {err}"
        );
        assert!(
            gort::Runtime::new().is_err(),
            "Runtime::new with GORT_MAXPROCS={bad:?}"
        );
        // gort::run cannot build its runtime: it panics, saying why.
        let msg = std::panic::catch_unwind(|| gort::run(async {})).unwrap_err();
        let msg = msg.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(msg.contains("GORT_MAXPROCS"), "gort::run panic: {msg}");
    }

    // An explicit Builder::procs wins over the environment, even a bad one.
    std::env::set_var("GORT_MAXPROCS", "abc");
    let rt = gort::Runtime::builder().procs(2).build().unwrap();
    assert_eq!(rt.metrics().procs, 2);
    drop(rt);
    std::env::set_var("GORT_MAXPROCS", "3");
    let rt = gort::Runtime::builder().procs(2).build().unwrap();
    assert_eq!(rt.metrics().procs, 2);
    drop(rt);

    // Unset: the available parallelism.
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(procs_with_env(None).unwrap(), cpus);

    // GORT_SCHEDTRACE is checked the same way.
    std::env::set_var("GORT_SCHEDTRACE", "soon");
    let err = gort::Runtime::builder().procs(1).build().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains("GORT_SCHEDTRACE"), "{err}");
    std::env::set_var("GORT_SCHEDTRACE", "0");
    assert!(gort::Runtime::builder().procs(1).build().is_err());
    std::env::remove_var("GORT_SCHEDTRACE");
    assert!(gort::Runtime::builder().procs(1).build().is_ok());
}
