package debian

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"testing"
)

func TestParseParagraphRoundTrip(t *testing.T) {
	in := "Package: hello\nVersion: 1.0-1\nDescription: greeter\n says hello\n .\n   verbatim line\n"
	p, err := ParseParagraph([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Get("package"); got != "hello" {
		t.Errorf("Get(package) = %q", got)
	}
	if want := "greeter\nsays hello\n\n  verbatim line"; p.Get("Description") != want {
		t.Errorf("Description = %q, want %q", p.Get("Description"), want)
	}
	if out := string(p.Bytes()); out != in {
		t.Errorf("round trip:\n got %q\nwant %q", out, in)
	}
}

func TestParseParagraphRejects(t *testing.T) {
	for name, in := range map[string]string{
		"second stanza":         "Package: a\n\nPackage: b\n",
		"duplicate field":       "Package: a\nPackage: b\n",
		"no colon":              "Package a\n",
		"continuation first":    " Package: a\n",
		"control char":          "Package: a\x1b[31m\n",
		"NUL":                   "Package: a\x00\n",
		"carriage return":       "Package: a\rFilename: evil\n",
		"missing final newline": "Package: a",
		"field name space":      "Pack age: a\n",
		"comment":               "# comment\nPackage: a\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseParagraph([]byte(in)); !errors.Is(err, ErrSyntax) {
				t.Errorf("ParseParagraph(%q) error = %v, want ErrSyntax", in, err)
			}
		})
	}
}

func TestWriteRefusesInjection(t *testing.T) {
	p := Paragraph{{Name: "Description", Value: "x\n \nPackage: evil"}}
	if err := p.Validate(); !errors.Is(err, ErrSyntax) {
		t.Errorf("Validate() = %v, want ErrSyntax for a white-space-only continuation line", err)
	}
}

