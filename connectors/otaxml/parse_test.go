package otaxml

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/keyrack/keyrack/inventory"
)

func TestParseTime(t *testing.T) {
	plus := func(h, m int) *time.Location { return time.FixedZone("", h*3600+m*60) }
	cases := []struct {
		in   string
		want time.Time
	}{
		{"2004-05-01T06:39:09", time.Date(2004, 5, 1, 6, 39, 9, 0, time.UTC)},
		{"2010-10-18T14:28:47-05:00", time.Date(2010, 10, 18, 14, 28, 47, 0, plus(-5, 0))},
		{"2019-03-01T10:00:00+0700", time.Date(2019, 3, 1, 10, 0, 0, 0, plus(7, 0))},
		{"2017-09-28T02:32:44+2", time.Date(2017, 9, 28, 2, 32, 44, 0, plus(2, 0))},
		{"2017-09-27T18:32:43.612", time.Date(2017, 9, 27, 18, 32, 43, 612000000, time.UTC)},
		{"2017-09-28T02:32:44.9882167+10:00", time.Date(2017, 9, 28, 2, 32, 44, 988216700, plus(10, 0))},
		{"2018-01-02T10:20:41.+03:00", time.Date(2018, 1, 2, 10, 20, 41, 0, plus(3, 0))},
		{"2018-01-02 08:51:45 UTC", time.Date(2018, 1, 2, 8, 51, 45, 0, time.UTC)},
		{"2018-01-02T08:51:45Z", time.Date(2018, 1, 2, 8, 51, 45, 0, time.UTC)},
		{"2018-01-02T08:51", time.Date(2018, 1, 2, 8, 51, 0, 0, time.UTC)},
		{"2018-01-02", time.Date(2018, 1, 2, 0, 0, 0, 0, time.UTC)},
		{" 2018-01-02T08:51:45-03:30 ", time.Date(2018, 1, 2, 8, 51, 45, 0, plus(-3, -30))},
	}
	for _, c := range cases {
		got, err := parseTime(c.in)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "tomorrow", "2018-02-30", "2018-13-01", "18-01-02", "2018-01-02T25:00:00", "2018-01-02T10:00:00+25", "2018/01/02", "0000-01-01 00:00+00"} {
		if got, err := parseTime(bad); err == nil {
			t.Errorf("parseTime(%q) = %v, want an error", bad, got)
		}
	}
}

// ChangedAt is LastModifyDateTime, else CreateDateTime, when the one
// sent names its time zone.
func TestChangedAt(t *testing.T) {
	at := func(s string) time.Time { v, _ := parseTime(s); return v }
	for _, c := range []struct {
		attrs string
		want  time.Time
	}{
		{`CreateDateTime="2026-11-30T10:00:00+01:00"`, at("2026-11-30T09:00:00Z")},
		{`CreateDateTime="2026-11-30T10:00:00Z" LastModifyDateTime="2026-11-30T12:30:00-03:00"`, at("2026-11-30T15:30:00Z")},
		{`CreateDateTime="2026-11-30 10:00:00 UTC"`, at("2026-11-30T10:00:00Z")},
		{`CreateDateTime="2026-11-30T10:00:00"`, time.Time{}},
		// The change's own time, without a zone: not the booking's creation.
		{`CreateDateTime="2026-11-30T10:00:00Z" LastModifyDateTime="2026-11-30T12:30:00"`, time.Time{}},
		{``, time.Time{}},
	} {
		msg := `<OTA_HotelResNotifRQ xmlns="http://www.opentravel.org/OTA/2003/05" ResStatus="Commit"><HotelReservations>
			<HotelReservation ResStatus="Reserved" ` + c.attrs + `><UniqueID Type="14" ID="R1"/><RoomStays><RoomStay>
				<RoomTypes><RoomType RoomTypeCode="DBL"/></RoomTypes><TimeSpan Start="2027-01-10" End="2027-01-11"/>
				<BasicPropertyInfo HotelCode="H"/></RoomStay></RoomStays></HotelReservation></HotelReservations></OTA_HotelResNotifRQ>`
		m, err := Parse([]byte(msg))
		if err != nil {
			t.Fatalf("%s: %v", c.attrs, err)
		}
		if got := m.Reservations[0].ChangedAt(); !got.Equal(c.want) {
			t.Errorf("%s: ChangedAt %v, want %v", c.attrs, got, c.want)
		}
	}
}

