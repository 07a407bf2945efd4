fn main() {
    let rt = gort::Runtime::builder().procs(2).build().unwrap();
    for _ in 0..30 {
        rt.block_on(async {
            let hs: Vec<_> = (0..1000)
                .map(|_| {
                    gort::go(async {
                        for _ in 0..200 {
                            gort::yield_now().await
                        }
                    })
                })
                .collect();
            for h in hs {
                h.await.unwrap();
            }
        });
    }
}
