package otaxml

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/keyrack/keyrack/connectors"
	"github.com/keyrack/keyrack/inventory"
)

// An OTA that refuses a message because of one of its items answers Errors
// naming that item and no Success (Booking.com: "the presence of Errors
// usually means the request was rejected completely and no changes were
// made"; SiteMinder: the update cannot be processed). The other items were
// not taken: counted as acknowledged, they were never sent again and the
// channel kept selling what it held before. They go again, without the
// refused item, and only that item is rejected.
func TestItemsOfAMessageRefusedAsAWholeAreSentAgainWithoutTheRefusedOne(t *testing.T) {
	fake, ch := newARIChannel(t, func(n int, m *Message) []byte {
		if n == 1 {
			return ErrorReply(m, []*Error{{Type: TypeBizRule, Code: CodeInvalidRoomType, RecordID: "2", Status: "NotProcessed", Msg: "Room SGL unknown"}}, now)
		}
		return nil
	})
	ack, err := (&Connector{}).Push(context.Background(), ch, connectors.Update{Items: items()})
	if err != nil {
		t.Fatal(err)
	}
	if len(ack.Rejected) != 1 || ack.Rejected[0].Item != 1 {
		t.Errorf("rejected %+v, want item 1 (SGL) only", ack.Rejected)
	}
	if len(fake.bodies) != 2 {
		t.Fatalf("%d messages sent, want the refused one and DBL again", len(fake.bodies))
	}
	if v, ok := fake.values["DBL"][inventory.MustDate("2026-12-03")]; !ok || v != 5 {
		t.Errorf("the channel holds DBL %d (%v), want 5: the item it did not refuse was not sent again", v, ok)
	}
	if _, ok := fake.values["SGL"]; ok {
		t.Errorf("the refused SGL was sent again")
	}
	m, err := Parse(fake.bodies[1])
	if err != nil || len(m.Avail) != 1 || m.EchoToken == "" {
		t.Fatalf("second message: %v %+v", err, m)
	}
	validate(t, "OTA_HotelAvailNotifRQ", fake.bodies[1])
	if first, _ := Parse(fake.bodies[0]); first.EchoToken == m.EchoToken {
		t.Errorf("the message sent again repeats EchoToken %q", m.EchoToken)
	}

	// The channel refusing the message again for the other item too: both
	// are rejected, and nothing more is sent.
	fake, ch = newARIChannel(t, func(n int, m *Message) []byte {
		return ErrorReply(m, []*Error{{Type: TypeBizRule, Code: CodeInvalidRoomType, RecordID: "1", Msg: "no"}}, now)
	})
	ack, err = (&Connector{}).Push(context.Background(), ch, connectors.Update{Items: items()})
	if err != nil || len(ack.Rejected) != 2 || len(fake.bodies) != 2 {
		t.Errorf("refused item by item: %v %+v after %d messages", err, ack.Rejected, len(fake.bodies))
	}
}

// An OTA naming one item in two Errors (its room unknown, its dates out of
// range) refused that item, not the message: the second Error was taken for
// one about the whole message and failed the push for good, holding back
// every other room of the channel until staff stepped in.
func TestTwoErrorsNamingOneItemRejectThatItemOnly(t *testing.T) {
	_, ch := newARIChannel(t, func(n int, m *Message) []byte {
		rs := string(Reply(m, nil, now))
		return []byte(strings.Replace(rs, "<Success/>", `<Success/><Errors>`+
			`<Error Type="3" Code="402" RecordID="2" Status="NotProcessed">Room SGL unknown</Error>`+
			`<Error Type="3" Code="15" RecordID="2" Status="NotProcessed">End beyond the horizon</Error></Errors>`, 1))
	})
	ack, err := (&Connector{}).Push(context.Background(), ch, connectors.Update{Items: items()})
	if err != nil || len(ack.Rejected) != 1 || ack.Rejected[0].Item != 1 {
		t.Errorf("push: %v (kind %v) %+v, want item 1 rejected and no failure", err, connectors.KindOf(err), ack.Rejected)
	}
}