func TestParseDate(t *testing.T) {
	cases := map[string]string{
		"2017-10-31":                "2017-10-31",
		"2017-10-31T23:30:00-05:00": "2017-10-31", // the date as written, never shifted to UTC
		"2017-10-31T00:30:00+0900":  "2017-10-31",
		"2017-10-31T12:00":          "2017-10-31",
		"2017-10-31T24:00:00":       "2017-11-01", // the end of the 31st: a stay ending then departs on the 1st
		"2017-12-31T24:00":          "2018-01-01",
	}
	for in, want := range cases {
		got, err := parseDate(in)
		if err != nil || got.String() != want {
			t.Errorf("parseDate(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "31/10/2017", "2017-02-29", "2017-10-31X", "2017-10-31T24:30:00"} {
		if _, err := parseDate(bad); err == nil {
			t.Errorf("parseDate(%q): want an error", bad)
		}
	}
}

func otaErr(t *testing.T, err error, typ int) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("want an *Error of type %d, got %v", typ, err)
	}
	if e.Type != typ {
		t.Errorf("error type %d, want %d: %v", e.Type, typ, e)
	}
	return e
}

const resTmpl = `<OTA_HotelResNotifRQ xmlns="http://www.opentravel.org/OTA/2003/05" Version="1.0" EchoToken="tok" ResStatus="%s">
<HotelReservations><HotelReservation ResStatus="%s"><UniqueID Type="14" ID="R1"/>
<RoomStays><RoomStay><RoomTypes><RoomType RoomTypeCode="DBL"/></RoomTypes><RatePlans><RatePlan RatePlanCode="BAR"/></RatePlans>
<GuestCounts><GuestCount AgeQualifyingCode="10" Count="2"/><GuestCount AgeQualifyingCode="7" Count="1"/></GuestCounts>
<TimeSpan Start="%s" End="%s"/><BasicPropertyInfo HotelCode="H1"/></RoomStay></RoomStays></HotelReservation></HotelReservations></OTA_HotelResNotifRQ>`

func resBody(root, hr, start, end string) []byte {
	s := resTmpl
	for _, v := range []string{root, hr, start, end} {
		s = strings.Replace(s, "%s", v, 1)
	}
	return []byte(s)
}

func TestKinds(t *testing.T) {
	cases := []struct{ root, hr, want string }{
		{"Commit", "Reserved", "new"}, {"Book", "", "new"}, {"", "", "new"}, {"Initiate", "", "new"},
		{"Modify", "Reserved", "modify"}, {"Commit", "Modify", "modify"},
		{"Cancel", "Cancelled", "cancel"}, {"Modify", "Cancelled", "cancel"}, {"Cancel", "Reserved", "cancel"}, {"", "Cancelled", "cancel"},
	}
	for _, c := range cases {
		m, err := Parse(resBody(c.root, c.hr, "2026-12-01", "2026-12-03"))
		if err != nil {
			t.Fatal(err)
		}
		if r := m.Reservations[0]; string(r.Kind) != c.want || r.Problem != nil {
			t.Errorf("root %q + HotelReservation %q: kind %q problem %v, want %s", c.root, c.hr, r.Kind, r.Problem, c.want)
		}
	}
	m, _ := Parse(resBody("Quote", "", "2026-12-01", "2026-12-03"))
	if p := m.Reservations[0].Problem; p == nil || p.Type != TypeNoImplementation {
		t.Errorf("Quote: problem %v", p)
	}
}

func TestRecordProblems(t *testing.T) {
	cases := []struct{ name, start, end string }{
		{"ten-year stay", "2026-01-01", "2036-01-01"},
		{"departure before arrival", "2026-12-05", "2026-12-01"},
		{"same day", "2026-12-05", "2026-12-05"},
		{"unknown date", "next friday", "2026-12-01"},
		{"impossible date", "2026-02-30", "2026-03-02"},
	}
	for _, c := range cases {
		m, err := Parse(resBody("Commit", "", c.start, c.end))
		if err != nil {
			t.Fatalf("%s: a record problem must not fail the message: %v", c.name, err)
		}
		p := m.Reservations[0].Problem
		if p == nil || p.Code != CodeInvalidDate || p.RecordID != "1" {
			t.Errorf("%s: problem %+v", c.name, p)
		}
		checkConsistent(t, m)
	}
	m, err := Parse(resBody("Commit", "", "2026-12-01", "2026-12-03"))
	if err != nil {
		t.Fatal(err)
	}
	r := m.Reservations[0]
	want := Stay{RoomType: "DBL", RatePlan: "BAR", HotelCode: "H1", Arrival: inventory.MustDate("2026-12-01"), Departure: inventory.MustDate("2026-12-03"), Units: 1, Adults: 2, Children: 1}
	if r.Problem != nil || r.ID != "R1" || len(r.Stays) != 1 || r.Stays[0] != want || m.EchoToken != "tok" {
		t.Errorf("got %+v", r)
	}
	// A new booking with no stay at all.
	m, _ = Parse([]byte(`<OTA_HotelResNotifRQ ResStatus="Commit"><HotelReservations><HotelReservation><UniqueID Type="14" ID="X"/></HotelReservation></HotelReservations></OTA_HotelResNotifRQ>`))
	if p := m.Reservations[0].Problem; p == nil || p.Type != TypeRequiredMissing {
		t.Errorf("no stay: %v", p)
	}
}

