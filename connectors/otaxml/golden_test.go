package otaxml

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// samplesDir holds the real third-party samples, beside the repository.
const samplesDir = "../../../shared/samples/ota"

func samples(t testing.TB) []string {
	files, _ := filepath.Glob(filepath.Join(samplesDir, "*.xml"))
	if len(files) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no samples in %s", samplesDir)
		}
		t.Skipf("no samples in %s", samplesDir)
	}
	return files
}

// goldenMessage is the stable JSON form of a parse: the Message (times as
// RFC3339Nano through encoding/json, dates as YYYY-MM-DD) and the error.
type goldenMessage struct {
	Message *Message `json:",omitempty"`
	Error   string   `json:",omitempty"`
}

type goldenResponse struct {
	Response *Response `json:",omitempty"`
	Error    string    `json:",omitempty"`
}

func TestGoldenSamples(t *testing.T) {
	for _, f := range samples(t) {
		name := strings.TrimSuffix(filepath.Base(f), ".xml")
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var v any
			if strings.Contains(name, "RQ") {
				m, err := Parse(body)
				g := goldenMessage{Message: m}
				if err != nil {
					g.Error = err.Error()
				}
				checkConsistent(t, m)
				v = g
			} else {
				r, err := ParseResponse(body)
				g := goldenResponse{Response: r}
				if err != nil {
					g.Error = err.Error()
				}
				v = g
			}
			got, err := json.MarshalIndent(v, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			gf := filepath.Join("testdata", "golden", name+".json")
			if *update {
				if err := os.WriteFile(gf, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(gf)
			if err != nil {
				t.Fatalf("%v (run go test ./connectors/otaxml -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("parse of %s differs from %s:\n%s", f, gf, got)
			}
		})
	}
}

// checkConsistent states what a caller may rely on in any parse result.
func checkConsistent(t testing.TB, m *Message) {
	t.Helper()
	if m == nil {
		t.Fatal("Parse returned a nil Message")
	}
	for i, r := range m.Reservations {
		if r.Record != i+1 {
			t.Errorf("record %d numbered %d", i+1, r.Record)
		}
		if r.Problem != nil {
			if r.Problem.Type == 0 || r.Problem.Msg == "" {
				t.Errorf("record %d: problem without type or text: %+v", i+1, r.Problem)
			}
			continue
		}
		if r.ID == "" {
			t.Errorf("record %d without problem has no id", i+1)
		}
		if r.Kind == "" {
			t.Errorf("record %d without problem has no kind", i+1)
		}
		if r.Kind != "cancel" && len(r.Stays) == 0 {
			t.Errorf("record %d (%s) without problem has no stay", i+1, r.Kind)
		}
		for _, s := range r.Stays {
			if !s.Departure.After(s.Arrival) || s.Departure.Sub(s.Arrival) > MaxStayNights || s.Units < 1 {
				t.Errorf("record %d: inconsistent stay %+v", i+1, s)
			}
		}
	}
	if !m.TimeStamp.IsZero() && m.TimeStamp.Year() < 1 {
		t.Errorf("odd timestamp %v", m.TimeStamp)
	}
}
