// Command debflow carries a Debian package from a git commit to a fleet of
// devices: build, publish, snapshot, promote. See the README.
package main

import "os"

// version is set by the linker: -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(Execute(version, os.Args[1:], defaultEnv()))
}