// A booking's total is ResGlobalInfo's, else what its rooms' Totals add
// up to when each room has one, all in one currency; otherwise none (a
// part of the price is not known, or the parts cannot be added).
func TestAMultiRoomBookingsTotalIsTheSumOfItsRooms(t *testing.T) {
	stay := func(total string) string {
		return `<RoomStay><RoomTypes><RoomType RoomTypeCode="DBL"/></RoomTypes><TimeSpan Start="2026-12-01" End="2026-12-03"/>` + total + `</RoomStay>`
	}
	eur := func(v string) string { return `<Total AmountAfterTax="` + v + `" CurrencyCode="EUR"/>` }
	for _, c := range []struct {
		name, inner, total, currency string
	}{
		{"one room", stay(eur("240.00")), "240.00", "EUR"},
		{"two rooms", stay(eur("200.00")) + stay(eur("220.00")), "420.00", "EUR"},
		{"three rooms, decimals differ", stay(eur("100")) + stay(eur("0.5")) + stay(eur("99.25")), "199.75", "EUR"},
		{"before tax only", stay(`<Total AmountBeforeTax="10.10" CurrencyCode="USD"/>`) + stay(`<Total AmountBeforeTax="5" CurrencyCode="USD"/>`), "15.10", "USD"},
		{"global total wins", stay(eur("1.00")) + stay(eur("2.00")) + `<ResGlobalInfo><Total AmountAfterTax="500.00" CurrencyCode="EUR"/></ResGlobalInfo>`, "500.00", "EUR"},
		{"a room without a total", stay(eur("200.00")) + stay(""), "", ""},
		{"two currencies", stay(eur("200.00")) + stay(`<Total AmountAfterTax="220.00" CurrencyCode="USD"/>`), "", ""},
		{"not a decimal", stay(eur("200.00")) + stay(eur("1e3")), "", ""},
		// Kept to the cent, as keyrack keeps totals; one it cannot keep
		// exactly is left out, the booking taken all the same.
		{"four decimals", stay(eur("116.0000")), "116.00", "EUR"},
		{"a sum in four decimals", stay(eur("100.0000")) + stay(eur("1.5")), "101.50", "EUR"},
		{"fils", stay(`<Total AmountAfterTax="116.125" CurrencyCode="KWD"/>`), "", "KWD"},
		{"a global total not a decimal", stay(eur("1.00")) + `<ResGlobalInfo><Total AmountAfterTax="1e3" CurrencyCode="EUR"/></ResGlobalInfo>`, "", "EUR"},
		{"too large", stay(eur("1000000000000.00")), "", "EUR"},
	} {
		inner, global := c.inner, ""
		if i := strings.Index(inner, "<ResGlobalInfo>"); i >= 0 {
			inner, global = inner[:i], inner[i:]
		}
		m, err := Parse([]byte(`<OTA_HotelResNotifRQ ResStatus="Commit"><HotelReservations><HotelReservation><UniqueID Type="14" ID="R1"/><RoomStays>` +
			inner + `</RoomStays>` + global + `</HotelReservation></HotelReservations></OTA_HotelResNotifRQ>`))
		if err != nil {
			t.Fatal(err)
		}
		if r := m.Reservations[0]; r.Total != c.total || r.Currency != c.currency || r.Problem != nil {
			t.Errorf("%s: total %q %q (problem %v), want %q %q", c.name, r.Total, r.Currency, r.Problem, c.total, c.currency)
		}
	}
}

