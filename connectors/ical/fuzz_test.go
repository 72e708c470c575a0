package ical

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory"
)

// FuzzParse feeds Parse every testdata feed and mutations of them: it must
// never panic, and whatever it returns must be usable by the importer.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		if st, err := os.Stat(name); err != nil || st.IsDir() {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		f.Fatal(err)
	}
	opt := ParseOptions{Location: paris, From: inventory.MustDate("2026-01-01"), To: inventory.MustDate("2027-01-01")}
	f.Fuzz(func(t *testing.T, body []byte) {
		feed, err := Parse(body, opt)
		if errors.Is(err, errPanic) {
			t.Fatalf("Parse panicked: %v", err)
		}
		if err != nil {
			if len(feed.Events) != 0 {
				t.Fatalf("events returned with error %v", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, e := range feed.Events {
			if !e.Arrival.Before(e.Departure) {
				t.Fatalf("event %q: departure %s not after arrival %s", e.UID, e.Departure, e.Arrival)
			}
			if e.UID == "" {
				t.Fatalf("event without UID: %+v", e)
			}
			if seen[e.UID] {
				t.Fatalf("UID %q returned twice", e.UID)
			}
			seen[e.UID] = true
		}
	})
}