// A channel answering a SOAP fault (HTTP 500, as SOAP 1.1 has it) that
// blames keyrack's message — its credentials refused, a message too large —
// would answer the same push the same way: the push fails for good at once
// (retried for an hour, wrong credentials sent over and over can lock the
// account at the channel), and the fault's reason, past the envelope's
// namespaces and header, is in the error staff read. A fault on the
// channel's side is retried, its reason kept too.
func TestASOAPFaultIsClassifiedByItsCodeAndNamesItsReason(t *testing.T) {
	const head = `<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" ` +
		`xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` +
		`<SOAP-ENV:Header><wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"/></SOAP-ENV:Header><SOAP-ENV:Body>`
	cases := []struct {
		name, fault string
		status      int
		kind        connectors.Kind
		reason      string
	}{
		{"credentials refused", `<SOAP-ENV:Fault><faultcode>SOAP-ENV:Client</faultcode><faultstring>Authentication failed: unknown username or wrong password</faultstring></SOAP-ENV:Fault>`,
			http.StatusInternalServerError, connectors.KindPermanent, "Authentication failed"},
		{"refinement of Client", `<SOAP-ENV:Fault><faultcode>SOAP-ENV:Client.Authentication</faultcode><faultstring>Invalid security token</faultstring></SOAP-ENV:Fault>`,
			http.StatusInternalServerError, connectors.KindPermanent, "Invalid security token"},
		{"SOAP 1.2 sender", `<env:Fault xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Code><env:Value>env:Sender</env:Value></env:Code><env:Reason><env:Text xml:lang="en">wsse:FailedAuthentication</env:Text></env:Reason></env:Fault>`,
			http.StatusInternalServerError, connectors.KindPermanent, "wsse:FailedAuthentication"},
		{"server", `<SOAP-ENV:Fault><faultcode>SOAP-ENV:Server</faultcode><faultstring>Inventory service temporarily unavailable</faultstring></SOAP-ENV:Fault>`,
			http.StatusInternalServerError, connectors.KindRetryable, "Inventory service temporarily unavailable"},
		{"in HTTP 200", `<SOAP-ENV:Fault><faultcode>SOAP-ENV:Client</faultcode><faultstring>Message exceeds the 2 MB limit</faultstring></SOAP-ENV:Fault>`,
			http.StatusOK, connectors.KindPermanent, "exceeds the 2 MB limit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sent := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				sent++
				w.Header().Set("Content-Type", "text/xml; charset=utf-8")
				w.WriteHeader(c.status)
				io.WriteString(w, head+c.fault+`</SOAP-ENV:Body></SOAP-ENV:Envelope>`)
			}))
			defer srv.Close()
			ch := connectors.Channel{Property: "p", Code: "sm", HotelCode: "H1", Envelope: "soap11", Username: "u", Secret: "wrong", Endpoint: srv.URL}
			_, err := (&Connector{}).Push(context.Background(), ch, connectors.Update{Items: items()})
			if err == nil || connectors.KindOf(err) != c.kind || !strings.Contains(err.Error(), c.reason) {
				t.Errorf("push: %v (kind %v), want %v naming %q", err, connectors.KindOf(err), c.kind, c.reason)
			}
			if sent != 1 {
				t.Errorf("%d requests", sent)
			}
		})
	}
}

// An endpoint answering a web page with HTTP 200 (a login or maintenance
// page, a URL that is not the channel's ARI service) was reported to staff
// as "DOCTYPE declarations are refused: send the message without a DTD",
// which points at keyrack's own message. The error says the channel
// answered a web page; the push is retried as before.
func TestAnHTMLAnswerIsReportedAsAWebPage(t *testing.T) {
	_, _, err := push(t, connectors.Channel{HotelCode: "H1"}, func(*Message) []byte {
		return []byte("<!DOCTYPE html>\n<html><head><title>Scheduled maintenance</title></head><body>Back soon</body></html>")
	})
	if err == nil || connectors.KindOf(err) != connectors.KindRetryable || !strings.Contains(err.Error(), "web page") ||
		!strings.Contains(err.Error(), "Scheduled maintenance") || strings.Contains(err.Error(), "DTD") {
		t.Errorf("an HTML answer: %v (kind %v)", err, connectors.KindOf(err))
	}
}
