// Command benchgen writes the inputs of `make bench` (scripts/bench.sh),
// deterministically: the same flags give the same bytes on every machine,
// whatever the number of cores.
//
//	benchgen tree -out DIR [-mb 200] [-seed 1]
//	    DIR/root/opt/bench/...   a payload tree of about -mb MiB: thousands of
//	                             small files (text-like, binary-like, some
//	                             already compressed) and a few large ones
//	    DIR/root/DEBIAN/control  so that `dpkg-deb --build DIR/root` packages it
//	    DIR/bench.yaml           an nfpm-style spec packaging the same tree
//	                             for `debflow build`
//
//	benchgen debs -n N -out DIR [-seed 1]
//	    N small, valid, distinct .deb files pkg00000 ... (amd64, every tenth
//	    one Architecture: all) with realistic control stanzas and gzip members,
//	    written in parallel. They are assembled in memory with reused gzip
//	    writers rather than with build.WriteDeb, whose parallel compressors
//	    and spool file cost far more than such tiny packages: 10,000 take
//	    seconds.
//
//	benchgen debs -ci K -out DIR [-seed 1]
//	    K "CI builds": newer versions of pkg00001 ... pkg0000K, each sorting
//	    above the version `debs -n N` gives that package.
//
// It is a benchmark tool, not part of debflow.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "tree":
		err = runTree(os.Args[2:])
	case "debs":
		err = runDebs(os.Args[2:])
	case "-h", "-help", "--help", "help":
		usage()
	default:
		fmt.Fprintf(os.Stderr, "benchgen: unknown command %q\n", os.Args[1])
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "benchgen: %v\n", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprint(os.Stderr, `usage:
  benchgen tree -out DIR [-mb 200] [-seed 1]
  benchgen debs -n N -out DIR [-seed 1]
  benchgen debs -ci K -out DIR [-seed 1]
`)
	os.Exit(2)
}

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("benchgen "+name, flag.ExitOnError)
	return fs
}

// parallel runs fn(0) ... fn(n-1) on GOMAXPROCS workers and returns the
// first error. The results never depend on the number of workers: every
// item derives its randomness from its own index.
func parallel(n int, fn func(i int) error) error {
	workers := runtime.GOMAXPROCS(0)
	if workers > n {
		workers = n
	}
	var (
		next     atomic.Int64
		failed   atomic.Bool
		firstErr error
		once     sync.Once
		wg       sync.WaitGroup
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { firstErr = err })
					failed.Store(true)
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}
