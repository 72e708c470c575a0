package otaxml

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/keyrack/keyrack/connectors"
	"github.com/keyrack/keyrack/inventory"
)

const schemaDir = "../../../shared/schemas/ota-2015b"

var now = time.Date(2026, 11, 22, 10, 0, 0, 0, time.FixedZone("", 3600))

// validate checks a raw OTA document against its 2015B schema with xmllint.
func validate(t *testing.T, name string, doc []byte) {
	t.Helper()
	missing := func(why string) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("cannot validate %s: %s", name, why)
		}
		t.Skipf("cannot validate %s: %s", name, why)
	}
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		missing("xmllint not installed (apt-get install libxml2-utils)")
	}
	xsd := filepath.Join(schemaDir, name+".xsd")
	if _, err := os.Stat(xsd); err != nil {
		missing("no schema " + xsd)
	}
	f := filepath.Join(t.TempDir(), name+".xml")
	if err := os.WriteFile(f, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(xmllint, "--noout", "--schema", xsd, f).CombinedOutput()
	if err != nil {
		t.Errorf("%s does not validate against %s: %v\n%s\n%s", name, xsd, err, out, doc)
	}
}

func parsed(t *testing.T, file string) *Message {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(samplesDir, file))
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	m, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func items() []connectors.Availability {
	return []connectors.Availability{
		{Room: "DBL", From: inventory.MustDate("2026-12-01"), To: inventory.MustDate("2026-12-04"), Available: 5},
		{Room: "SGL", From: inventory.MustDate("2026-12-01"), To: inventory.MustDate("2026-12-02"), Available: 0},
	}
}

func TestRepliesValidate(t *testing.T) {
	res := parsed(t, "opentravel_OTA_HotelResNotifRQ_new.xml")
	mod := parsed(t, "opentravel_OTA_HotelResModifyNotifRQ_modify.xml")
	can := parsed(t, "weekendesk_OTA_CancelRQ.xml")
	quote := parsed(t, "opentravel_OTA_CancelRQ_hotel.xml")
	quoted := []Result{{Record: quote.Reservations[0], Status: quote.Reservations[0].AnswerOnly, Warnings: []Error{{Type: TypeAdvisory, Msg: "not cancelled"}}}}
	ok := func(m *Message, status string) []Result {
		return []Result{{Record: m.Reservations[0], OurID: "KR-1", Status: status}}
	}
	bad := func(m *Message) []Result {
		return []Result{{Record: m.Reservations[0], Err: Errorf(TypeBizRule, CodeInvalidRoomType, "room type X is not mapped")}}
	}
	two := append(ok(res, "Committed"), Result{Record: Reservation{Record: 2, ID: "2"}, Err: Errorf(TypeBizRule, CodeInvalidDate, "bad")})
	cases := []struct {
		name, schema string
		doc          []byte
		want         []string
	}{
		{"resnotif ok", "OTA_HotelResNotifRS", Reply(res, ok(res, "Committed"), now), []string{`ResResponseType="Committed"`, `EchoToken="354"`, `ResID_Type="13" ResID_Value="7865"`, `ResID_Type="14" ResID_Value="KR-1"`, `Version="1.003"`}},
		{"resnotif partial", "OTA_HotelResNotifRS", Reply(res, two, now), []string{"<Success/>", `RecordID="2"`, `Status="NotProcessed"`, `<HotelReservation ResStatus="Reserved">`}},
		{"resnotif all failed", "OTA_HotelResNotifRS", Reply(res, bad(res), now), []string{"<Errors>", `Code="402"`}},
		{"modify ok", "OTA_HotelResModifyNotifRS", Reply(mod, ok(mod, "Modified"), now), []string{`ResResponseType="Modified"`, `<HotelResModify ResStatus="Reserved">`}},
		{"modify failed", "OTA_HotelResModifyNotifRS", Reply(mod, bad(mod), now), []string{"<Errors>"}},
		{"cancel ok", "OTA_CancelRS", Reply(can, ok(can, ""), now), []string{`Status="Cancelled"`, `<UniqueID Type="5" ID="12345678"/>`}},
		{"cancel quote", "OTA_CancelRS", Reply(quote, quoted, now), []string{`Status="Pending"`, "<Success/><Warnings>", `<UniqueID Type="14" ID="99999999"/>`}},
		{"cancel failed", "OTA_CancelRS", Reply(can, bad(can), now), []string{`Status="Unsuccessful"`}},
		{"error reply nil", "OTA_HotelResNotifRS", ErrorReply(nil, []*Error{Errorf(TypeAuthentication, CodeAuthorization, "bad password")}, now), []string{`Type="4"`}},
		{"avail rs", "OTA_HotelAvailNotifRS", Reply(&Message{Header: Header{Name: "OTA_HotelAvailNotifRQ", EchoToken: "e1"}}, nil, now), []string{"<Success/>"}},
		{"avail error", "OTA_HotelAvailNotifRS", ErrorReply(&Message{Header: Header{Name: "OTA_HotelAvailNotifRQ"}}, []*Error{Errorf(TypeProtocol, 0, "x")}, now), []string{"<Errors>"}},
		{"invcount rs", "OTA_HotelInvCountNotifRS", Reply(&Message{Header: Header{Name: "OTA_HotelInvCountNotifRQ"}}, nil, now), nil},
		{"rate rs", "OTA_HotelRateAmountNotifRS", Reply(&Message{Header: Header{Name: "OTA_HotelRateAmountNotifRQ"}}, nil, now), nil},
		{"avail rq", "OTA_HotelAvailNotifRQ", EncodeAvailNotif(Out{HotelCode: "H1", EchoToken: "t", TimeStamp: now}, items()), []string{`BookingLimit="5" BookingLimitMessageType="SetLimit"`, `Start="2026-12-01" End="2026-12-03" InvTypeCode="DBL"`, `Status="Close"`}},
		{"invcount rq", "OTA_HotelInvCountNotifRQ", EncodeInvCountNotif(Out{HotelCode: "H1", TimeStamp: now}, items()), []string{`Count="5" CountType="2"`}},
		{"resnotif rq", "OTA_HotelResNotifRQ", EncodeResNotif(Out{HotelCode: "H1", TimeStamp: now}, res.Reservations), []string{`ResStatus="Commit"`, `<UniqueID Type="14" ID="7865"/>`}},
		{"resnotif rs ack", "OTA_HotelResNotifRS", EncodeResNotifRS(Out{TimeStamp: now}, ok(res, "Committed")), []string{"<Success/>"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := string(c.doc)
			if strings.Contains(s, "<Success") && strings.Contains(s, "<Errors") {
				t.Errorf("both Success and Errors:\n%s", s)
			}
			if !strings.Contains(s, `xmlns="`+NS+`"`) || !strings.Contains(s, `TimeStamp="2026-11-22T10:00:00+01:00"`) {
				t.Errorf("no namespace or TimeStamp on the root:\n%s", s)
			}
			for _, w := range c.want {
				if !strings.Contains(s, w) {
					t.Errorf("want %s in\n%s", w, s)
				}
			}
			validate(t, c.schema, c.doc)
		})
	}
}

