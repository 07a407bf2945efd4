// Command gortbench measures the Go runtime on the same workloads as gort's
// Rust criterion benches (benches/scheduler.rs, benches/timers.rs), so the
// numbers can be quoted side by side. Standard library only.
//
// Usage: gortbench [-warmup=N] <workload>
//
// Runs exactly one workload and prints a single line of key=value pairs to
// stdout (the driver run.sh collects them and reports medians). Run one
// process per workload per repetition: the memory workloads read the
// process-wide peak RSS (VmHWM) from /proc/self/status.
//
// CPU workloads are preceded by -warmup untimed iterations (default 1) so the
// measurement reflects a warm runtime (goroutine stacks and g structures on
// the free lists), as criterion's warm-up phase does for the Rust side.
// The memory workloads (sleeps_100k, parked_100k) never warm up.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	skynetLeaves   = 1_000_000
	skynetExpected = int64(499_999_500_000)

	spawnMany     = 100_000
	yieldTasks    = 1_000
	yieldPerTask  = 200
	chainDepth    = 1_000
	chainIters    = 100 // chains per measurement; mean reported
	pingPongTrips = 100_000
	timerCount    = 1_000_000
	sleepTasks    = 100_000
	sleepDur      = 10 * time.Millisecond
	parkedTasks   = 100_000
)

func die(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "gortbench: "+format+"\n", args...)
	os.Exit(1)
}

// ---------------------------------------------------------------- skynet

// skynetJoined: each child writes its sum into its own slot, the parent
// waits on a WaitGroup (emulates spawning + joining 10 tasks).
func skynetJoined(num, size int64) int64 {
	if size == 1 {
		return num
	}
	var wg sync.WaitGroup
	var res [10]int64
	sub := size / 10
	wg.Add(10)
	for i := int64(0); i < 10; i++ {
		go func(i int64) {
			res[i] = skynetJoined(num+i*sub, sub)
			wg.Done()
		}(i)
	}
	wg.Wait()
	var sum int64
	for _, v := range res {
		sum += v
	}
	return sum
}

// skynetChan: the classic variant; children send their sum to the parent
// over a (buffered, as in the original benchmark) channel.
func skynetChan(c chan<- int64, num, size int64) {
	if size == 1 {
		c <- num
		return
	}
	rc := make(chan int64, 10)
	sub := size / 10
	for i := int64(0); i < 10; i++ {
		go skynetChan(rc, num+i*sub, sub)
	}
	var sum int64
	for i := 0; i < 10; i++ {
		sum += <-rc
	}
	c <- sum
}

func runSkynetJoined() int64 {
	done := make(chan int64, 1)
	go func() { done <- skynetJoined(0, skynetLeaves) }()
	return <-done
}

func runSkynetChan() int64 {
	c := make(chan int64, 1)
	go skynetChan(c, 0, skynetLeaves)
	return <-c
}

// ---------------------------------------------------------------- scheduler

func runSpawnMany() {
	done := make(chan struct{})
	var remaining int64 = spawnMany
	go func() {
		for i := 0; i < spawnMany; i++ {
			go func() {
				if atomic.AddInt64(&remaining, -1) == 0 {
					close(done)
				}
			}()
		}
	}()
	<-done
}

func runYieldMany() {
	var wg sync.WaitGroup
	wg.Add(yieldTasks)
	for i := 0; i < yieldTasks; i++ {
		go func() {
			for j := 0; j < yieldPerTask; j++ {
				runtime.Gosched()
			}
			wg.Done()
		}()
	}
	wg.Wait()
}

func chainLink(n int, done chan<- struct{}) {
	if n == 0 {
		done <- struct{}{}
		return
	}
	go chainLink(n-1, done)
}

func runChainedSpawn() {
	done := make(chan struct{})
	go chainLink(chainDepth-1, done) // chainDepth goroutines in total
	<-done
}

func runPingPong() {
	ping := make(chan struct{})
	pong := make(chan struct{})
	go func() {
		for range ping {
			pong <- struct{}{}
		}
	}()
	for i := 0; i < pingPongTrips; i++ {
		ping <- struct{}{}
		<-pong
	}
	close(ping)
}

// ---------------------------------------------------------------- timers

func runTimersCreateCancel() {
	for i := 0; i < timerCount; i++ {
		t := time.NewTimer(time.Hour)
		t.Stop()
	}
}

// ---------------------------------------------------------------- memory