func TestHardening(t *testing.T) {
	sample := string(resBody("Commit", "", "2026-12-01", "2026-12-03"))
	inner := sample[strings.Index(sample, "<HotelReservations>"):strings.LastIndex(sample, "</OTA_HotelResNotifRQ>")]
	cases := []struct {
		name string
		body string
		typ  int
	}{
		{"doctype", `<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://evil/x.dtd"><OTA_HotelResNotifRQ/>`, TypeProtocol},
		{"entity bomb", `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><OTA_HotelResNotifRQ>&lol2;</OTA_HotelResNotifRQ>`, TypeProtocol},
		{"not xml", `{"json": true}`, TypeProtocol},
		{"truncated", sample[:200], TypeProtocol},
		{"empty", "  \n", TypeProtocol},
		{"no OTA element", `<Booking><Id>1</Id></Booking>`, TypeProtocol},
		{"foreign namespace", `<OTA_HotelResNotifRQ xmlns="urn:other"/>`, TypeProtocol},
		{"SOAP without Body", `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header/></s:Envelope>`, TypeProtocol},
		{"SOAP empty Body", `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>`, TypeProtocol},
		{"unknown message", `<OTA_HotelDescriptiveInfoRQ xmlns="http://www.opentravel.org/OTA/2003/05" EchoToken="e9"/>`, TypeNoImplementation},
		{"deep nesting", "<OTA_HotelResNotifRQ>" + strings.Repeat("<a>", 200) + strings.Repeat("</a>", 200) + "</OTA_HotelResNotifRQ>", TypeProtocol},
		{"two roots", `<OTA_HotelResNotifRQ/><OTA_HotelResNotifRQ/>`, TypeProtocol},
		{"directive inside", `<OTA_HotelResNotifRQ><!ENTITY x "y"></OTA_HotelResNotifRQ>`, TypeProtocol},
		{"text outside", `<OTA_HotelResNotifRQ/>trailing`, TypeProtocol},
		{"depth 65", "<OTA_HotelResNotifRQ>" + strings.Repeat("<a>", 64) + strings.Repeat("</a>", 64) + "</OTA_HotelResNotifRQ>", TypeProtocol},
	}
	// What the sender is told, where the parser refuses the document itself.
	says := map[string]string{
		"doctype":          "DOCTYPE declarations are refused",
		"entity bomb":      "DOCTYPE declarations are refused",
		"truncated":        "not well-formed XML",
		"empty":            "empty body",
		"deep nesting":     "nested deeper than 64 levels",
		"two roots":        "expected one root element, found 2",
		"directive inside": "XML directive <!ENTITY",
		"text outside":     "text outside the root element",
		"depth 65":         "nested deeper than 64 levels",
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := Parse([]byte(c.body))
			if m == nil {
				t.Fatal("nil Message")
			}
			otaErr(t, err, c.typ)
			if want := says[c.name]; want != "" && !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		})
	}
	if _, err := Parse([]byte("<OTA_HotelResNotifRQ>" + strings.Repeat("<a>", 63) + strings.Repeat("</a>", 63) + "</OTA_HotelResNotifRQ>")); err != nil {
		t.Errorf("64 levels are allowed: %v", err)
	}
	m, err := Parse([]byte(`<OTA_HotelDescriptiveInfoRQ xmlns="http://www.opentravel.org/OTA/2003/05" EchoToken="e9"/>`))
	if m.Name != "OTA_HotelDescriptiveInfoRQ" || m.EchoToken != "e9" || err == nil {
		t.Errorf("unknown message keeps its header: %+v", m.Header)
	}
	// Namespaces: absent, prefixed, declared again on an inner element.
	for name, body := range map[string]string{
		"absent":   `<OTA_HotelResNotifRQ ResStatus="Commit">` + inner + `</OTA_HotelResNotifRQ>`,
		"prefixed": `<ota:OTA_HotelResNotifRQ xmlns:ota="http://www.opentravel.org/OTA/2003/05" ResStatus="Commit">` + strings.NewReplacer("</", "</ota:", "<", "<ota:").Replace(inner) + `</ota:OTA_HotelResNotifRQ>`,
		"inner":    `<OTA_HotelResNotifRQ ResStatus="Commit"><HotelReservations xmlns="http://www.opentravel.org/OTA/2003/05">` + strings.TrimPrefix(inner, "<HotelReservations>") + `</OTA_HotelResNotifRQ>`,
		"soap11 no ns": `<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Header><wsse:Security xmlns:wsse="x"><wsse:UsertextToken><wsse:Username>u</wsse:Username><wsse:Password>p</wsse:Password></wsse:UsertextToken></wsse:Security></SOAP-ENV:Header><SOAP-ENV:Body>` +
			`<OTA_HotelResNotifRQ ResStatus="Commit">` + inner + `</OTA_HotelResNotifRQ></SOAP-ENV:Body></SOAP-ENV:Envelope>`,
	} {
		m, err := Parse([]byte(body))
		if err != nil || len(m.Reservations) != 1 || m.Reservations[0].ID != "R1" || m.Reservations[0].Problem != nil {
			t.Errorf("namespace %s: %v %+v", name, err, m)
		}
		if name == "soap11 no ns" && (m.Envelope != SOAP11 || m.UsernameToken == nil || m.UsernameToken.Password != "p") {
			t.Errorf("UsertextToken: %+v", m.Header)
		}
	}
}

