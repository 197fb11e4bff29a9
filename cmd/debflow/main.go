// Command debflow carries a Debian package from a git commit to a fleet of
// devices: build, publish, snapshot, promote. See the README.
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
)

// version is set by the linker: -ldflags "-X main.version=...". When it is
// not (go install), the module version from the build info is used.
var version = "dev"

func main() {
	stop := startProfile(os.Getenv("DEBFLOW_CPUPROFILE"))
	rc := Execute(binaryVersion(version, debug.ReadBuildInfo), os.Args[1:], defaultEnv())
	stop()
	writeHeapProfile(os.Getenv("DEBFLOW_MEMPROFILE"))
	os.Exit(rc)
}

// startProfile writes a CPU profile of the whole command to file, when one
// is named (DEBFLOW_CPUPROFILE=cpu.out debflow publish ...; then go tool
// pprof cpu.out): a benchmark's whole process, as make bench times it.
func startProfile(file string) (stop func()) {
	if file == "" {
		return func() {}
	}
	f, err := os.Create(file)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "debflow: DEBFLOW_CPUPROFILE: %v\n", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// writeHeapProfile writes the heap profile as of the last garbage
// collection to file, when one is named (DEBFLOW_MEMPROFILE=mem.out; go
// tool pprof -sample_index=inuse_space mem.out).
func writeHeapProfile(file string) {
	if file == "" {
		return
	}
	// The profile holds the allocations up to the last completed
	// collection: without this one, those of the command's last phase
	// would be missing.
	runtime.GC()
	f, err := os.Create(file)
	if err == nil {
		err = pprof.Lookup("heap").WriteTo(f, 0)
		f.Close()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "debflow: DEBFLOW_MEMPROFILE: %v\n", err)
	}
}

// binaryVersion returns the version set by ldflags, else the module version
// that the go command recorded ("v1.2.3" for go install ...@v1.2.3, a
// pseudo-version for a commit), else "dev".
func binaryVersion(ldflags string, readBuildInfo func() (*debug.BuildInfo, bool)) string {
	if ldflags != "" && ldflags != "dev" {
		return ldflags
	}
	if bi, ok := readBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
