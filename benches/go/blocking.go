package main

import (
	"runtime"
	"sync"
	"syscall"
	"time"
)

// The blocking workload of issue 4 (benches/blocking.rs): 16 goroutines each block
// five times in a 20 ms system call (nanosleep), beside two goroutines that spin for
// 200 ms in 50 µs slices with runtime.Gosched between. Returns when the blocking
// goroutines finished and when everything did.
func runBlocking() (blockersDone, allDone time.Duration) {
	start := time.Now()
	var cpus, sleepers sync.WaitGroup
	for i := 0; i < 2; i++ {
		cpus.Add(1)
		go func() {
			defer cpus.Done()
			end := time.Now().Add(200 * time.Millisecond)
			for time.Now().Before(end) {
				spin := time.Now().Add(50 * time.Microsecond)
				for time.Now().Before(spin) {
				}
				runtime.Gosched()
			}
		}()
	}
	for i := 0; i < 16; i++ {
		sleepers.Add(1)
		go func() {
			defer sleepers.Done()
			for r := 0; r < 5; r++ {
				ts := syscall.NsecToTimespec(int64(20 * time.Millisecond))
				syscall.Nanosleep(&ts, nil)
				runtime.Gosched()
			}
		}()
	}
	sleepers.Wait()
	blockersDone = time.Since(start)
	cpus.Wait()
	allDone = time.Since(start)
	return
}