// An OTA_CancelRQ cancels when its CancelType says to (Commit, Cancel, or
// none given); Initiate asks for the terms and Ignore drops that request,
// and neither changes anything; any other action is refused.
func TestCancelTypes(t *testing.T) {
	for _, c := range []struct{ cancelType, answerOnly string }{
		{"Commit", ""}, {"Cancel", ""}, {"", ""}, {"CommitOverrideEdits", ""},
		{"Initiate", "Pending"}, {"Quote", "Pending"}, {"Ignore", "Ignored"},
	} {
		m, err := Parse([]byte(`<OTA_CancelRQ xmlns="http://www.opentravel.org/OTA/2003/05" CancelType="` + c.cancelType + `"><UniqueID Type="14" ID="R1"/></OTA_CancelRQ>`))
		if err != nil {
			t.Fatal(err)
		}
		r := m.Reservations[0]
		if r.Kind != inventory.Cancel || r.Problem != nil || r.AnswerOnly != c.answerOnly {
			t.Errorf("CancelType %q: kind %q, answer only %q, problem %v; want answer only %q", c.cancelType, r.Kind, r.AnswerOnly, r.Problem, c.answerOnly)
		}
	}
	m, _ := Parse([]byte(`<OTA_CancelRQ xmlns="http://www.opentravel.org/OTA/2003/05" CancelType="Book"><UniqueID Type="14" ID="R1"/></OTA_CancelRQ>`))
	if p := m.Reservations[0].Problem; p == nil || p.Type != TypeNoImplementation {
		t.Errorf("CancelType Book: problem %v", p)
	}
}

// A reservation message's ResStatus Initiate (the first step of a
// two-phase booking) and Ignore (which discards it) book nothing, whether
// the root or, with no root status, the HotelReservation says it; the
// record keeps the kind its other status gives. Every other status, and
// every real sender's reservation, books.
func TestInitiateAndIgnoreReservationsAskForNothing(t *testing.T) {
	for _, c := range []struct{ root, hr, answerOnly, action, kind string }{
		{"Initiate", "", "Pending", "ResStatus Initiate", "new"},
		{"Initiate", "Reserved", "Pending", "ResStatus Initiate", "new"},
		{"initiate", "Modify", "Pending", "ResStatus initiate", "modify"},
		{"", "Initiate", "Pending", "ResStatus Initiate", "new"},
		{"Ignore", "", "Ignored", "ResStatus Ignore", "new"},
		{"", "Ignore", "Ignored", "ResStatus Ignore", "new"},
		{"Commit", "Reserved", "", "", "new"},
		{"Commit", "Initiate", "", "", "new"},
		{"Modify", "Reserved", "", "", "modify"},
		{"Cancel", "Cancelled", "", "", "cancel"},
	} {
		m, err := Parse(resBody(c.root, c.hr, "2026-12-01", "2026-12-03"))
		if err != nil {
			t.Fatal(err)
		}
		r := m.Reservations[0]
		if r.AnswerOnly != c.answerOnly || r.Action != c.action || string(r.Kind) != c.kind || r.Problem != nil {
			t.Errorf("root %q + HotelReservation %q: answer only %q (%q), kind %q, problem %v; want %q (%q), %s",
				c.root, c.hr, r.AnswerOnly, r.Action, r.Kind, r.Problem, c.answerOnly, c.action, c.kind)
		}
	}
	// An Ignore naming only the booking it discards, with no stay.
	m, _ := Parse([]byte(`<OTA_HotelResRQ ResStatus="Ignore"><HotelReservations><HotelReservation><UniqueID Type="14" ID="X"/></HotelReservation></HotelReservations></OTA_HotelResRQ>`))
	if r := m.Reservations[0]; r.AnswerOnly != "Ignored" || r.Problem != nil {
		t.Errorf("Ignore with no stay: answer only %q, problem %v", r.AnswerOnly, r.Problem)
	}
	for _, f := range samples(t) {
		if !strings.Contains(f, "RQ") {
			continue
		}
		m := parsed(t, filepath.Base(f))
		if !m.IsReservation() || m.Name == "OTA_CancelRQ" {
			continue
		}
		for _, r := range m.Reservations {
			if r.AnswerOnly != "" {
				t.Errorf("%s record %d: answered %q without booking: a real booking must book", f, r.Record, r.AnswerOnly)
			}
		}
	}
}

func TestISO88591(t *testing.T) {
	body := []byte("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n" + strings.Replace(string(resBody("Commit", "", "2026-12-01", "2026-12-03")),
		"</HotelReservation>", "<ResGuests><ResGuest><Profiles><ProfileInfo><Profile><Customer><PersonName><GivenName>Ren\xe9</GivenName><Surname>Dupr\xe9</Surname></PersonName></Customer></Profile></ProfileInfo></Profiles></ResGuest></ResGuests></HotelReservation>", 1))
	m, err := Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	if g := m.Reservations[0].Guest.Name; g != "René Dupré" {
		t.Errorf("guest %q, want René Dupré", g)
	}
	if _, err := Parse([]byte(`<?xml version="1.0" encoding="EBCDIC"?><OTA_CancelRQ/>`)); err == nil {
		t.Error("unknown encoding accepted")
	}
}

