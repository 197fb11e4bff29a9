package build

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/debflow/debflow/internal/compress"
)

// writeMixedTree writes a deterministic tree of about mb MiB under dir/root:
// many small text files, a few large ones (each several zstd jobs long) and
// some incompressible data, so that the compressor cuts jobs inside and
// across files.
func writeMixedTree(t *testing.T, dir string, mb int) {
	t.Helper()
	rnd := rand.New(rand.NewSource(15))
	words := strings.Fields("apt dpkg package suite snapshot stage control data member tar zstd window " +
		"block frame job overlap hash md5sums sha256 release origin label codename component binary")
	text := func(n int) []byte {
		var b bytes.Buffer
		for b.Len() < n {
			b.WriteString(words[rnd.Intn(len(words))])
			if rnd.Intn(12) == 0 {
				fmt.Fprintf(&b, " %d\n", rnd.Int63())
			} else {
				b.WriteByte(' ')
			}
		}
		return b.Bytes()[:n]
	}
	total := mb << 20
	for i, written := 0, 0; written < total; i++ {
		var data []byte
		switch {
		case i%50 == 7: // large text: several 8 MiB jobs in one file
			data = text(9<<20 + rnd.Intn(1<<20))
		case i%9 == 3: // incompressible
			data = make([]byte, rnd.Intn(300<<10))
			rnd.Read(data)
		default:
			data = text(rnd.Intn(60 << 10))
		}
		p := filepath.Join(dir, "root", fmt.Sprintf("d%02d", i%13), fmt.Sprintf("f%04d", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		written += len(data)
	}
	spec := "name: procs\narch: amd64\nversion: \"1.0\"\nmaintainer: Build Test <build@example.com>\n" +
		"description: GOMAXPROCS test\ncontents:\n  - src: root\n    dst: /opt/procs\n"
	if err := os.WriteFile(filepath.Join(dir, "procs.yaml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestReproducibleAcrossGOMAXPROCS builds the same tree with GOMAXPROCS 1,
// 2 and the default: a package must be byte-identical on a one-core CI
// runner and on a developer's many-core laptop, so neither the compressor's
// job layout nor the order in which the build writes the archive may follow
// the number of cores.
func TestReproducibleAcrossGOMAXPROCS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 30 MiB tree three times")
	}
	dir := t.TempDir()
	writeMixedTree(t, dir, 30)
	spec, err := LoadSpec(filepath.Join(dir, "procs.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	old := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(old)
	for _, c := range []compress.Format{compress.Zstd, compress.Gzip} {
		t.Run(string(c), func(t *testing.T) {
			var first [sha256.Size]byte
			for i, procs := range []int{1, 2, old} {
				runtime.GOMAXPROCS(procs)
				res, err := Build(context.Background(), spec, Options{OutDir: t.TempDir(), Compression: c,
					Check: inspect, Getenv: env("SOURCE_DATE_EPOCH", "1700000000")})
				runtime.GOMAXPROCS(old)
				if err != nil {
					t.Fatalf("GOMAXPROCS=%d: %v", procs, err)
				}
				data, err := os.ReadFile(res.Path)
				if err != nil {
					t.Fatal(err)
				}
				sum := sha256.Sum256(data)
				if res.SHA256 != fmt.Sprintf("%x", sum) {
					t.Fatalf("GOMAXPROCS=%d: Result.SHA256 %s, the file's %x", procs, res.SHA256, sum)
				}
				if i == 0 {
					first = sum
				} else if sum != first {
					t.Fatalf("GOMAXPROCS=%d gave %x, GOMAXPROCS=1 gave %x", procs, sum[:8], first[:8])
				}
			}
		})
	}
}
