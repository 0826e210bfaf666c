package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds the config parser any bytes: it returns a config or problems, each naming the
// file, never panics. Seeds: the example config, the invalid-*.yaml cases; the corpus is in
// testdata/fuzz/FuzzParse. Run it for a minute, one worker:
//
//	go test ./internal/config -run '^$' -fuzz '^FuzzParse$' -fuzztime 60s -parallel 1
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.yaml")
	seeds = append(seeds, "../../configs/kaoqin.example.yaml")
	for _, p := range seeds {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("in.yaml", data)
		if err != nil {
			if c != nil {
				t.Fatalf("both a config and an error: %v", err)
			}
			var ps Problems
			if !errors.As(err, &ps) || len(ps) == 0 {
				t.Fatalf("error %q is not a list of problems", err)
			}
			for _, p := range ps {
				if p.File != "in.yaml" || !strings.HasPrefix(p.String(), "in.yaml") {
					t.Fatalf("problem without the file name: %q", p.String())
				}
			}
			return
		}
		if c == nil || c.File != "in.yaml" {
			t.Fatalf("no error and config %+v", c)
		}
	})
}