// A guest's name from a Windows system keeps its letters: bytes 0x80–0x9F
// of windows-1252 (Š, Ž, ’) are not read as Latin-1 control characters.
func TestAWindows1252GuestNameKeepsItsLetters(t *testing.T) {
	body := []byte("<?xml version=\"1.0\" encoding=\"windows-1252\"?>\n" + strings.Replace(string(resBody("Commit", "", "2026-12-01", "2026-12-03")),
		"</HotelReservation>", "<ResGuests><ResGuest><Profiles><ProfileInfo><Profile><Customer><PersonName><GivenName>\x8aime</GivenName><Surname>\x8eupan-O\x92Neill</Surname></PersonName></Customer></Profile></ProfileInfo></Profiles></ResGuest></ResGuests></HotelReservation>", 1))
	m, err := Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	if g := m.Reservations[0].Guest.Name; g != "Šime Župan-O’Neill" {
		t.Errorf("guest %q, want Šime Župan-O’Neill", g)
	}
}

func TestSOAP12Headers(t *testing.T) {
	body := `<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://www.w3.org/2005/08/addressing" xmlns:htnga="http://htng.org/PWSWG/2007/02/AsyncHeaders">
<env:Header><wsa:MessageID>urn:uuid:m1</wsa:MessageID><wsa:Action>http://htng.org/2014B/HTNG_ReservationService#OTA_HotelResNotifRQ</wsa:Action>
<wsa:ReplyTo><wsa:Address>https://crs.example/reply</wsa:Address></wsa:ReplyTo><wsa:To>https://keyrack.example/ota</wsa:To><htnga:CorrelationID>c-1</htnga:CorrelationID>
<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><wsse:UsernameToken><wsse:Username>crs</wsse:Username><wsse:Password>pw</wsse:Password></wsse:UsernameToken></wsse:Security></env:Header>
<env:Body>` + string(resBody("Modify", "Reserved", "2026-12-01", "2026-12-03")) + `</env:Body></env:Envelope>`
	m, err := Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	h := m.Header
	if h.Envelope != SOAP12 || h.MessageID != "urn:uuid:m1" || !strings.HasSuffix(h.Action, "#OTA_HotelResNotifRQ") || h.ReplyTo != "https://crs.example/reply" ||
		h.To != "https://keyrack.example/ota" || h.HTNGCorrelationID != "c-1" || h.UsernameToken == nil || h.UsernameToken.Username != "crs" {
		t.Errorf("header %+v", h)
	}
	if m.Reservations[0].Kind != inventory.Modify {
		t.Errorf("kind %s", m.Reservations[0].Kind)
	}
}

func TestReadBody(t *testing.T) {
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	w.Write([]byte("<OTA_CancelRQ/>"))
	w.Close()
	b, err := ReadBody(bytes.NewReader(z.Bytes()), "gzip", 100)
	if err != nil || string(b) != "<OTA_CancelRQ/>" {
		t.Errorf("gzip: %q %v", b, err)
	}
	if _, err := ReadBody(strings.NewReader(strings.Repeat("x", 101)), "", 100); err == nil {
		t.Error("over-cap body accepted")
	} else {
		otaErr(t, err, TypeProtocol)
	}
	if b, err := ReadBody(strings.NewReader(strings.Repeat("x", 100)), "", 100); err != nil || len(b) != 100 {
		t.Errorf("body at the cap: %v", err)
	}
	// A gzip bomb: 10 MiB of zeros in a few KiB.
	z.Reset()
	w = gzip.NewWriter(&z)
	w.Write(make([]byte, 10<<20))
	w.Close()
	if _, err := ReadBody(bytes.NewReader(z.Bytes()), "gzip", 1<<20); err == nil {
		t.Error("gzip bomb accepted")
	}
	if _, err := ReadBody(strings.NewReader("not gzip"), "gzip", 100); err == nil {
		t.Error("bad gzip accepted")
	}
	if _, err := ReadBody(strings.NewReader("x"), "br", 100); err == nil {
		t.Error("unknown encoding accepted")
	}
}

func TestEmptyPullIsNotAnError(t *testing.T) {
	m, err := Parse([]byte(`<OTA_HotelResNotifRQ xmlns="http://www.opentravel.org/OTA/2003/05" Version="2.001" TimeStamp="2026-11-22T10:00:00+00:00"/>`))
	if err != nil || len(m.Reservations) != 0 || !m.IsReservation() {
		t.Errorf("empty pull: %v %+v", err, m)
	}
}

func BenchmarkParseReservation(b *testing.B) {
	body := resBody("Commit", "", "2026-12-01", "2026-12-03")
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := Parse(body); err != nil {
			b.Fatal(err)
		}
	}
}

