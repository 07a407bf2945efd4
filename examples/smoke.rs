use std::time::{Duration, Instant};
fn main() {
    let rt = gort::Runtime::builder().procs(2).build().unwrap();
    let t = Instant::now();
    let v = rt.block_on(async {
        let hs: Vec<_> = (0..100_000u64)
            .map(|i| gort::go(async move { i }))
            .collect();
        let mut s = 0;
        for h in hs {
            s += h.await.unwrap();
        }
        s
    });
    println!("sum {v} in {:?}", t.elapsed());
    let t = Instant::now();
    rt.block_on(async { gort::time::sleep(Duration::from_millis(10)).await });
    println!("sleep 10ms took {:?}", t.elapsed());
    let t = Instant::now();
    let n = rt.block_on(async {
        let hs: Vec<_> = (0..10_000)
            .map(|_| {
                gort::go(async {
                    gort::time::sleep(Duration::from_millis(10)).await;
                    1
                })
            })
            .collect();
        let mut s = 0;
        for h in hs {
            s += h.await.unwrap();
        }
        s
    });
    println!("10k sleeps {n} took {:?}", t.elapsed());
    println!("{:?}", rt.metrics());
}