func TestHotelResRSForWeekendesk(t *testing.T) {
	m := parsed(t, "weekendesk_OTA_HotelResRQ_booking-notification.xml")
	b := Reply(m, []Result{{Record: m.Reservations[0], OurID: "KR-9", Status: "Committed"}}, now)
	rs, err := ParseResponse(b)
	if err != nil {
		t.Fatal(err)
	}
	if rs.Name != "OTA_HotelResRS" || !rs.Success {
		t.Fatalf("got %+v", rs)
	}
	want := map[string]string{"5": "12345678", "14": "KR-9"}
	for _, id := range rs.IDs {
		if id.Type != "5" && id.Type != "14" {
			continue
		}
		if want[id.Type] == id.Value {
			delete(want, id.Type)
		}
	}
	if len(want) > 0 {
		t.Errorf("ack lacks ids %v:\n%s", want, b)
	}
}

func TestSOAPReplies(t *testing.T) {
	m := &Message{Header: Header{Name: "OTA_HotelResNotifRQ", Envelope: SOAP12, EchoToken: "e", MessageID: "urn:uuid:req-1",
		Action: "http://htng.org/2014B/HTNG_ReservationService#OTA_HotelResNotifRQ", ReplyTo: "https://partner.example/reply", HTNGCorrelationID: "corr-7"}}
	b := ErrorReply(m, []*Error{Errorf(TypeAuthentication, 0, "bad password")}, now)
	s := string(b)
	for _, w := range []string{nsSOAP12, "<wsa:RelatesTo>urn:uuid:req-1</wsa:RelatesTo>", "#OTA_HotelResNotifRQResponse</wsa:Action>",
		"<wsa:To>https://partner.example/reply</wsa:To>", "corr-7", "<wsa:MessageID>urn:uuid:"} {
		if !strings.Contains(s, w) {
			t.Errorf("want %s in\n%s", w, s)
		}
	}
	rs, err := ParseResponse(b)
	if err != nil || rs.RelatesTo != "urn:uuid:req-1" || len(rs.Errors) != 1 || rs.Errors[0].Type != TypeAuthentication {
		t.Errorf("ParseResponse: %+v %v", rs, err)
	}
	m.Envelope = SOAP11
	s = string(Reply(m, nil, now))
	if !strings.Contains(s, nsSOAP11) || !strings.Contains(s, "<soap:Header/>") || strings.Contains(s, "wsa:") {
		t.Errorf("SOAP 1.1 reply:\n%s", s)
	}
	if newMessageID() == newMessageID() {
		t.Error("MessageIDs repeat")
	}
}