// No error text the parser gives quotes a card number in clear, wherever
// the sender put one: the texts are stored with the message, listed to
// staff and sent back. A value is masked before it is cut, so a cut cannot
// leave most of a card number unrecognised.
func TestParserErrorsQuoteNoCardNumber(t *testing.T) {
	const card = "4111111111111111"
	res := func(old, new string) string {
		return strings.Replace(string(resBody("Commit", "", "2026-12-01", "2026-12-03")), old, new, 1)
	}
	for _, c := range []struct{ name, body string }{
		{"NumberOfUnits", res(`<RoomType RoomTypeCode="DBL"/>`, `<RoomType RoomTypeCode="DBL" NumberOfUnits="`+card+`"/>`)},
		{"arrival", res(`Start="2026-12-01"`, `Start="4111 1111 1111 1111"`)},
		{"departure", res(`End="2026-12-03"`, `End="4111-1111-1111-1111"`)},
		{"guest count", res(`Count="2"`, `Count="`+card+`"`)},
		{"record stamp", res(`<HotelReservation `, `<HotelReservation CreateDateTime="`+card+`" `)},
		{"ResStatus", res(`ResStatus="Commit"`, `ResStatus="`+card+`"`)},
		{"ResStatus cut", res(`ResStatus="Commit"`, `ResStatus="`+strings.Repeat("x", 28)+card+`"`)},
		{"CancelType cut", `<OTA_CancelRQ CancelType="` + strings.Repeat("x", 28) + card + `"><UniqueID Type="14" ID="R1"/></OTA_CancelRQ>`},
		{"namespace cut", `<OTA_HotelResNotifRQ xmlns="urn:` + strings.Repeat("x", 66) + card + `"/>`},
		{"element cut", `<OTA_` + strings.Repeat("x", 46) + card + `/>`},
		{"not well-formed", `<OTA_HotelResNotifRQ>&` + card + `;</OTA_HotelResNotifRQ>`},
	} {
		m, err := Parse([]byte(c.body))
		var texts []string
		if err != nil {
			texts = append(texts, err.Error())
		}
		for _, r := range m.Reservations {
			if r.Problem != nil {
				texts = append(texts, r.Problem.Error())
			}
		}
		if len(texts) == 0 {
			t.Errorf("%s: no error", c.name)
		}
		for _, s := range texts {
			if digits := strings.NewReplacer(" ", "", "-", "").Replace(s); strings.Contains(digits, "4111111") {
				t.Errorf("%s: the error quotes the card number: %s", c.name, s)
			}
		}
	}
	_, err := ParseResponse([]byte(`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault><faultstring>` +
		strings.Repeat("y", 290) + card + `</faultstring></soap:Fault></soap:Body></soap:Envelope>`))
	if err == nil || strings.Contains(err.Error(), "4111111") {
		t.Errorf("a SOAP Fault's text: %v", err)
	}
	rs, err := ParseResponse([]byte(`<OTA_HotelResNotifRS><Errors><Error Type="3">card ` + card + ` refused</Error></Errors></OTA_HotelResNotifRS>`))
	if err != nil || len(rs.Errors) != 1 || strings.Contains(rs.Errors[0].Msg, card) {
		t.Errorf("an RS's Error text: %+v, %v", rs, err)
	}
}

