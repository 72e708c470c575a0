package otaxml

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/keyrack/keyrack/connectors"
)

// maxAnswer caps a channel's answer to a push.
const maxAnswer = 1 << 20

// Connector pushes availability as OTA_HotelAvailNotifRQ (channel Message
// "" or "avail") or OTA_HotelInvCountNotifRQ ("invcount"), raw with HTTP
// Basic or in SOAP with WS-Security, and reads the channel's RS.
type Connector struct {
	// Client sends the requests; http.DefaultClient when nil. Deadlines come
	// from the context Push is given.
	Client *http.Client
	// Now stamps the messages; time.Now when nil.
	Now func() time.Time
	// MaxMessage caps one message, envelope included, in bytes: an update
	// that would make a longer one goes out as several, one after the
	// other (EncodeARI). DefaultMaxMessage when 0.
	MaxMessage int
}

var _ connectors.Connector = (*Connector)(nil)

// Push sends u to ch.Endpoint, in as many messages as MaxMessage takes,
// one after the other, each paced and timed by ch.Request: the push
// succeeds only if every message does (a retry sends them all again, which
// is harmless since each value is absolute). An RS with Errors is a failed push, whose text carries the
// channel's own messages; Errors, and Warnings that are not advice, with a
// RecordID naming the 1-based position of an item in its message (its
// LocatorID) reject that item; when the RS has such Errors and no Success,
// the channel took nothing of the message, and its other items are sent
// again in a message of their own. A Warning that is not advice naming a
// record that is no item of the message fails the push as an Error naming
// no item does.
func (c *Connector) Push(ctx context.Context, ch connectors.Channel, u connectors.Update) (connectors.Ack, error) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	if ch.Endpoint == "" {
		return connectors.Ack{}, connectors.Permanent(fmt.Errorf("channel %s has no endpoint", ch))
	}
	env, err := ParseEnvelope(ch.Envelope)
	if err != nil {
		return connectors.Ack{}, connectors.Permanent(fmt.Errorf("channel %s: %w", ch, err))
	}
	o := Out{Envelope: env, HotelCode: ch.HotelCode, TimeStamp: now(), EchoToken: newMessageID()[9:]}
	if env != Raw {
		o.Username, o.Password, o.To = ch.Username, ch.Secret, ch.Endpoint
	}
	msgs, err := EncodeARI(o, ch.Message, u.Items, c.MaxMessage)
	if err != nil {
		return connectors.Ack{}, connectors.Permanent(fmt.Errorf("channel %s: %w", ch, err))
	}
	var ack connectors.Ack
	requests, resent := 0, 0
	for i, m := range msgs {
		// The update's items m holds, in order: its RecordID n is item
		// idx[n-1].
		idx := make([]int, m.Count)
		for k := range idx {
			idx[k] = m.First + k
		}
		for {
			var rejected []connectors.Rejection
			var warned []string
			var whole bool
			err := ch.Request(ctx, requests, func(ctx context.Context) (err error) {
				rejected, warned, whole, err = c.send(ctx, ch, env, m, idx, now)
				return err
			})
			requests++
			if err != nil {
				if len(msgs) > 1 {
					err = fmt.Errorf("message %d of %d: %w", i+1, len(msgs), err)
				}
				return connectors.Ack{}, err
			}
			ack.Rejected = append(ack.Rejected, rejected...)
			ack.Warnings = append(ack.Warnings, warned...)
			if !whole {
				break
			}
			// The channel refused the whole message (Errors, no Success)
			// for the items it named: it took none of the others, which
			// would otherwise count as acknowledged and not be sent again.
			// They go again without the refused ones (each round drops at
			// least one item, so this ends).
			out := map[int]bool{}
			for _, r := range rejected {
				out[r.Item] = true
			}
			idx = slices.DeleteFunc(idx, func(k int) bool { return out[k] })
			if len(idx) == 0 {
				break
			}
			resent++
			mo := o
			mo.EchoToken = o.EchoToken + "-r" + strconv.Itoa(resent)
			s, _ := ariShapeOf(ch.Message) // EncodeARI took it
			sub := make([]connectors.Availability, len(idx))
			for k, j := range idx {
				sub[k] = u.Items[j]
			}
			m = ARIMessage{Name: m.Name, Count: len(idx), Body: s.encode(mo, sub)}
		}
	}
	return ack, nil
}

