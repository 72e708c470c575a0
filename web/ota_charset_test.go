package web_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/keyrack/keyrack/sync"
	"github.com/stretchr/testify/require"
)

// guestNames are guests' names in several scripts, as channels send them.
var guestNames = map[string]string{
	"GR":  "Ελευθέριος Παπαδόπουλος",
	"AR":  "محمد عبد الله",
	"ZH":  "王小明",
	"EMO": "Zoë 🏖️ 👨‍👩‍👧",
	"DEC": "Jose\u0301 Garci\u0301a",
	"LNG": strings.Repeat("Ελευθερία ", 35) + "محمد",
}

// withGuest is resNotif with the guest's given name and surname.
func withGuest(body []byte, given, surname string) []byte {
	return []byte(strings.Replace(string(body), "<GivenName>Ana</GivenName><Surname>Silva</Surname>",
		"<GivenName>"+given+"</GivenName><Surname>"+surname+"</Surname>", 1))
}

// A guest's name in any script, sent by OTA XML or by the PMS API, is
// stored as sent and reaches the API and the PMS's feed unchanged.
func TestAGuestsNameInAnyScriptArrivesWhole(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 50)
	e.otaChannel("P", "bdc", "ota_push", "HTL-P", "u", "s", nil)
	f, _, _ := e.withFanout(func(c *sync.Config) {
		c.FeedAckTimeout, c.ScheduleInterval, c.ResyncAt = 2*time.Second, 100*time.Millisecond, "off"
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = f.RunWorker(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	pmsKey := e.propertyKey("P")

	want := map[string]string{} // channel/id → name
	for id, name := range guestNames {
		given, surname, _ := strings.Cut(name, " ")
		r := e.otaPost("bdc", "u", "s", withGuest(resNotif("Commit", "OTA-"+id, "HTL-P", "2027-03-01", "2027-03-03"), given, surname))
		rs := otaRS(t, r)
		require.True(t, rs.Success, "%s", r.Body)
		want["bdc/OTA-"+id] = strings.Join(strings.Fields(name), " ")
		b := booking("API-"+id, "2027-03-01", "2027-03-03", 1)
		b["guest"] = map[string]any{"name": name}
		e.must(http.StatusCreated, "POST", "/api/v1/properties/P/reservations", b, "Authorization", "Bearer "+pmsKey)
		want["pms/API-"+id] = name
	}
	for k, name := range want {
		ch, id, _ := strings.Cut(k, "/")
		got := e.must(http.StatusOK, "GET", "/api/v1/properties/P/reservations/"+ch+"/"+id, nil).JSON(t)
		require.Equal(t, name, got["guest"].(map[string]any)["name"], k)
	}
	// The PMS's feed carries the OTA bookings with their names.
	seen := map[string]string{}
	require.Eventually(t, func() bool {
		r := e.do("GET", "/api/v1/revisions/feed?limit=100", pmsKey, nil)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		for _, x := range r.JSON(t)["revisions"].([]any) {
			rev := x.(map[string]any)
			seen["bdc/"+rev["external_id"].(string)] = rev["guest"].(map[string]any)["name"].(string)
		}
		return len(seen) == len(guestNames)
	}, deliveryWait, 50*time.Millisecond)
	for k, name := range seen {
		require.Equal(t, want[k], name, k)
	}
}

// A message from a Windows system in windows-1252 is kept as it was sent
// (its letters, not U+FFFD), so the raw message staff and support read
// on the booking's page shows the guest's name.
func TestARawMessageInWindows1252KeepsItsLetters(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 5)
	e.otaChannel("P", "bdc", "ota_push", "HTL-P", "u", "s", nil)
	body := withGuest(resNotif("Commit", "W-1", "HTL-P", "2027-03-01", "2027-03-03"), "Ren\xe9 \x8aimon", "Dupr\xe9")
	body = []byte(strings.Replace(string(body), `encoding="UTF-8"`, `encoding="windows-1252"`, 1))
	r := e.otaPost("bdc", "u", "s", body)
	require.True(t, otaRS(t, r).Success, "%s", r.Body)
	res, err := e.st.Reservation(context.Background(), "P", "bdc", "W-1")
	require.NoError(t, err)
	require.Equal(t, "René Šimon Dupré", res.Guest.Name)
	revs, err := e.st.Revisions(context.Background(), "P", res.ID)
	require.NoError(t, err)
	require.Len(t, revs, 1)
	require.NotContains(t, revs[0].Raw, "\uFFFD", "the raw message lost the guest's letters")
	require.Contains(t, revs[0].Raw, "René Šimon")
	require.Contains(t, revs[0].Raw, `encoding="UTF-8"`, "the kept text says what it is now")
	msgs, err := e.st.InboundMessages(context.Background(), "P", "bdc", 1)
	require.NoError(t, err)
	require.Contains(t, msgs[0].Raw, "René Šimon", "the inbound message keeps the letters too")
}

// A message in ISO-8859-1 that says so in its Content-Type only (charset
// in the HTTP header, the body with no XML declaration or one without an
// encoding — what a Java servlet writing Latin-1 sends) was refused as "not
// well-formed XML: invalid UTF-8": the booking was not recorded and the
// channel, told its message was malformed, sent it again and again. The
// media type's charset is authoritative over the body (RFC 7303); a body
// that is UTF-8 all the same (a server adding charset=utf-8 by default to
// a body declaring Latin-1) is read as it declares itself.
func TestAMessageInTheCharsetItsContentTypeNamesIsRead(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 5)
	e.otaChannel("P", "bdc", "ota_push", "HTL-P", "u", "s", nil)
	latin := withGuest(resNotif("Commit", "L-1", "HTL-P", "2027-03-01", "2027-03-03"), "Jos\xe9", "Mu\xf1oz")
	for _, c := range []struct {
		id, contentType string
		body            []byte
	}{
		{"L-1", "text/xml; charset=ISO-8859-1", []byte(strings.Replace(string(latin), `<?xml version="1.0" encoding="UTF-8"?>`, "", 1))},
		{"L-2", "application/xml;charset=\"latin1\"", []byte(strings.Replace(strings.Replace(string(latin), `L-1`, `L-2`, -1), ` encoding="UTF-8"`, "", 1))},
		{"L-3", "text/xml; charset=windows-1252", []byte(strings.Replace(string(latin), `L-1`, `L-3`, -1))},
	} {
		r := e.otaPost("bdc", "u", "s", c.body, "Content-Type", c.contentType)
		require.True(t, otaRS(t, r).Success, "%s: %s", c.id, r.Body)
		res, err := e.st.Reservation(context.Background(), "P", "bdc", c.id)
		require.NoError(t, err, c.id)
		require.Equal(t, "José Muñoz", res.Guest.Name, c.id)
		msgs, err := e.st.InboundMessages(context.Background(), "P", "bdc", 1)
		require.NoError(t, err)
		require.Contains(t, msgs[0].Raw, "<GivenName>José</GivenName><Surname>Muñoz</Surname>", c.id)
		require.NotContains(t, msgs[0].Raw, `encoding="ISO`, c.id)
	}
	// A UTF-8 header on a body declaring (and written in) Latin-1.
	declared := []byte(strings.Replace(strings.Replace(string(latin), `L-1`, `L-4`, -1), `encoding="UTF-8"`, `encoding="ISO-8859-1"`, 1))
	r := e.otaPost("bdc", "u", "s", declared, "Content-Type", "text/xml; charset=utf-8")
	require.True(t, otaRS(t, r).Success, "%s", r.Body)
	res, err := e.st.Reservation(context.Background(), "P", "bdc", "L-4")
	require.NoError(t, err)
	require.Equal(t, "José Muñoz", res.Guest.Name)
}

