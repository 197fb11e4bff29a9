package snapshot

import (
	"fmt"
	"math/rand"
	"testing"
)

// benchSuite is n packages in random order, as a suite's contents come
// from its indexes: libc6, and the others each depending on it and on
// another package.
func benchSuite(n int) []Package {
	rnd := rand.New(rand.NewSource(1))
	pkgs := make([]Package, n)
	for i := range pkgs {
		pkgs[i] = Package{Name: fmt.Sprintf("pkg%05d", i), Version: fmt.Sprintf("%d.%d-1", rnd.Intn(5), rnd.Intn(50)), Arch: "amd64"}
		if i > 0 {
			pkgs[i].Depends = fmt.Sprintf("pkg%05d (>= 0.1), libc6", 1+rnd.Intn(n-1))
		}
	}
	pkgs[0] = Package{Name: "libc6", Version: "2.36-9", Arch: "amd64"}
	rnd.Shuffle(n, func(i, j int) { pkgs[i], pkgs[j] = pkgs[j], pkgs[i] })
	return pkgs
}

// BenchmarkPlanPicks plans one pick into a 10,000-package base, as debflow
// snapshot pick does after reading the base.
func BenchmarkPlanPicks(b *testing.B) {
	base := benchSuite(10000)
	p := base[len(base)/2]
	src := []Package{{Name: p.Name, Version: p.Version + "+1", Arch: p.Arch, Depends: p.Depends}}
	picks := []Pick{{Name: p.Name, Version: p.Version + "+1"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := PlanPicks(base, src, picks); err != nil {
			b.Fatal(err)
		}
	}
}
