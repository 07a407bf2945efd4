use gort_channels::{bounded, select, unbounded, Select};
use std::thread;

#[test]
fn blocking_fifo_all_caps() {
    for cap in [0usize, 1, 2, 16] {
        let (tx, rx) = bounded(cap);
        let h = thread::spawn(move || {
            for i in 0..1000 {
                tx.send_blocking(i).unwrap();
            }
        });
        for i in 0..1000 {
            assert_eq!(rx.recv_blocking(), Some(i));
        }
        h.join().unwrap();
        assert_eq!(rx.recv_blocking(), None);
    }
}

#[test]
fn mpmc_no_loss() {
    let (tx, rx) = bounded::<usize>(0);
    let senders: Vec<_> = (0..4)
        .map(|t| {
            let tx = tx.clone();
            thread::spawn(move || {
                for i in 0..5000 {
                    tx.send_blocking(t * 5000 + i).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let receivers: Vec<_> = (0..4)
        .map(|_| {
            let rx = rx.clone();
            thread::spawn(move || rx.iter().collect::<Vec<_>>())
        })
        .collect();
    for s in senders {
        s.join().unwrap();
    }
    let mut all: Vec<usize> = receivers
        .into_iter()
        .flat_map(|r| r.join().unwrap())
        .collect();
    all.sort();
    assert_eq!(all, (0..20000).collect::<Vec<_>>());
}

#[test]
fn dynamic_select_send_recv() {
    let (tx, rx) = bounded::<i32>(0);
    let h = thread::spawn(move || rx.recv_blocking());
    let mut sel = Select::new();
    let i = sel.send(&tx);
    let op = sel.select_blocking();
    assert_eq!(op.index(), i);
    op.send(&tx, 9).unwrap();
    assert_eq!(h.join().unwrap(), Some(9));
    let (_tx, rx) = unbounded::<i32>();
    let mut sel = Select::new();
    sel.recv(&rx);
    assert!(sel.try_select().is_err());
}

#[test]
fn macro_select_blocking_executor() {
    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        struct T(thread::Thread);
        impl std::task::Wake for T {
            fn wake(self: std::sync::Arc<Self>) {
                self.0.unpark()
            }
        }
        let w = std::task::Waker::from(std::sync::Arc::new(T(thread::current())));
        let mut cx = std::task::Context::from_waker(&w);
        let mut f = std::pin::pin!(f);
        loop {
            if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
            thread::park();
        }
    }
    let (tx1, rx1) = bounded::<i32>(0);
    let (tx2, rx2) = bounded::<i32>(0);
    let keep = tx1.clone();
    let h = thread::spawn(move || {
        tx2.send_blocking(2).unwrap();
        tx1.send_blocking(1).unwrap();
    });
    let mut got = vec![];
    block_on(async {
        for _ in 0..2 {
            let v = select! {
                recv(rx1) -> v => v.unwrap(),
                recv(rx2) -> v => v.unwrap(),
            };
            got.push(v);
        }
        let x = select! { recv(rx1) -> _ => 0, default => 5 };
        assert_eq!(x, 5);
    });
    h.join().unwrap();
    drop(keep);
    assert_eq!(got, vec![2, 1]);
}