func TestOutboundSOAPCarriesWSSecurity(t *testing.T) {
	for _, env := range []Envelope{SOAP11, SOAP12} {
		b := EncodeAvailNotif(Out{Envelope: env, HotelCode: "H1", Username: "km", Password: "s3cret", TimeStamp: now}, items())
		m, err := Parse(b)
		if err != nil {
			t.Fatalf("%s: %v\n%s", env, err, b)
		}
		if m.Envelope != env || m.UsernameToken == nil || m.UsernameToken.Username != "km" || m.UsernameToken.Password != "s3cret" {
			t.Errorf("%s: header %+v", env, m.Header)
		}
		if !strings.Contains(string(b), `Type="`+passwordText+`"`) {
			t.Errorf("%s: no PasswordText type", env)
		}
		if len(m.Avail) != 2 || m.Avail[0].End != inventory.MustDate("2026-12-03") || *m.Avail[1].BookingLimit != 0 ||
			m.Avail[1].Restrictions[0].Status != "Close" || m.HotelCode != "H1" {
			t.Errorf("%s: round trip %+v", env, m.Avail)
		}
	}
}

func TestResNotifRoundTrip(t *testing.T) {
	// Stamps keep their milliseconds: two changes made within a second
	// must read back in order.
	made := time.Date(2026, 11, 30, 22, 50, 1, 612_345_678, time.UTC)
	r := Reservation{Kind: inventory.Modify, ID: "B-1", Guest: inventory.Guest{Name: "Ana María Pérez", Email: "a@x.es"},
		Created: made.Add(-time.Hour), LastModified: made,
		Total: "300.00", Currency: "EUR", Stays: []Stay{{RoomType: "DBL", RatePlan: "BAR", Arrival: inventory.MustDate("2026-12-01"),
			Departure: inventory.MustDate("2026-12-03"), Units: 2, Adults: 2, Children: 1}}}
	validate(t, "OTA_HotelResNotifRQ", EncodeResNotif(Out{HotelCode: "H1"}, []Reservation{r}))
	m, err := Parse(EncodeResNotif(Out{Envelope: SOAP11, HotelCode: "H1", Username: "u", Password: "p"}, []Reservation{r}))
	if err != nil {
		t.Fatal(err)
	}
	g := m.Reservations[0]
	if g.Kind != inventory.Modify || g.ID != "B-1" || g.Guest != r.Guest || g.Total != "300.00" || g.HotelCode != "H1" ||
		len(g.Stays) != 1 || g.Stays[0].Units != 2 || g.Stays[0].Children != 1 || g.Problem != nil ||
		!g.LastModified.Equal(made.Truncate(time.Millisecond)) || !g.Created.Equal(made.Add(-time.Hour).Truncate(time.Millisecond)) {
		t.Errorf("round trip: %+v", g)
	}
}

// A batch of mixed kinds (as a pull queue serves them) must read back as
// the same kinds: with a root ResStatus taken from the first record, a
// cancellation first turned every new booking after it into a cancellation
// (the simulator found it: the pull channel's bookings went missing).
func TestResNotifMixedBatchKeepsEachRecordsKind(t *testing.T) {
	stay := []Stay{{RoomType: "DBL", RatePlan: "BAR", Arrival: inventory.MustDate("2026-12-01"), Departure: inventory.MustDate("2026-12-03"), Units: 1, Adults: 2}}
	kinds := []inventory.RevisionKind{inventory.Cancel, inventory.New, inventory.Modify, inventory.New, inventory.Cancel}
	var rs []Reservation
	for i, k := range kinds {
		rs = append(rs, Reservation{Kind: k, ID: fmt.Sprint("B-", i), HotelCode: "H1", Stays: stay})
	}
	b := EncodeResNotif(Out{HotelCode: "H1", TimeStamp: time.Now()}, rs)
	validate(t, "OTA_HotelResNotifRQ", b)
	m, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Reservations) != len(kinds) {
		t.Fatalf("%d reservations back, want %d", len(m.Reservations), len(kinds))
	}
	for i, r := range m.Reservations {
		if r.Kind != kinds[i] || r.Problem != nil {
			t.Errorf("record %d: kind %s (problem %v), want %s", i+1, r.Kind, r.Problem, kinds[i])
		}
	}
	// One kind only: the root says it, as before.
	if b := EncodeResNotif(Out{TimeStamp: time.Now()}, rs[1:2]); !strings.Contains(string(b), `ResStatus="Commit"`) {
		t.Errorf("a batch of new bookings has no root Commit: %s", b)
	}
}

