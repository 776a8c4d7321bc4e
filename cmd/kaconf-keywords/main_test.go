package main

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The README's compatibility table must be exactly what the registry
// generates: run `make keywords` after changing a keyword.
func TestREADMEUpToDate(t *testing.T) {
	doc, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	want, err := spliceSection(doc, section())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(doc)); diff != "" {
		t.Errorf("README.md keyword table is stale; run `make keywords` (-want +got):\n%s", diff)
	}
}

func TestSpliceSectionNeedsMarkers(t *testing.T) {
	if _, err := spliceSection([]byte("no markers\n"), "x"); err == nil {
		t.Error("spliceSection without markers succeeded")
	}
}
