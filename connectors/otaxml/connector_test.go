package otaxml

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/keyrack/keyrack/connectors"
)

// channel is a fake OTA channel: it parses what it receives and answers
// with answer(m).
type channel struct {
	t      *testing.T
	got    *Message
	req    *http.Request
	answer func(m *Message) []byte
}

func (c *channel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := ReadBody(r.Body, r.Header.Get("Content-Encoding"), 1<<20)
	if err != nil {
		c.t.Errorf("channel: %v", err)
	}
	m, err := Parse(body)
	if err != nil {
		c.t.Errorf("channel cannot parse the push: %v\n%s", err, body)
	}
	c.got, c.req = m, r
	w.Write(c.answer(m))
}

func push(t *testing.T, ch connectors.Channel, answer func(*Message) []byte) (*channel, connectors.Ack, error) {
	fake := &channel{t: t, answer: answer}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	ch.Endpoint = srv.URL
	c := &Connector{Client: srv.Client()}
	ack, err := c.Push(context.Background(), ch, connectors.Update{Items: items()})
	return fake, ack, err
}

func success(m *Message) []byte { return Reply(m, nil, now) }

func TestPushRawAvail(t *testing.T) {
	ch := connectors.Channel{Property: "p", Code: "bdc", HotelCode: "H1", Username: "user", Secret: "pw"}
	fake, ack, err := push(t, ch, success)
	if err != nil || len(ack.Rejected) != 0 {
		t.Fatalf("push: %v %+v", err, ack)
	}
	if u, p, ok := fake.req.BasicAuth(); !ok || u != "user" || p != "pw" {
		t.Errorf("basic auth %q %q %v", u, p, ok)
	}
	if fake.got.Name != "OTA_HotelAvailNotifRQ" || fake.got.HotelCode != "H1" || len(fake.got.Avail) != 2 {
		t.Errorf("channel got %+v", fake.got)
	}
}

func TestPushSOAP(t *testing.T) {
	for _, env := range []string{"soap11", "soap12"} {
		ch := connectors.Channel{HotelCode: "H1", Username: "user", Secret: "pw", Envelope: env, Message: "invcount"}
		fake, _, err := push(t, ch, success)
		if err != nil {
			t.Fatalf("%s: %v", env, err)
		}
		if _, _, ok := fake.req.BasicAuth(); ok {
			t.Errorf("%s: basic auth sent with WS-Security", env)
		}
		if tok := fake.got.UsernameToken; tok == nil || tok.Username != "user" || tok.Password != "pw" {
			t.Errorf("%s: token %+v", env, tok)
		}
		if fake.got.Name != "OTA_HotelInvCountNotifRQ" || len(fake.got.Counts) != 2 || fake.got.Counts[1].Count != 0 {
			t.Errorf("%s: got %+v", env, fake.got)
		}
		if env == "soap11" && !strings.Contains(fake.req.Header.Get("SOAPAction"), "OTA_HotelInvCountNotifRQ") {
			t.Errorf("SOAPAction %q", fake.req.Header.Get("SOAPAction"))
		}
		if env == "soap12" && (fake.got.MessageID == "" || !strings.HasPrefix(fake.req.Header.Get("Content-Type"), "application/soap+xml")) {
			t.Errorf("soap12 headers %+v", fake.got.Header)
		}
	}
}