// procStatusKiB returns the given field (e.g. "VmHWM") of /proc/self/status in KiB.
func procStatusKiB(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		die("open /proc/self/status: %v", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		if strings.HasPrefix(line, field+":") {
			fs := strings.Fields(line[len(field)+1:])
			if len(fs) < 1 {
				break
			}
			v, err := strconv.ParseInt(fs[0], 10, 64)
			if err != nil {
				die("parse %s: %v", field, err)
			}
			return v
		}
	}
	die("field %s not found in /proc/self/status", field)
	return 0
}

func runSleeps() {
	base := procStatusKiB("VmRSS")
	var wg sync.WaitGroup
	wg.Add(sleepTasks)
	start := time.Now()
	for i := 0; i < sleepTasks; i++ {
		go func() {
			time.Sleep(sleepDur)
			wg.Done()
		}()
	}
	wg.Wait()
	el := time.Since(start)
	peak := procStatusKiB("VmHWM")
	fmt.Printf("ms=%.2f peak_rss_kib=%d base_rss_kib=%d\n",
		float64(el.Nanoseconds())/1e6, peak, base)
}

func runParked() {
	runtime.GC()
	debug.FreeOSMemory()
	base := procStatusKiB("VmRSS")

	// Each goroutine gets its own channel (counted in the per-goroutine cost).
	chans := make([]chan struct{}, parkedTasks)
	var started, finished sync.WaitGroup
	started.Add(parkedTasks)
	finished.Add(parkedTasks)
	for i := range chans {
		c := make(chan struct{})
		chans[i] = c
		go func() {
			started.Done()
			<-c
			finished.Done()
		}()
	}
	started.Wait()
	// Let the last goroutines reach the receive and park.
	for runtime.NumGoroutine() < parkedTasks+1 {
		runtime.Gosched()
	}
	time.Sleep(20 * time.Millisecond)
	peak := procStatusKiB("VmHWM")

	start := time.Now()
	for _, c := range chans {
		c <- struct{}{}
	}
	finished.Wait()
	wake := time.Since(start)

	perTask := float64((peak-base)*1024) / parkedTasks
	fmt.Printf("bytes_per_task=%.1f peak_rss_kib=%d base_rss_kib=%d wake_all_ms=%.2f\n",
		perTask, peak, base, float64(wake.Nanoseconds())/1e6)
}

// ---------------------------------------------------------------- main

func timed(warmup int, f func()) time.Duration {
	for i := 0; i < warmup; i++ {
		f()
	}
	start := time.Now()
	f()
	return time.Since(start)
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

func main() {
	warmup := flag.Int("warmup", 1, "untimed warm-up iterations for CPU workloads")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: gortbench [-warmup=N] <skynet_joined|skynet_chan|spawn_many|yield_many|chained_spawn|ping_pong|timers_create_cancel|sleeps_100k|parked_100k|blocking>")
		os.Exit(2)
	}
	switch w := flag.Arg(0); w {
	case "skynet_joined", "skynet_chan":
		run := runSkynetJoined
		if w == "skynet_chan" {
			run = runSkynetChan
		}
		var sum int64
		d := timed(*warmup, func() {
			sum = run()
			if sum != skynetExpected {
				die("%s: wrong sum %d, want %d", w, sum, skynetExpected)
			}
		})
		fmt.Printf("ms=%.2f\n", ms(d))
	case "spawn_many":
		d := timed(*warmup, runSpawnMany)
		fmt.Printf("ns_per_task=%.1f ms=%.2f\n", float64(d.Nanoseconds())/spawnMany, ms(d))
	case "yield_many":
		d := timed(*warmup, runYieldMany)
		fmt.Printf("ns_per_yield=%.1f ms=%.2f\n", float64(d.Nanoseconds())/(yieldTasks*yieldPerTask), ms(d))
	case "chained_spawn":
		d := timed(*warmup, func() {
			for i := 0; i < chainIters; i++ {
				runChainedSpawn()
			}
		})
		fmt.Printf("us=%.2f\n", float64(d.Nanoseconds())/1e3/chainIters)
	case "ping_pong":
		d := timed(*warmup, runPingPong)
		fmt.Printf("ms=%.2f ns_per_roundtrip=%.1f\n", ms(d), float64(d.Nanoseconds())/pingPongTrips)
	case "timers_create_cancel":
		d := timed(*warmup, runTimersCreateCancel)
		fmt.Printf("ns_per_timer=%.1f ms=%.2f\n", float64(d.Nanoseconds())/timerCount, ms(d))
	case "sleeps_100k":
		runSleeps()
	case "parked_100k":
		runParked()
	case "blocking":
		b, a := runBlocking()
		fmt.Printf("ms=%.2f blockers_done_ms=%.2f\n", ms(a), ms(b))
	default:
		die("unknown workload %q", w)
	}
}
