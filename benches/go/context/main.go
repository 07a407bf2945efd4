// Command gortcontextbench measures Go's context on the same workloads as gort's
// context benches (benches/context.rs), so the numbers can be quoted side by side.
// Standard library only; run with GOMAXPROCS=2 (run.sh sets it).
//
// Usage: gortcontextbench [-min-ms=M] <workload>
//
// Workloads:
//
//	create_cancel_child  WithCancel on a live parent, then cancel (the child
//	                     leaves the parent's children); reports ns_per_child.
//	cancel_tree_100k     cancel the root of a tree of 100,000 descendants (100
//	                     children of 999 children each), built untimed;
//	                     reports ns_per_cancel (the whole tree).
//	done_select          a select between ctx.Done() (never ready) and a
//	                     buffered channel holding a value, in one goroutine;
//	                     reports ns_per_select.
//
// Runs timed iterations until at least -min-ms have passed (at least 3) and prints
// one line: <key>=X iters=K.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"
)

// Keep equal to the constants in benches/context.rs.
const (
	fanOut  = 100
	fanOut2 = 999
)

func die(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

func createCancelChild(n int) time.Duration {
	parent, cancelParent := context.WithCancel(context.Background())
	defer cancelParent()
	start := time.Now()
	for i := 0; i < n; i++ {
		_, cancel := context.WithCancel(parent)
		cancel()
	}
	return time.Since(start)
}

func cancelTree() time.Duration {
	root, cancel := context.WithCancel(context.Background())
	keep := make([]context.CancelFunc, 0, fanOut*(fanOut2+1))
	for i := 0; i < fanOut; i++ {
		child, cc := context.WithCancel(root)
		for j := 0; j < fanOut2; j++ {
			_, gc := context.WithCancel(child)
			keep = append(keep, gc)
		}
		keep = append(keep, cc)
	}
	start := time.Now()
	cancel()
	took := time.Since(start)
	for _, c := range keep {
		c() // no-ops: done already; keeps vet quiet
	}
	return took
}

func doneSelect(n int) time.Duration {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := ctx.Done()
	ch := make(chan int, 1)
	sum := 0
	start := time.Now()
	for i := 0; i < n; i++ {
		ch <- i
		select {
		case <-done:
			die("never cancelled")
		case v := <-ch:
			sum += v
		}
	}
	took := time.Since(start)
	if sum != n*(n-1)/2 {
		die("done_select: sum %d", sum)
	}
	return took
}

func main() {
	minMs := flag.Int("min-ms", 1000, "minimum timed duration")
	flag.Parse()
	if flag.NArg() != 1 {
		die("usage: gortcontextbench [-min-ms=M] <workload>")
	}
	w := flag.Arg(0)
	var total time.Duration
	var units int
	iters := 0
	for total < time.Duration(*minMs)*time.Millisecond || iters < 3 {
		switch w {
		case "create_cancel_child":
			total += createCancelChild(100_000)
			units += 100_000
		case "cancel_tree_100k":
			total += cancelTree()
			units++
		case "done_select":
			total += doneSelect(100_000)
			units += 100_000
		default:
			die("unknown workload %q", w)
		}
		iters++
	}
	key := map[string]string{
		"create_cancel_child": "ns_per_child",
		"cancel_tree_100k":    "ns_per_cancel",
		"done_select":         "ns_per_select",
	}[w]
	fmt.Printf("%s=%.1f iters=%d\n", key, float64(total.Nanoseconds())/float64(units), iters)
}