// send posts one message of a push, whose items are the update's items idx
// in order, and reads the channel's RS: the items it refused (indexes into
// the update), its warnings that something was not processed naming no
// item, and whether it refused the whole message for them (Errors naming
// items, without Success), or the failure.
func (c *Connector) send(ctx context.Context, ch connectors.Channel, env Envelope, m ARIMessage, idx []int, now func() time.Time) (refused []connectors.Rejection, warned []string, whole bool, err error) {
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, ch.Endpoint, bytes.NewReader(m.Body))
	if err != nil {
		return nil, nil, false, connectors.Permanent(fmt.Errorf("channel %s: endpoint: %w", ch, err))
	}
	ct := env.ContentType()
	switch env {
	case Raw:
		if ch.Username != "" || ch.Secret != "" {
			hr.SetBasicAuth(ch.Username, ch.Secret)
		}
	case SOAP11:
		hr.Header.Set("SOAPAction", `"`+NS+"/"+m.Name+`"`)
	case SOAP12:
		ct += `; action="` + NS + "/" + m.Name + `"`
	}
	hr.Header.Set("Content-Type", ct)
	hr.Header.Set("Accept-Encoding", "gzip")
	resp, err := connectors.NoRedirects(c.Client).Do(hr)
	if err != nil {
		return nil, nil, false, connectors.RequestFailed(err)
	}
	defer resp.Body.Close()
	raw, rerr := ReadBody(resp.Body, resp.Header.Get("Content-Encoding"), maxAnswer)
	if code := resp.StatusCode; rerr == nil && (code == http.StatusInternalServerError || code/100 == 2) {
		// SOAP answers a fault with HTTP 500 (some channels with 200): its
		// code says whose the fault is, and its reason stands past the
		// envelope, beyond the excerpt HTTPError keeps.
		if fault, reason, ok := soapFault(raw); ok {
			kind := connectors.KindRetryable
			if senderFault(fault) {
				// Our message or our credentials: the same push would
				// fail again (and wrong credentials sent on and on can
				// lock the account at the channel).
				kind = connectors.KindPermanent
			}
			return nil, nil, false, &connectors.Error{Kind: kind, Status: code,
				RetryAfter: connectors.ParseRetryAfter(resp.Header.Get("Retry-After"), now()),
				Err:        fmt.Errorf("channel %s answered the %s with a SOAP fault (%s): %s", ch, m.Name, first(fault, "no code"), reason)}
		}
	}
	if err := connectors.HTTPError(resp, string(raw), now()); err != nil {
		return nil, nil, false, err
	}
	if rerr != nil {
		return nil, nil, false, connectors.Retryable(fmt.Errorf("channel %s: read the answer: %w", ch, rerr))
	}
	rs, err := ParseResponse(raw)
	if err != nil {
		// We cannot tell what the channel accepted: the push counts as failed.
		if isHTML(raw) {
			// A web page (a login or maintenance page, a wrong URL): the
			// parser's own complaint (a DOCTYPE refused) would send staff
			// looking at keyrack's message.
			return nil, nil, false, connectors.Retryable(fmt.Errorf("channel %s: answered a web page (HTML), not an OTA response: is the endpoint the channel's ARI URL? %s", ch, shown(strings.Join(strings.Fields(string(raw[:min(len(raw), 200)])), " "), 200)))
		}
		return nil, nil, false, connectors.Retryable(fmt.Errorf("channel %s: unreadable answer: %w", ch, err))
	}
	rejected := map[int]bool{}
	// reject reports whether e names an item, and rejects it. An item may
	// be named by several Errors (an unknown room and a date out of range):
	// each one names it, not the whole message.
	reject := func(e Error) bool {
		n, ok := position(e.RecordID)
		if !ok || n > len(idx) {
			return false
		}
		if !rejected[n-1] {
			rejected[n-1] = true
			refused = append(refused, connectors.Rejection{Item: idx[n-1], Reason: describe(e)})
		}
		return true
	}
	// A warning naming a record refuses it, unless it is advice about a
	// record the channel took (advice). Naming a record that is no item of
	// the message (a room or rate code, a position the message does not
	// have), it says the channel did not take something keyrack cannot
	// tell: taken for advice, the item it meant counted as acknowledged and
	// was never sent again. It fails the push as an error naming no item
	// does.
	var general []Error
	for _, w := range rs.Warnings {
		switch {
		case w.RecordID != "" && !advice(w) && !reject(w):
			general = append(general, w)
		case w.RecordID == "" && w.Status == "NotProcessed":
			// Something the channel did not process, naming no item
			// (Booking.com's 497, no access to the hotel): the push is
			// not failed for it — a channel may say so routinely —, but
			// staff must see it.
			warned = append(warned, describe(w))
		}
	}
	// Errors that each name an item reject those items; any other error
	// fails the whole push.
	for _, e := range rs.Errors {
		if !reject(e) {
			general = append(general, e)
		}
	}
	if len(general) > 0 {
		return nil, nil, false, classify(ch, m.Name, general)
	}
	return refused, warned, len(rs.Errors) > 0 && !rs.Success, nil
}