// A reply names the system it answers as its request did (Target Test or
// Production, in the schema's spelling), success or error; a reservation
// message for a test system with no record is refused all the same.
func TestRepliesEchoTheRequestsTarget(t *testing.T) {
	res := parsed(t, "opentravel_OTA_HotelResNotifRQ_new.xml")
	if res.Target != "Production" {
		t.Fatalf("the sample's Target is %q", res.Target)
	}
	test := *res
	test.Target = "test"
	empty := &Message{Header: Header{Name: "OTA_HotelResNotifRQ", Target: "Test"}}
	odd := &Message{Header: Header{Name: "OTA_HotelResNotifRQ", Target: "Staging"}}
	for _, c := range []struct {
		name string
		doc  []byte
		want string
	}{
		{"production", Reply(res, []Result{{Record: res.Reservations[0], OurID: "1", Status: "Committed"}}, now), `Target="Production"`},
		{"test refused", Reply(&test, []Result{{Record: res.Reservations[0], Err: TestRefused()}}, now), `Target="Test"`},
		{"test error", ErrorReply(&test, []*Error{Errorf(TypeAuthentication, CodeAuthorization, "bad")}, now), `Target="Test"`},
		{"test with no record", Reply(empty, nil, now), `no test messages`},
		{"not a Target value", Reply(odd, nil, now), ``},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := string(c.doc)
			if c.want != "" && !strings.Contains(s, c.want) {
				t.Errorf("want %s in\n%s", c.want, s)
			}
			if c.want == "" && strings.Contains(s, "Target=") {
				t.Errorf("a Target the schema does not allow is echoed:\n%s", s)
			}
			validate(t, "OTA_HotelResNotifRS", c.doc)
		})
	}
}

