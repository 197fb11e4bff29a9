package debfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/debflow/debflow/internal/compress"
)

// TestCheckAgreesWithInspect runs Check on everything Inspect is tested
// with: it must accept what Inspect accepts and refuse what Inspect
// refuses, with the same error, and read its input to the end as Inspect
// does.
func TestCheckAgreesWithInspect(t *testing.T) {
	inputs := map[string][]byte{}
	for _, fx := range validFixtures {
		data, err := os.ReadFile(filepath.Join("testdata", "valid", fx.file))
		if err != nil {
			t.Fatal(err)
		}
		inputs["valid/"+fx.file] = data
	}
	inputs["signed zstd"] = deb{format: compress.Zstd, extra: []arMember{{"_gpgorigin", []byte("sig")}}}.bytes(t)
	for _, c := range corpus {
		data, err := os.ReadFile(filepath.Join(corpusDir, c.file))
		if err != nil {
			t.Fatal(err)
		}
		inputs["malformed/"+c.file] = data
	}
	refused := 0
	for name, data := range inputs {
		t.Run(name, func(t *testing.T) {
			_, inspectErr := Inspect(bytes.NewReader(data), DefaultLimits())
			cr := &countingReader{r: bytes.NewReader(data)}
			checkErr := Check(cr, DefaultLimits())
			if (inspectErr == nil) != (checkErr == nil) || inspectErr != nil && inspectErr.Error() != checkErr.Error() {
				t.Fatalf("Check = %v, Inspect = %v", checkErr, inspectErr)
			}
			if checkErr != nil {
				refused++
				if !errors.Is(checkErr, ErrInvalid) {
					t.Errorf("Check = %v, want an error wrapping ErrInvalid", checkErr)
				}
				return
			}
			if cr.bytes != int64(len(data)) {
				t.Errorf("Check read %d of %d bytes", cr.bytes, len(data))
			}
		})
	}
	if refused != len(corpus) {
		t.Errorf("Check refused %d inputs, want the %d of the corpus", refused, len(corpus))
	}
}