func TestPushErrors(t *testing.T) {
	cases := []struct {
		name string
		errs []*Error
		kind connectors.Kind
	}{
		{"authentication", []*Error{Errorf(TypeAuthentication, CodeAuthorization, "Invalid credentials for hotel H1")}, connectors.KindPermanent},
		{"business rule", []*Error{Errorf(TypeBizRule, CodeInvalidHotel, "Hotel H1 unknown")}, connectors.KindPermanent},
		{"processing", []*Error{Errorf(TypeProcessing, 0, "database busy")}, connectors.KindRetryable},
		{"system error code", []*Error{Errorf(TypeBizRule, CodeSystemError, "try later")}, connectors.KindRetryable},
		{"mixed", []*Error{Errorf(TypeProcessing, 0, "busy"), Errorf(TypeAuthorization, 0, "not yours")}, connectors.KindPermanent},
	}
	for _, c := range cases {
		_, _, err := push(t, connectors.Channel{HotelCode: "H1"}, func(m *Message) []byte { return ErrorReply(m, c.errs, now) })
		if err == nil || connectors.KindOf(err) != c.kind {
			t.Errorf("%s: %v, want %s", c.name, err, c.kind)
			continue
		}
		if !strings.Contains(err.Error(), c.errs[0].Msg) {
			t.Errorf("%s: error text %q lacks the channel's message", c.name, err)
		}
	}
	// Unreadable answers and HTTP failures.
	_, _, err := push(t, connectors.Channel{}, func(*Message) []byte { return []byte("<html>oops</html>") })
	if connectors.KindOf(err) != connectors.KindRetryable {
		t.Errorf("unreadable answer: %v", err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		http.Error(w, "no", http.StatusUnauthorized)
	}))
	defer srv.Close()
	_, err = (&Connector{}).Push(context.Background(), connectors.Channel{Endpoint: srv.URL}, connectors.Update{Items: items()})
	var ce *connectors.Error
	if !errors.As(err, &ce) || ce.Status != 401 || ce.Kind != connectors.KindPermanent {
		t.Errorf("401: %v", err)
	}
	for _, ch := range []connectors.Channel{{}, {Endpoint: srv.URL, Envelope: "soap13"}, {Endpoint: srv.URL, Message: "rates"}} {
		if _, err := (&Connector{}).Push(context.Background(), ch, connectors.Update{}); connectors.KindOf(err) != connectors.KindPermanent {
			t.Errorf("%+v: %v, want permanent", ch, err)
		}
	}
}

func TestPushRejectedItems(t *testing.T) {
	_, ack, err := push(t, connectors.Channel{HotelCode: "H1"}, func(m *Message) []byte {
		rs := string(Reply(m, nil, now))
		return []byte(strings.Replace(rs, "<Success/>", `<Success/><Warnings><Warning Type="3" Code="402" RecordID="2" Status="NotProcessed">Room SGL unknown</Warning><Warning Type="11" RecordID="9">ignored: no such item</Warning></Warnings>`, 1))
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ack.Rejected) != 1 || ack.Rejected[0].Item != 1 || !strings.Contains(ack.Rejected[0].Reason, "Room SGL unknown") {
		t.Errorf("rejected %+v", ack.Rejected)
	}
	// Errors that each name an item reject those items instead of the push.
	_, ack, err = push(t, connectors.Channel{HotelCode: "H1"}, func(m *Message) []byte {
		return ErrorReply(m, []*Error{{Type: TypeBizRule, Code: CodeInvalidRoomType, RecordID: "1", Msg: "Room DBL unknown"}}, now)
	})
	if err != nil || len(ack.Rejected) != 1 || ack.Rejected[0].Item != 0 {
		t.Errorf("errors with RecordID: %v %+v", err, ack)
	}
}

// A channel endpoint that answers with a redirect has not taken the push:
// followed, a 302 became a GET without the message (with the channel's
// credentials), and an OTA success answer to it counted as acknowledged.
// The push fails for good instead, naming where the endpoint points.
func TestAPushAnsweredWithARedirectIsNotAcknowledged(t *testing.T) {
	var got []string
	final := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Method)
		w.Write(Reply(&Message{Header: Header{Name: "OTA_HotelAvailNotifRQ"}}, nil, now))
	}))
	defer final.Close()
	moved := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, final.URL+"/ari", http.StatusFound)
	}))
	defer moved.Close()
	ch := connectors.Channel{Property: "p", Code: "bdc", HotelCode: "H1", Username: "user", Secret: "pw", Endpoint: moved.URL}
	for _, c := range []*Connector{{}, {Client: moved.Client()}} {
		_, err := c.Push(context.Background(), ch, connectors.Update{Items: items()})
		if err == nil || connectors.KindOf(err) != connectors.KindPermanent || !strings.Contains(err.Error(), final.URL+"/ari") {
			t.Fatalf("push to a redirecting endpoint: %v (kind %v)", err, connectors.KindOf(err))
		}
	}
	if len(got) != 0 {
		t.Errorf("the redirect was followed: %v", got)
	}
}
