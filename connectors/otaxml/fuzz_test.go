package otaxml

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

var xmlDecl = regexp.MustCompile(`^\s*<\?xml[^>]*\?>`)

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(samplesDir, "*.xml"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	if b, err := os.ReadFile(filepath.Join(samplesDir, "opentravel_OTA_HotelResNotifRQ_new.xml")); err == nil {
		inner := xmlDecl.ReplaceAll(b, nil)
		f.Add([]byte(`<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header><wsse:Security xmlns:wsse="` + nsWSSE + `"><wsse:UsernameToken><wsse:Username>u</wsse:Username><wsse:Password>p</wsse:Password></wsse:UsernameToken></wsse:Security></soap:Header><soap:Body>` + string(inner) + `</soap:Body></soap:Envelope>`))
		f.Add([]byte(`<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://www.w3.org/2005/08/addressing"><env:Header><wsa:MessageID>urn:uuid:1</wsa:MessageID><wsa:Action>a</wsa:Action><wsa:ReplyTo><wsa:Address>https://x/</wsa:Address></wsa:ReplyTo></env:Header><env:Body>` + string(inner) + `</env:Body></env:Envelope>`))
	}
	f.Add(resBody("Modify", "Reserved", "2026-12-01T10:00:00+0700", "2026-12-03"))
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := Parse(body)
		checkConsistent(t, m)
		if err != nil {
			ErrorReply(m, []*Error{{Type: TypeProtocol, Msg: err.Error()}}, now)
			return
		}
		var results []Result
		for _, r := range m.Reservations {
			results = append(results, Result{Record: r, OurID: "K", Status: "Committed", Err: r.Problem})
		}
		if _, err := ParseResponse(Reply(m, results, now)); err != nil {
			t.Errorf("our reply does not read back: %v", err)
		}
		ParseResponse(body)
	})
}
