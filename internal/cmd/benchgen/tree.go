package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

type kind int

const (
	kindText kind = iota
	kindBinary
	kindRandom
)

func (k kind) String() string {
	return [...]string{"text", "binary", "compressed"}[k]
}

type plannedFile struct {
	rel  string // relative to the payload root
	kind kind
	size int
	mode os.FileMode
}

const (
	payloadDst  = "/opt/bench"
	packageName = "bench-payload"
	maintainer  = "Bench <b@example.com>"
	description = "Synthetic payload for debflow's build benchmark\n" +
		"A deterministic tree of text-like, binary-like and already compressed\n" +
		"files: thousands of small ones and a few large ones."
)

func runTree(args []string) error {
	fs := newFlagSet("tree")
	out := fs.String("out", "", "output directory (required)")
	mb := fs.Int("mb", 200, "payload size in MiB")
	seed := fs.Uint64("seed", 1, "PRNG seed")
	fs.Parse(args) //nolint:errcheck // ExitOnError
	if *out == "" || *mb <= 0 {
		fs.Usage()
		os.Exit(2)
	}
	payload := filepath.Join(*out, "root", strings.TrimPrefix(payloadDst, "/"))
	if _, err := os.Stat(filepath.Join(*out, "root")); err == nil {
		return fmt.Errorf("%s already exists", filepath.Join(*out, "root"))
	}

	v := newVocab(*seed)
	files, dirs := planTree(v, *seed, int64(*mb)<<20)
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(payload, d), 0o755); err != nil {
			return err
		}
	}
	err := parallel(len(files), func(i int) error {
		f := files[i]
		r := rand.New(rand.NewPCG(*seed, uint64(i)+1))
		var data []byte
		switch f.kind {
		case kindText:
			data = v.text(r, f.size)
		case kindBinary:
			data = v.binary(r, f.size)
		default:
			data = random(r, f.size)
		}
		p := filepath.Join(payload, f.rel)
		if err := os.WriteFile(p, data, f.mode); err != nil {
			return err
		}
		return os.Chmod(p, f.mode) // whatever the umask
	})
	if err != nil {
		return err
	}

	if err := writeControl(*out); err != nil {
		return err
	}
	if err := writeSpec(*out); err != nil {
		return err
	}

	var total int64
	var byKind [3]int64
	large := 0
	for _, f := range files {
		total += int64(f.size)
		byKind[f.kind] += int64(f.size)
		if f.size >= 1<<20 {
			large++
		}
	}
	fmt.Printf("payload %s: %d files (%d of 1 MiB or more), %d directories, %.1f MiB "+
		"(text %.1f, binary %.1f, compressed %.1f MiB)\n",
		payload, len(files), large, len(dirs), mib(total), mib(byKind[kindText]), mib(byKind[kindBinary]), mib(byKind[kindRandom]))
	return nil
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// planTree decides every file's name, kind and size: a few large files take
// about 47% of the budget, the rest is small files with sizes spread
// log-uniformly between 128 bytes and 128 KiB.
func planTree(v *vocab, seed uint64, budget int64) ([]plannedFile, []string) {
	r := rand.New(rand.NewPCG(seed, 0x706c616e))

	dirs := []string{"bin", "lib", "lib/plugins", "share/data", "share/doc", "include/bench"}
	for len(dirs) < 300 {
		parent := dirs[r.IntN(len(dirs))]
		if parent == "bin" || strings.Count(parent, "/") >= 5 {
			continue
		}
		dirs = append(dirs, parent+"/"+v.word(r))
	}
	seen := map[string]bool{}
	var uniq []string
	for _, d := range dirs {
		if !seen[d] {
			seen[d] = true
			uniq = append(uniq, d)
		}
	}
	dirs = uniq

	pct := func(p float64) int { return int(float64(budget) * p / 100) }
	files := []plannedFile{
		{"lib/libbench-core.so.1", kindBinary, pct(24), 0o644},
		{"lib/libbench-extra.so.1", kindBinary, pct(12), 0o644},
		{"share/data/dictionary.txt", kindText, pct(6), 0o644},
		{"share/data/assets.pak", kindRandom, pct(5), 0o644},
	}
	var used int64
	for _, f := range files {
		used += int64(f.size)
	}

	exts := map[kind][]string{
		kindText:   {".txt", ".h", ".py", ".conf", ".md", ".json", ".c", ".html"},
		kindBinary: {".so", ".o", ".bin", ".mo", ".a"},
		kindRandom: {".png", ".gz", ".woff2", ".jpg"},
	}
	names := map[string]bool{}
	for n := 0; used < budget; n++ {
		size := int(math.Exp(math.Log(128) + r.Float64()*(math.Log(128<<10)-math.Log(128))))
		if rest := budget - used; int64(size) > rest {
			size = int(rest)
		}
		k := kindText
		switch x := r.IntN(100); {
		case x < 40:
			k = kindBinary
		case x < 44:
			k = kindRandom
		}
		dir := dirs[r.IntN(len(dirs))]
		mode := os.FileMode(0o644)
		name := ""
		if dir == "bin" {
			k, mode = kindBinary, 0o755
			name = fmt.Sprintf("bench-%s-%d", v.word(r), n)
		} else {
			e := exts[k]
			name = fmt.Sprintf("%s_%d%s", v.word(r), n, e[r.IntN(len(e))])
		}
		rel := dir + "/" + name
		if names[rel] {
			continue
		}
		names[rel] = true
		files = append(files, plannedFile{rel, k, size, mode})
		used += int64(size)
	}
	return files, dirs
}

func controlFields() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Package: %s\nVersion: 1.0\nArchitecture: amd64\nMaintainer: %s\n", packageName, maintainer)
	b.WriteString("Section: misc\nPriority: optional\n")
	lines := strings.Split(description, "\n")
	fmt.Fprintf(&b, "Description: %s\n", lines[0])
	for _, l := range lines[1:] {
		fmt.Fprintf(&b, " %s\n", l)
	}
	return b.String()
}

// writeControl writes DIR/root/DEBIAN/control for dpkg-deb --build.
func writeControl(out string) error {
	dir := filepath.Join(out, "root", "DEBIAN")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o755); err != nil { // dpkg-deb wants 0755..0775
		return err
	}
	return os.WriteFile(filepath.Join(dir, "control"), []byte(controlFields()), 0o644)
}

// writeSpec writes DIR/bench.yaml, packaging the same payload for debflow.
func writeSpec(out string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by benchgen: the build benchmark's payload, for debflow build.\n")
	fmt.Fprintf(&b, "name: %s\narch: amd64\nversion: \"1.0\"\nmaintainer: %s\n", packageName, maintainer)
	b.WriteString("description: |-\n")
	for _, l := range strings.Split(description, "\n") {
		fmt.Fprintf(&b, "  %s\n", l)
	}
	b.WriteString("section: misc\npriority: optional\n")
	fmt.Fprintf(&b, "contents:\n  - src: root%s\n    dst: %s\n", payloadDst, payloadDst)
	return os.WriteFile(filepath.Join(out, "bench.yaml"), []byte(b.String()), 0o644)
}
