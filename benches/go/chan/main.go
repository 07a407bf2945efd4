// Command gortchanbench measures Go's channels on the same workloads as gort's
// channel benches (benches/channels.rs), so the numbers can be quoted side by
// side. Standard library only; run with GOMAXPROCS=2 (run.sh sets it).
//
// Usage: gortchanbench [-warmup=N] [-min-ms=M] <workload>
//
// Workloads (messages are ints; each timed iteration starts its goroutines
// afresh, as the Rust side spawns its tasks afresh):
//
//	spsc_<cap>      1 producer -> 1 consumer
//	mpsc_<cap>      4 producers -> 1 consumer
//	mpmc_<cap>      4 producers -> 4 consumers
//	                <cap> is cap0, cap1, cap64 or unbounded; Go has no unbounded
//	                channel, so "unbounded" is a buffer as large as the message
//	                count: no send ever waits, as with an unbounded channel
//	                (the buffer is allocated per iteration, like the Rust side's
//	                growing buffer).
//	                Consumers range over the channel; the last producer to
//	                finish closes it (Rust: the last Sender dropped).
//	select2_cap64   2 producers, each on its own cap-64 channel; one consumer
//	                receives every value through a 2-way select.
//	ping_pong_cap0, ping_pong_cap1
//	                the driver goroutine sends i on a, an echo goroutine sends
//	                it back on b; reported per round trip.
//
// Runs -warmup untimed iterations, then timed iterations until at least
// -min-ms have passed (and at least 3 iterations), and prints one line:
// ns_per_msg=X iters=K (ping_pong: ns_per_trip=X iters=K). The count and
// sum of every iteration are checked after the timer stops.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Keep these equal to the constants in benches/channels.rs.
const (
	msgs         = 100_000 // producer/consumer and select, cap 64 and unbounded
	msgsSmallCap = 20_000  // producer/consumer at cap 0 and 1
	trips        = 10_000  // ping_pong round trips
	fan          = 4       // producers (and mpmc consumers)
)

func die(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "gortchanbench: "+format+"\n", args...)
	os.Exit(1)
}

type tally struct {
	count int
	sum   int64
}

func expected(n int) tally {
	return tally{count: n, sum: int64(n) * int64(n-1) / 2}
}

// pc: producers -> consumers over one channel of capacity c.
func pc(producers, consumers, c, n int) tally {
	per := n / producers
	ch := make(chan int, c)
	results := make([]tally, consumers)
	var cwg sync.WaitGroup
	cwg.Add(consumers)
	for i := 0; i < consumers; i++ {
		go func(i int) {
			var t tally
			for v := range ch {
				t.count++
				t.sum += int64(v)
			}
			results[i] = t
			cwg.Done()
		}(i)
	}
	left := int32(producers)
	for p := 0; p < producers; p++ {
		go func(p int) {
			for v := p * per; v < (p+1)*per; v++ {
				ch <- v
			}
			if atomic.AddInt32(&left, -1) == 0 {
				close(ch)
			}
		}(p)
	}
	cwg.Wait()
	var total tally
	for _, t := range results {
		total.count += t.count
		total.sum += t.sum
	}
	return total
}

// select2: two producers on their own cap-64 channels; one consumer selects n
// times. Neither channel is closed.
func select2(n int) tally {
	half := n / 2
	c1 := make(chan int, 64)
	c2 := make(chan int, 64)
	done := make(chan tally)
	go func() {
		var t tally
		for i := 0; i < n; i++ {
			var v int
			select {
			case v = <-c1:
			case v = <-c2:
			}
			t.count++
			t.sum += int64(v)
		}
		done <- t
	}()
	go func() {
		for v := 0; v < half; v++ {
			c1 <- v
		}
	}()
	go func() {
		for v := half; v < n; v++ {
			c2 <- v
		}
	}()
	return <-done
}

// pingPong: n round trips between the calling goroutine and an echo goroutine.
func pingPong(c, n int) tally {
	a := make(chan int, c)
	b := make(chan int, c)
	echoed := make(chan int)
	go func() {
		k := 0
		for v := range a {
			b <- v
			k++
		}
		echoed <- k
	}()
	var t tally
	for i := 0; i < n; i++ {
		a <- i
		v := <-b
		t.count++
		t.sum += int64(v)
	}
	close(a)
	if k := <-echoed; k != n {
		die("ping_pong: echo saw %d of %d", k, n)
	}
	return t
}

func parseCap(s string) (int, bool) {
	switch s {
	case "cap0":
		return 0, true
	case "cap1":
		return 1, true
	case "cap64":
		return 64, true
	case "unbounded":
		return -1, true
	}
	return 0, false
}

func main() {
	warmup := flag.Int("warmup", 1, "untimed warm-up iterations")
	minMs := flag.Int("min-ms", 500, "time iterations for at least this long")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: gortchanbench [-warmup=N] [-min-ms=M] <spsc|mpsc|mpmc>_<cap0|cap1|cap64|unbounded> | select2_cap64 | ping_pong_<cap0|cap1>")
		os.Exit(2)
	}
	w := flag.Arg(0)

	var run func() tally
	n := 0
	unit := "ns_per_msg"
	switch {
	case strings.HasPrefix(w, "ping_pong_"):
		c, ok := parseCap(strings.TrimPrefix(w, "ping_pong_"))
		if !ok || c < 0 || c > 1 {
			die("unknown workload %q", w)
		}
		n = trips
		unit = "ns_per_trip"
		run = func() tally { return pingPong(c, n) }
	case w == "select2_cap64":
		n = msgs
		run = func() tally { return select2(n) }
	default:
		i := strings.IndexByte(w, '_')
		if i < 0 {
			die("unknown workload %q", w)
		}
		c, ok := parseCap(w[i+1:])
		if !ok {
			die("unknown workload %q", w)
		}
		n = msgs
		if c == 0 || c == 1 {
			n = msgsSmallCap
		}
		if c < 0 {
			c = n // "unbounded": room for every message
		}
		var producers, consumers int
		switch w[:i] {
		case "spsc":
			producers, consumers = 1, 1
		case "mpsc":
			producers, consumers = fan, 1
		case "mpmc":
			producers, consumers = fan, fan
		default:
			die("unknown workload %q", w)
		}
		run = func() tally { return pc(producers, consumers, c, n) }
	}

	want := expected(n)
	for i := 0; i < *warmup; i++ {
		if got := run(); got != want {
			die("%s warm-up: got %+v, want %+v", w, got, want)
		}
	}
	var got []tally
	minD := time.Duration(*minMs) * time.Millisecond
	start := time.Now()
	for len(got) < 3 || time.Since(start) < minD {
		got = append(got, run())
	}
	d := time.Since(start)
	for i, t := range got {
		if t != want {
			die("%s iteration %d: got %+v, want %+v", w, i, t, want)
		}
	}
	iters := len(got)
	fmt.Printf("%s=%.1f iters=%d\n", unit, float64(d.Nanoseconds())/float64(iters*n), iters)
}
