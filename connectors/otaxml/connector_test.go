package otaxml

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/keyrack/keyrack/connectors"
	"github.com/keyrack/keyrack/inventory"
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
	// Errors that each name an item reject those items instead of the push
	// (and the others go again: TestItemsOfAMessageRefusedAsAWholeAreSentAgainWithoutTheRefusedOne).
	answered := 0
	_, ack, err = push(t, connectors.Channel{HotelCode: "H1"}, func(m *Message) []byte {
		if answered++; answered > 1 {
			return success(m)
		}
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

// siteMinderLimit is the largest message SiteMinder's pmsXchange takes; it
// answers a SOAP fault to anything longer.
const siteMinderLimit = 2_000_000

// ariChannel is a fake OTA channel taking several ARI messages: it refuses
// any message over siteMinderLimit, believes each room and night it is
// told, and answers message n (1-based) with answer(n, m) when that is not
// nil (nothing applied), Success otherwise.
type ariChannel struct {
	t      *testing.T
	mu     gosync.Mutex
	bodies [][]byte
	values map[string]map[inventory.Date]int
	starts map[string][]inventory.Date // each room's ranges, in the order received
	answer func(n int, m *Message) []byte
	// unavailable is the message answered HTTP 503 (0: none).
	unavailable int
}

func newARIChannel(t *testing.T, answer func(n int, m *Message) []byte) (*ariChannel, connectors.Channel) {
	c := &ariChannel{t: t, values: map[string]map[inventory.Date]int{}, starts: map[string][]inventory.Date{}, answer: answer}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return c, connectors.Channel{Property: "p", Code: "sm", HotelCode: "H1", Endpoint: srv.URL}
}

func (c *ariChannel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := ReadBody(r.Body, r.Header.Get("Content-Encoding"), 64<<20)
	if err != nil {
		c.t.Errorf("channel: %v", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bodies = append(c.bodies, body)
	if len(c.bodies) == c.unavailable {
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
		return
	}
	if len(body) > siteMinderLimit {
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault><faultcode>soap:Client</faultcode><faultstring>message of %d bytes exceeds the 2 MB limit</faultstring></soap:Fault></soap:Body></soap:Envelope>`, len(body))
		return
	}
	m, err := Parse(body)
	if err != nil {
		c.t.Errorf("channel cannot parse the push: %v", err)
		return
	}
	if c.answer != nil {
		if rs := c.answer(len(c.bodies), m); rs != nil {
			w.Write(rs)
			return
		}
	}
	set := func(room string, start, end inventory.Date, v int) {
		c.starts[room] = append(c.starts[room], start)
		if c.values[room] == nil {
			c.values[room] = map[inventory.Date]int{}
		}
		for d := start; !end.Before(d); d = d.AddDays(1) {
			c.values[room][d] = v
		}
	}
	for _, a := range m.Avail {
		set(a.Room, a.Start, a.End, *a.BookingLimit)
	}
	for _, n := range m.Counts {
		set(n.Room, n.Start, n.End, n.Count)
	}
	w.Write(Reply(m, nil, now))
}

// fullResync is a full resync of a hotel of rooms mapped rooms over nights
// nights whose availability changes every night: one item per room and
// night, in the order the fan-out sends them (night by night).
func fullResync(rooms, nights int) []connectors.Availability {
	first := inventory.MustDate("2026-12-01")
	var items []connectors.Availability
	for n := range nights {
		for r := range rooms {
			v := 0
			if n%2 == 0 {
				v = r + 1
			}
			items = append(items, connectors.Availability{Room: fmt.Sprintf("ROOM-%02d", r), From: first.AddDays(n), To: first.AddDays(n + 1), Available: v})
		}
	}
	return items
}

// A full resync of a hotel with 40 rooms whose availability changes night
// to night is about 3 MB of OTA XML: sent as one message, SiteMinder
// refused it every time and the channel was dead-lettered with a year of
// stale nights. It goes out as several messages of at most 1 MiB each,
// every one valid, a room's ranges in order, and the channel ends up
// holding every value.
func TestAFullResyncOfALargeHotelGoesOutInMessagesTheChannelTakes(t *testing.T) {
	items := fullResync(40, 365)
	for _, message := range []string{"avail", "invcount"} {
		t.Run(message, func(t *testing.T) {
			fake, ch := newARIChannel(t, nil)
			ch.Message = message
			ack, err := (&Connector{}).Push(context.Background(), ch, connectors.Update{Items: items, Full: true})
			if err != nil || len(ack.Rejected) != 0 {
				t.Fatalf("push: %v %+v", err, ack.Rejected)
			}
			if len(fake.bodies) < 2 {
				t.Errorf("%d message(s) for %d items", len(fake.bodies), len(items))
			}
			name := map[string]string{"avail": "OTA_HotelAvailNotifRQ", "invcount": "OTA_HotelInvCountNotifRQ"}[message]
			echoes := map[string]bool{}
			for i, b := range fake.bodies {
				if len(b) > 1<<20 {
					t.Errorf("message %d is %d bytes, over 1 MiB", i+1, len(b))
				}
				validate(t, name, b)
				m, _ := Parse(b)
				if echoes[m.EchoToken] {
					t.Errorf("message %d repeats EchoToken %q", i+1, m.EchoToken)
				}
				echoes[m.EchoToken] = true
			}
			for _, it := range items {
				if v, ok := fake.values[it.Room][it.From]; !ok || v != it.Available {
					t.Fatalf("the channel holds %d (%v) for %s on %s, want %d", v, ok, it.Room, it.From, it.Available)
				}
			}
			for room, starts := range fake.starts {
				inOrder := slices.IsSortedFunc(starts, func(a, b inventory.Date) int {
					if a.Before(b) {
						return -1
					}
					return 0
				})
				if len(starts) != 365 || !inOrder {
					t.Errorf("room %s: %d ranges, in order %v", room, len(starts), inOrder)
				}
			}
		})
	}
}

// One message of a push failing fails the push: the delivery is retried
// and sends every message again. What the channel said is kept.
func TestAFailedSecondMessageFailsThePush(t *testing.T) {
	items := fullResync(40, 365)
	fake, ch := newARIChannel(t, func(n int, m *Message) []byte {
		if n == 2 {
			return ErrorReply(m, []*Error{Errorf(TypeProcessing, 0, "database busy")}, now)
		}
		return nil
	})
	ack, err := (&Connector{}).Push(context.Background(), ch, connectors.Update{Items: items, Full: true})
	if err == nil || connectors.KindOf(err) != connectors.KindRetryable || !strings.Contains(err.Error(), "database busy") {
		t.Fatalf("push: %v (kind %v) %+v, want a retryable failure naming the channel's error", err, connectors.KindOf(err), ack)
	}
	if len(fake.bodies) != 2 {
		t.Errorf("%d messages sent, want the push to stop at the failed second", len(fake.bodies))
	}
	// An HTTP failure of the second message too.
	fake, ch = newARIChannel(t, nil)
	fake.unavailable = 2
	if _, err := (&Connector{}).Push(context.Background(), ch, connectors.Update{Items: items}); err == nil || connectors.KindOf(err) != connectors.KindRetryable || len(fake.bodies) != 2 {
		t.Errorf("a 503 to the second message: %v after %d messages", err, len(fake.bodies))
	}
}

// A channel refusing an item of the second message (a room it does not
// know) rejects that item — named by its place in the update, not in the
// message — and only it.
func TestARefusalInTheSecondMessageIsReportedForItsItem(t *testing.T) {
	items := fullResync(40, 365)
	var refusedRecord int
	var refusedRoom string
	var refusedStart inventory.Date
	fake, ch := newARIChannel(t, func(n int, m *Message) []byte {
		if n != 2 {
			return nil
		}
		refusedRecord = len(m.Avail) / 2
		a := m.Avail[refusedRecord-1]
		refusedRoom, refusedStart = a.Room, a.Start
		rs := string(Reply(m, nil, now))
		return []byte(strings.Replace(rs, "<Success/>", fmt.Sprintf(`<Success/><Warnings><Warning Type="3" Code="402" RecordID="%d" Status="NotProcessed">Room %s unknown</Warning></Warnings>`, refusedRecord, a.Room), 1))
	})
	ack, err := (&Connector{}).Push(context.Background(), ch, connectors.Update{Items: items, Full: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(fake.bodies) < 3 {
		t.Fatalf("%d messages, want at least 3", len(fake.bodies))
	}
	if len(ack.Rejected) != 1 {
		t.Fatalf("rejected %+v, want one item", ack.Rejected)
	}
	it := items[ack.Rejected[0].Item]
	if it.Room != refusedRoom || it.From != refusedStart || !strings.Contains(ack.Rejected[0].Reason, "Room "+refusedRoom+" unknown") {
		t.Errorf("rejected item %d (%s from %s: %s), want %s from %s (record %d of the second message)",
			ack.Rejected[0].Item, it.Room, it.From, ack.Rejected[0].Reason, refusedRoom, refusedStart, refusedRecord)
	}
}

// A channel with a smaller cap gets smaller messages, SOAP envelope
// included; an item too long for any message still goes, alone.
func TestMaxMessageCapsEachMessageEnvelopeIncluded(t *testing.T) {
	items := fullResync(3, 20)
	fake, ch := newARIChannel(t, nil)
	ch.Envelope, ch.Username, ch.Secret = "soap12", "user", "pw"
	if _, err := (&Connector{MaxMessage: 4000}).Push(context.Background(), ch, connectors.Update{Items: items}); err != nil {
		t.Fatal(err)
	}
	if len(fake.bodies) < 3 {
		t.Errorf("%d messages", len(fake.bodies))
	}
	for i, b := range fake.bodies {
		if len(b) > 4000 {
			t.Errorf("message %d is %d bytes", i+1, len(b))
		}
	}
	if len(fake.values) != 3 || len(fake.values["ROOM-02"]) != 20 {
		t.Errorf("the channel holds %v", fake.values)
	}
	fake, ch = newARIChannel(t, nil)
	if _, err := (&Connector{MaxMessage: 100}).Push(context.Background(), ch, connectors.Update{Items: items[:3]}); err != nil || len(fake.bodies) != 3 {
		t.Errorf("items longer than the cap: %v, %d messages", err, len(fake.bodies))
	}
}

// Every message of a split push after the first waits for the channel's
// Pace (its rate limit), and each has the RequestTimeout of its own: a push
// of eight messages of 250 ms each gets through with a second a request.
// (Each message leaves its timeout ample room, so a slow, loaded machine
// does not fail it; together they take twice the timeout, so one timeout
// for the whole push would.)
func TestEachMessageOfASplitPushIsPacedAndTimedOnItsOwn(t *testing.T) {
	const delay, timeout = 250 * time.Millisecond, time.Second
	items := fullResync(3, 40)
	fake, ch := newARIChannel(t, func(n int, m *Message) []byte {
		time.Sleep(delay)
		return nil
	})
	var paced []int
	ch.Pace = func(context.Context) error {
		paced = append(paced, len(fake.bodies))
		return nil
	}
	ch.RequestTimeout = timeout
	if _, err := (&Connector{MaxMessage: 4000}).Push(context.Background(), ch, connectors.Update{Items: items}); err != nil {
		t.Fatal(err)
	}
	if time.Duration(len(fake.bodies))*delay < 2*timeout {
		t.Fatalf("%d messages of %s: not enough to outlast one timeout of %s for the whole push", len(fake.bodies), delay, timeout)
	}
	if len(paced) != len(fake.bodies)-1 || paced[0] != 1 {
		t.Errorf("%d messages, paced before messages %v: want before every message but the first", len(fake.bodies), paced)
	}
	// A message slower than RequestTimeout fails the push.
	fake, ch = newARIChannel(t, func(n int, m *Message) []byte {
		if n == 2 {
			time.Sleep(400 * time.Millisecond)
		}
		return nil
	})
	ch.RequestTimeout = 250 * time.Millisecond // a slower machine only times it out sooner
	if _, err := (&Connector{MaxMessage: 4000}).Push(context.Background(), ch, connectors.Update{Items: items}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a message slower than its timeout: %v", err)
	}
	// A pace that fails ends the push before its message goes.
	fake, ch = newARIChannel(t, nil)
	ch.Pace = func(context.Context) error { return errors.New("stop") }
	if _, err := (&Connector{MaxMessage: 4000}).Push(context.Background(), ch, connectors.Update{Items: items}); err == nil || len(fake.bodies) != 1 {
		t.Errorf("a failed pace: %v after %d messages", err, len(fake.bodies))
	}
}

// A push the client's guard refuses (an endpoint at a metadata address)
// would be refused on every retry: it fails for good at once.
func TestAPushToARefusedAddressFailsForGood(t *testing.T) {
	_, ch := newARIChannel(t, nil)
	ch.Endpoint = "http://169.254.169.254/latest/meta-data/"
	_, err := (&Connector{Client: connectors.EndpointClient()}).Push(context.Background(), ch, connectors.Update{Items: fullResync(1, 1)})
	var refused *connectors.PrivateAddressError
	if !errors.As(err, &refused) || connectors.KindOf(err) != connectors.KindPermanent {
		t.Errorf("a push to a metadata address: %v (kind %v), want a permanent refusal", err, connectors.KindOf(err))
	}
}