func TestParseParagraphs(t *testing.T) {
	ps, err := ParseParagraphs([]byte("A: 1\n\n\nA: 2\nB: x\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[1].Get("B") != "x" {
		t.Errorf("got %v", ps)
	}
}

func TestValidPackageName(t *testing.T) {
	for _, ok := range []string{"ab", "hello-fleet", "libc6", "g++", "0ad", "a.b"} {
		if err := ValidPackageName(ok); err != nil {
			t.Errorf("ValidPackageName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a", "Hello", "-ab", "a_b", "a b", "ab\n", "../x"} {
		if err := ValidPackageName(bad); err == nil {
			t.Errorf("ValidPackageName(%q) accepted", bad)
		}
	}
}

var versions = []string{"0~git1.abc", "0", "1.0~rc1", "1.0", "1.0-1", "1.0+git3.0aa", "1.0+git10.0aa", "1.0.1~", "1.0.1", "1:0.1", "2:1.0~beta1-0.1"}

func TestValidVersion(t *testing.T) {
	for _, ok := range versions {
		if err := ValidVersion(ok); err != nil {
			t.Errorf("ValidVersion(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "v1.0", "a1", "1.0-", "1:", ":1", "x:1", "1.0_1", "1.0 1", "1.0-a-b_c", "1.0\n"} {
		if err := ValidVersion(bad); err == nil {
			t.Errorf("ValidVersion(%q) accepted", bad)
		}
	}
}

// TestCompareVersionsAgainstDpkg checks every pair against the real dpkg.
func TestCompareVersionsAgainstDpkg(t *testing.T) {
	if _, err := exec.LookPath("dpkg"); err != nil {
		t.Skip("dpkg not installed")
	}
	for _, a := range versions {
		for _, b := range versions {
			lt := exec.Command("dpkg", "--compare-versions", a, "lt", b).Run() == nil
			eq := exec.Command("dpkg", "--compare-versions", a, "eq", b).Run() == nil
			want := 1
			switch {
			case lt:
				want = -1
			case eq:
				want = 0
			}
			if got := CompareVersions(a, b); got != want {
				t.Errorf("CompareVersions(%q, %q) = %d, dpkg says %d", a, b, got, want)
			}
		}
	}
}

func TestValidArchitecture(t *testing.T) {
	for _, ok := range []string{"amd64", "arm64", "armhf", "all", "i386", "musl-linux-arm64"} {
		if err := ValidArchitecture(ok); err != nil {
			t.Errorf("ValidArchitecture(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "any", "linux-any", "AMD64", "amd 64", "amd64/../x", "-x", "source", "amd64 "} {
		if err := ValidArchitecture(bad); err == nil {
			t.Errorf("ValidArchitecture(%q) accepted", bad)
		}
	}
}

func TestValidRelationField(t *testing.T) {
	for _, ok := range []string{"bash (>= 4)", "aa | bb (<< 2.0), cc:any", "libc6 (>= 2.36) [amd64]"} {
		if err := ValidRelationField("Depends", ok); err != nil {
			t.Errorf("ValidRelationField(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"Bash", "a,,b", "a (>= v1)", "a (>= 1.0"} {
		if err := ValidRelationField("Depends", bad); err == nil {
			t.Errorf("ValidRelationField(%q) accepted", bad)
		}
	}
}

func FuzzParseParagraphs(f *testing.F) {
	f.Add([]byte("Package: a\nVersion: 1\n\nPackage: b\nDescription: x\n y\n .\n"))
	f.Add([]byte("A:\n b\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ps, err := ParseParagraphs(data)
		if err != nil {
			return
		}
		// What parses must write back to something that parses the same.
		var buf bytes.Buffer
		for i, p := range ps {
			if i > 0 {
				buf.WriteByte('\n')
			}
			p.WriteTo(&buf)
		}
		again, err := ParseParagraphs(buf.Bytes())
		if err != nil {
			t.Fatalf("re-parse of %q: %v", buf.String(), err)
		}
		if len(again) != len(ps) {
			t.Fatalf("stanza count %d -> %d", len(ps), len(again))
		}
		for i := range ps {
			if a, b := string(ps[i].Bytes()), string(again[i].Bytes()); a != b && !strings.Contains(a, "\t") {
				t.Fatalf("stanza %d changed:\n%q\n%q", i, a, b)
			}
		}
	})
}

// TestValidVersionAgreesWithDpkg checks the edge cases of ValidVersion
// against dpkg's own parser: whatever dpkg refuses must be refused here.
// (ValidVersion is stricter than dpkg in places dpkg only warns about, such
// as a version that does not start with a digit; those are not listed.)
func TestValidVersionAgreesWithDpkg(t *testing.T) {
	if _, err := exec.LookPath("dpkg"); err != nil {
		t.Skip("dpkg not installed")
	}
	for _, v := range []string{
		"2147483647:1.0", "2147483648:1.0", "99999999999999999999:1.0", "01:1.0", "0:1.0",
		"1:2:3", "1:2:3-4", "-1:1.0", "1.0-", "1:", ":1", "1.0 1", "1.0-1-2",
	} {
		// dpkg exits 2 on a syntax error and 0 or 1 for the comparison.
		err := exec.Command("dpkg", "--compare-versions", v, "lt", "1").Run()
		var exit *exec.ExitError
		dpkgRefuses := errors.As(err, &exit) && exit.ExitCode() == 2
		if got := ValidVersion(v) != nil; got != dpkgRefuses {
			t.Errorf("ValidVersion(%q) refuses=%v, dpkg refuses=%v", v, got, dpkgRefuses)
		}
	}
}

// TestParagraphTextSize: Bytes allocates exactly the text's size, for
// values with empty first lines, empty continuation lines and trailing
// ones, and WriteTo and AppendText write the same.
func TestParagraphTextSize(t *testing.T) {
	for _, p := range []Paragraph{
		nil,
		{{"Package", "hello"}},
		{{"Empty", ""}, {"Description", "short\nlong\n\nmore\n"}},
		{{"Conffiles", "\n/etc/a 0123\n/etc/b 4567"}, {"X", "\n"}, {"Y", "\n\n"}},
	} {
		b := p.Bytes()
		if len(b) != cap(b) {
			t.Errorf("%q: Bytes is %d bytes in a slice of %d", p, len(b), cap(b))
		}
		var w bytes.Buffer
		p.WriteTo(&w)
		if got := string(p.AppendText([]byte("x"))); got != "x"+string(b) || w.String() != string(b) {
			t.Errorf("%q: AppendText %q, WriteTo %q, Bytes %q", p, got, w.String(), b)
		}
		if len(p) > 0 && p[0].Name == "Package" && string(b) != "Package: hello\n" {
			t.Errorf("text %q", b)
		}
	}
	p := Paragraph{{"A", "\nx\n\ny"}}
	if got, want := string(p.Bytes()), "A:\n x\n .\n y\n"; got != want {
		t.Errorf("multi-line value: %q, want %q", got, want)
	}
}