// A TimeSpan with a Duration instead of an End departs Duration nights
// after arrival: P2D and P1W are two and seven nights.
func TestAStayGivenByDurationDepartsThatManyNightsLater(t *testing.T) {
	for dur, want := range map[string]string{"P2D": "2026-12-03", "P2N": "2026-12-03", "P1W": "2026-12-08"} {
		body := strings.Replace(string(resBody("Commit", "", "2026-12-01", "")), `End=""`, `Duration="`+dur+`"`, 1)
		m, err := Parse([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		r := m.Reservations[0]
		if r.Problem != nil || len(r.Stays) != 1 || r.Stays[0].Departure.String() != want {
			t.Errorf("Duration %s: problem %v, stays %+v; want departure %s", dur, r.Problem, r.Stays, want)
		}
	}
}

// Without a TimeSpan the stay is the span of its rates. Per-night rates
// end on the day after their night (EffectiveDate 1st, ExpireDate 2nd for
// the night of the 1st); a rate that says ExpireDateExclusiveInd="false"
// ends on its last night, as OpenTravel defines it. A TimeSpan End at 24:00
// is the end of its day.
func TestAStayDatedByItsRatesOrEndingAt2400KeepsItsLastNight(t *testing.T) {
	noSpan := func(rates string) string {
		body := strings.Replace(string(resBody("Commit", "", "x", "y")), `<TimeSpan Start="x" End="y"/>`, "", 1)
		return strings.Replace(body, `<RatePlans>`, `<RoomRates><RoomRate RoomTypeCode="DBL"><Rates>`+rates+`</Rates></RoomRate></RoomRates><RatePlans>`, 1)
	}
	for name, c := range map[string]struct{ body, want string }{
		"per-night rates": {noSpan(`<Rate EffectiveDate="2026-12-01" ExpireDate="2026-12-02"/><Rate EffectiveDate="2026-12-02" ExpireDate="2026-12-03"/>`), "2026-12-03"},
		"exclusive said":  {noSpan(`<Rate EffectiveDate="2026-12-01" ExpireDate="2026-12-03" ExpireDateExclusiveInd="true"/>`), "2026-12-03"},
		"inclusive said":  {noSpan(`<Rate EffectiveDate="2026-12-01" ExpireDate="2026-12-02" ExpireDateExclusiveInd="false"/>`), "2026-12-03"},
		"End at 24:00":    {string(resBody("Commit", "", "2026-12-01T14:00:00", "2026-12-02T24:00:00")), "2026-12-03"},
	} {
		m, err := Parse([]byte(c.body))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		r := m.Reservations[0]
		if r.Problem != nil || len(r.Stays) != 1 || r.Stays[0].Arrival.String() != "2026-12-01" || r.Stays[0].Departure.String() != c.want {
			t.Errorf("%s: problem %v, stays %+v; want 2026-12-01 → %s", name, r.Problem, r.Stays, c.want)
		}
	}
}

// Without a TimeSpan, the stay is the span of every rate of the RoomStay:
// a stay priced at two rate plans (BAR for two nights, then a promotion)
// comes as two RoomRates, and rates need not be listed night by night in
// order. Reading only the first RoomRate, or the first rate's start and
// the last rate's end, lost nights — sold again on every other channel.
func TestAStayDatedByRatesSpansAllOfThem(t *testing.T) {
	noSpan := func(roomRates string) string {
		body := strings.Replace(string(resBody("Commit", "", "x", "y")), `<TimeSpan Start="x" End="y"/>`, "", 1)
		return strings.Replace(body, `<RatePlans>`, `<RoomRates>`+roomRates+`</RoomRates><RatePlans>`, 1)
	}
	for name, body := range map[string]string{
		"two RoomRates": noSpan(`<RoomRate RoomTypeCode="DBL" RatePlanCode="BAR"><Rates>` +
			`<Rate EffectiveDate="2026-12-30" ExpireDate="2027-01-01"/></Rates></RoomRate>` +
			`<RoomRate RoomTypeCode="DBL" RatePlanCode="PROMO"><Rates>` +
			`<Rate EffectiveDate="2027-01-01" ExpireDate="2027-01-02"/></Rates></RoomRate>`),
		"rates out of order": noSpan(`<RoomRate RoomTypeCode="DBL"><Rates>` +
			`<Rate EffectiveDate="2026-12-30" ExpireDate="2026-12-31"/>` +
			`<Rate EffectiveDate="2027-01-01" ExpireDate="2027-01-02"/>` +
			`<Rate EffectiveDate="2026-12-31" ExpireDate="2027-01-01"/></Rates></RoomRate>`),
		"last night inclusive": noSpan(`<RoomRate RoomTypeCode="DBL"><Rates>` +
			`<Rate EffectiveDate="2026-12-30" ExpireDate="2026-12-31" ExpireDateExclusiveInd="false"/>` +
			`<Rate EffectiveDate="2027-01-01" ExpireDate="2027-01-02"/></Rates></RoomRate>`),
	} {
		m, err := Parse([]byte(body))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		r := m.Reservations[0]
		if r.Problem != nil || len(r.Stays) != 1 || r.Stays[0].Arrival.String() != "2026-12-30" || r.Stays[0].Departure.String() != "2027-01-02" {
			t.Errorf("%s: problem %v, stays %+v; want 2026-12-30 → 2027-01-02", name, r.Problem, r.Stays)
		}
	}
}

// A channel's answer written by a Windows or .NET system starts with the
// UTF-8 byte order mark; read as text before the root element, it made the
// channel's Success a failed push ("not an XML document"), retried and
// dead-lettered. It is read, as is a UTF-16 answer (with its mark).
func TestAnAnswerWithAByteOrderMarkIsRead(t *testing.T) {
	rs := `<?xml version="1.0" encoding="UTF-8"?><OTA_HotelAvailNotifRS xmlns="http://www.opentravel.org/OTA/2003/05" Version="1.0" EchoToken="e-1"><Success/></OTA_HotelAvailNotifRS>`
	le := []byte{0xff, 0xfe}
	for _, u := range utf16.Encode([]rune(strings.Replace(rs, "UTF-8", "UTF-16", 1))) {
		le = binary.LittleEndian.AppendUint16(le, u)
	}
	for name, body := range map[string][]byte{"UTF-8": append([]byte("\xef\xbb\xbf"), rs...), "UTF-16": le} {
		r, err := ParseResponse(body)
		if err != nil || !r.Success || r.EchoToken != "e-1" {
			t.Errorf("%s: %+v, %v; want Success with EchoToken e-1", name, r, err)
		}
	}
}