// A message starting with a byte order mark — the UTF-8 one many Windows
// and .NET systems write, or UTF-16, which every XML processor must read
// (XML 1.0 §4.3.3) — was refused: the UTF-8 mark as "text outside the root
// element: not an XML document", UTF-16 as "invalid UTF-8". The booking was
// not recorded, and the channel was told its message was no XML. Both are
// read, and kept as UTF-8 text.
func TestAMessageWithAByteOrderMarkIsRead(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 5)
	e.otaChannel("P", "bdc", "ota_push", "HTL-P", "u", "s", nil)
	msg := func(id string) string {
		return string(withGuest(resNotif("Commit", id, "HTL-P", "2027-03-01", "2027-03-03"), "José", "Muñoz"))
	}
	utf16 := func(s string, order binary.AppendByteOrder, bom []byte) []byte {
		out := bytes.Clone(bom)
		for _, u := range utf16.Encode([]rune(strings.Replace(s, `encoding="UTF-8"`, `encoding="UTF-16"`, 1))) {
			out = order.AppendUint16(out, u)
		}
		return out
	}
	for id, body := range map[string][]byte{
		"BOM-8":    append([]byte("\xef\xbb\xbf"), msg("BOM-8")...),
		"BOM-16LE": utf16(msg("BOM-16LE"), binary.LittleEndian, []byte{0xff, 0xfe}),
		"BOM-16BE": utf16(msg("BOM-16BE"), binary.BigEndian, []byte{0xfe, 0xff}),
	} {
		r := e.otaPost("bdc", "u", "s", body)
		require.True(t, otaRS(t, r).Success, "%s: %s", id, r.Body)
		res, err := e.st.Reservation(context.Background(), "P", "bdc", id)
		require.NoError(t, err, id)
		require.Equal(t, "José Muñoz", res.Guest.Name, id)
		revs, err := e.st.Revisions(context.Background(), "P", res.ID)
		require.NoError(t, err)
		require.Contains(t, revs[0].Raw, "<GivenName>José</GivenName>", id)
		require.NotContains(t, revs[0].Raw, "\x00", id)
	}
	require.Equal(t, 3, e.sold("P", "2027-03-01"))
}
