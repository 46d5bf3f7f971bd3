package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Each testdata/NAME.json gives, through run, exactly testdata/NAME.expected.jsonl.
// The expectations are written from the Kubernetes documentation, not from Cyclonus's
// output: see the case ids and README.md.
func TestCorpora(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*.json")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no corpora: %v", err)
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".json")
		t.Run(name, func(t *testing.T) {
			for _, opts := range []Options{{}, {Simplify: true}} {
				f, err := os.Open(in)
				if err != nil {
					t.Fatal(err)
				}
				var out bytes.Buffer
				err = run(f, &out, opts)
				f.Close()
				if err != nil {
					t.Fatal(err)
				}
				want, err := os.ReadFile(filepath.Join("testdata", name+".expected.jsonl"))
				if err != nil {
					t.Fatal(err)
				}
				got := strings.Split(strings.TrimSpace(out.String()), "\n")
				exp := strings.Split(strings.TrimSpace(string(want)), "\n")
				if len(got) != len(exp) {
					t.Fatalf("%+v: %d results, want %d", opts, len(got), len(exp))
				}
				for i := range exp {
					if got[i] != exp[i] {
						t.Errorf("%+v:\n got  %s\n want %s", opts, got[i], exp[i])
					}
				}
			}
		})
	}
}

// With the selector workaround off, the quirks corpus shows the two Cyclonus bugs.
func TestQuirksWithoutWorkaround(t *testing.T) {
	f, err := os.Open("testdata/quirks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out bytes.Buffer
	if err := run(f, &out, Options{RawSelectors: true}); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{
		`{"id":"q2-notin-key-absent","allowed":false,"ingress":false,"egress":true}`,
		`{"id":"q4-matchlabels-empty-absent","allowed":true,"ingress":true,"egress":true}`,
	} {
		if !strings.Contains(s, want+"\n") {
			t.Errorf("raw Cyclonus no longer shows %s; output:\n%s", want, s)
		}
	}
}