// advice reports whether a channel's warning is advice about a record it
// took (Type 11, Advisory, or Status Complete: a BookingLimit capped at the
// rooms it has, a rate shown from tomorrow) rather than a refusal; a
// warning saying NotProcessed is a refusal whatever its type.
func advice(w Error) bool {
	return w.Status != "NotProcessed" && (w.Type == TypeAdvisory || w.Status == "Complete")
}

// position reads a RecordID as the LocatorID keyrack gave an item: its
// 1-based position, written as strconv.Itoa writes it. A RecordID written
// otherwise is not one keyrack sent, whatever number it reads as: "003" is
// a channel's rate or room code (Weekendesk's rate codes are such), and
// taken for position 3 it rejected an item the channel had not refused
// while the one it had counted as taken.
func position(recordID string) (int, bool) {
	n, err := strconv.Atoi(recordID)
	return n, err == nil && n >= 1 && strconv.Itoa(n) == recordID
}

// isHTML reports whether an answer is an HTML page.
func isHTML(b []byte) bool {
	head := bytes.ToLower(bytes.TrimSpace(b[:min(len(b), 512)]))
	return bytes.HasPrefix(head, []byte("<!doctype html")) || bytes.HasPrefix(head, []byte("<html")) ||
		(bytes.HasPrefix(head, []byte("<?xml")) && bytes.Contains(head, []byte("<html")))
}

// soapFault reads an answer that is a SOAP 1.1 or 1.2 Fault: the local
// name of its code (faultcode, or Code/Value) and its reason, card data
// masked.
func soapFault(body []byte) (code, reason string, ok bool) {
	root, perr := readTree(body)
	if perr != nil || root.Tag != "Envelope" {
		return "", "", false
	}
	f := path(root, "Body", "Fault")
	if f == nil {
		return "", "", false
	}
	code = first(text(child(f, "faultcode")), text(path(f, "Code", "Value")))
	if i := strings.LastIndexByte(code, ':'); i >= 0 {
		code = code[i+1:]
	}
	reason = first(text(child(f, "faultstring")), text(path(f, "Reason", "Text")), "no reason given")
	return shown(code, 60), shown(reason, 300), true
}

// senderFault reports whether a SOAP fault code blames the message sent:
// SOAP 1.1 Client (and its dotted refinements, Client.Authentication),
// VersionMismatch and MustUnderstand; SOAP 1.2 Sender, VersionMismatch,
// MustUnderstand and DataEncodingUnknown. Server and Receiver faults, and
// codes of no standard, may pass.
func senderFault(code string) bool {
	code, _, _ = strings.Cut(code, ".")
	switch code {
	case "Client", "Sender", "VersionMismatch", "MustUnderstand", "DataEncodingUnknown":
		return true
	}
	return false
}

// describe renders a channel's Error or Warning for staff.
func describe(e Error) string {
	var b strings.Builder
	fmt.Fprintf(&b, "type %d", e.Type)
	if e.Code != 0 {
		fmt.Fprintf(&b, " code %d", e.Code)
	}
	if e.Msg != "" {
		b.WriteString(": ")
		b.WriteString(clip(e.Msg, 300))
	}
	return b.String()
}

// Passing reports whether every one of an RS's Errors is a passing
// failure, so that the same message sent again may succeed: a processing or
// application error, an unknown type, system error 448 or unable to
// process 450. Authentication, authorization, business-rule,
// required-field and protocol errors are not: the same request would fail
// again. (No Errors at all is not a failure, and not passing.)
func Passing(errs []Error) bool {
	for _, e := range errs {
		if !(e.Type == TypeProcessing || e.Type == TypeApplication || e.Type == TypeUnknown ||
			e.Code == CodeSystemError || e.Code == CodeUnableToProcess) {
			return false
		}
	}
	return len(errs) > 0
}

// classify turns an RS's Errors into a failed push: retryable when they
// are Passing, permanent otherwise.
func classify(ch connectors.Channel, name string, errs []Error) error {
	texts := make([]string, len(errs))
	for i, e := range errs {
		texts[i] = describe(e)
	}
	err := fmt.Errorf("channel %s refused the %s: %s", ch, name, strings.Join(texts, "; "))
	if Passing(errs) {
		return connectors.Retryable(err)
	}
	return connectors.Permanent(err)
}