// otaElement is the OTA element of a (possibly SOAP) document, as a
// document of its own with the OTA namespace on it.
func otaElement(t *testing.T, b []byte) []byte {
	t.Helper()
	d := etree.NewDocument()
	if err := d.ReadFromBytes(b); err != nil {
		t.Fatal(err)
	}
	r := d.Root()
	if r.Tag == "Envelope" {
		r = r.SelectElement("Body").ChildElements()[0]
	}
	c := r.Copy()
	if c.SelectAttr("xmlns") == nil {
		c.CreateAttr("xmlns", NS)
	}
	nd := etree.NewDocument()
	nd.SetRoot(c)
	out, err := nd.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Every kind of reply keyrack gives (a warning for an unmapped room, a
// record without an id, pending and ignored records, cancellation quotes,
// batches whose records had different outcomes, errors and successes in
// SOAP 1.1 and 1.2, an over-long EchoToken, a Target echoed) and the ARI
// it sends in its less common shapes validate against the 2015B schemas.
func TestReplyAndARIVariantsValidateAgainstTheSchema(t *testing.T) {
	res := parsed(t, "opentravel_OTA_HotelResNotifRQ_new.xml")
	mod := parsed(t, "opentravel_OTA_HotelResModifyNotifRQ_modify.xml")
	can := parsed(t, "weekendesk_OTA_CancelRQ.xml")
	noid := parsed(t, "opentravel_OTA_HotelResNotifRQ2_messagepassword.xml")
	warnUnmapped := Error{Type: TypeBizRule, Code: CodeRoomRateNotFound, Msg: "room/rate X/Y is not mapped"}
	rec := func(id string, n int) Reservation {
		r := res.Reservations[0]
		r.ID, r.Record, r.IDs = id, n, []ResID{{Type: "14", Value: id}}
		return r
	}
	mixed := []Result{
		{Record: rec("A", 1), OurID: "1", Status: "Cancelled"},
		{Record: rec("B", 2), OurID: "2", Status: "Committed"},
		{Record: rec("C", 3), OurID: "3", Status: "Modified"},
		{Record: rec("D", 4), Status: "Pending", Warnings: []Error{{Type: TypeAdvisory, Msg: "not booked"}}},
		{Record: rec("E", 5), Status: "Ignored"},
		{Record: rec("F", 6), Err: Errorf(TypeBizRule, CodeInvalidDate, "bad")},
	}
	test := *res
	test.Target = "Test"
	cases := []struct {
		name, schema string
		doc          []byte
	}{
		{"unmapped warning", "OTA_HotelResNotifRS", Reply(res, []Result{{Record: res.Reservations[0], OurID: "5", Status: "Committed", Warnings: []Error{warnUnmapped}}}, now)},
		{"record without an id", "OTA_HotelResNotifRS", Reply(noid, []Result{{Record: noid.Reservations[0], Err: noid.Reservations[0].Problem}}, now)},
		{"pending", "OTA_HotelResNotifRS", Reply(res, []Result{{Record: res.Reservations[0], OurID: "5", Status: "Pending"}}, now)},
		{"initiated", "OTA_HotelResNotifRS", Reply(res, []Result{{Record: res.Reservations[0], Status: "Pending", Warnings: []Error{{Type: TypeAdvisory, Msg: "not booked"}}}}, now)},
		{"ignored", "OTA_HotelResNotifRS", Reply(res, []Result{{Record: res.Reservations[0], Status: "Ignored"}}, now)},
		{"mixed batch", "OTA_HotelResNotifRS", Reply(res, mixed, now)},
		{"mixed modifications", "OTA_HotelResModifyNotifRS", Reply(mod, []Result{{Record: mod.Reservations[0], OurID: "1", Status: "Modified"}, {Record: mod.Reservations[0], OurID: "1", Status: "Cancelled"}}, now)},
		{"modification", "OTA_HotelResModifyNotifRS", Reply(mod, []Result{{Record: mod.Reservations[0], OurID: "1", Status: "Modified"}}, now)},
		{"cancellation pending", "OTA_CancelRS", Reply(can, []Result{{Record: can.Reservations[0], OurID: "5", Status: "Pending"}}, now)},
		{"cancellation ignored", "OTA_CancelRS", Reply(can, []Result{{Record: can.Reservations[0], Status: "Ignored"}}, now)},
		{"test refused", "OTA_HotelResNotifRS", Reply(&test, []Result{{Record: res.Reservations[0], Err: TestRefused()}}, now)},
		{"SOAP 1.1 error", "OTA_HotelResNotifRS", ErrorReply(&Message{Header: Header{Name: "OTA_HotelResNotifRQ", Envelope: SOAP11, EchoToken: "x"}}, []*Error{Errorf(TypeAuthentication, CodeAuthorization, "bad")}, now)},
		{"SOAP 1.2 success", "OTA_HotelResNotifRS", Reply(&Message{Header: Header{Name: "OTA_HotelResNotifRQ", Envelope: SOAP12, MessageID: "m"}, Reservations: res.Reservations}, []Result{{Record: res.Reservations[0], OurID: "5", Status: "Committed"}}, now)},
		{"SOAP 1.1 cancellation error", "OTA_CancelRS", ErrorReply(&Message{Header: Header{Name: "OTA_CancelRQ", Envelope: SOAP11}}, []*Error{Errorf(TypeProtocol, 0, "x")}, now)},
		{"over-long EchoToken", "OTA_HotelResNotifRS", Reply(&Message{Header: Header{Name: "OTA_HotelResNotifRQ", EchoToken: strings.Repeat("a", 200), Version: "2.001"}}, nil, now)},
		{"empty acknowledgement", "OTA_HotelResNotifRS", EncodeResNotifRS(Out{TimeStamp: now}, nil)},
		{"empty modification reply", "OTA_HotelResModifyNotifRS", Reply(&Message{Header: Header{Name: "OTA_HotelResModifyNotifRQ"}}, nil, now)},
		{"availability below zero", "OTA_HotelAvailNotifRQ", EncodeAvailNotif(Out{HotelCode: "H", TimeStamp: now}, []connectors.Availability{{Room: "DBL", From: inventory.MustDate("2026-12-01"), To: inventory.MustDate("2026-12-02"), Available: -3}})},
		{"availability in SOAP 1.2", "OTA_HotelAvailNotifRQ", EncodeAvailNotif(Out{Envelope: SOAP12, HotelCode: "H", Username: "u", Password: "p", TimeStamp: now}, items())},
		{"counts without a hotel code", "OTA_HotelInvCountNotifRQ", EncodeInvCountNotif(Out{TimeStamp: now}, items())},
		{"availability without a hotel code", "OTA_HotelAvailNotifRQ", EncodeAvailNotif(Out{TimeStamp: now}, items())},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			validate(t, c.schema, otaElement(t, c.doc))
		})
	}
}
