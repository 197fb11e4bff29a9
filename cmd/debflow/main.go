// Command debflow carries a Debian package from a git commit to a fleet of
// devices: build, publish, snapshot, promote. See the README.
package main

import (
	"os"
	"runtime/debug"
)

// version is set by the linker: -ldflags "-X main.version=...". When it is
// not (go install), the module version from the build info is used.
var version = "dev"

func main() {
	os.Exit(Execute(binaryVersion(version, debug.ReadBuildInfo), os.Args[1:], defaultEnv()))
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
