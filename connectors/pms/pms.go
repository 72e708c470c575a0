// Package pms sends reservation revisions to a hotel's PMS by signed
// webhook, and lets a receiver check the signature.
//
// A webhook is an HTTP POST of a JSON Revision with the header
//
//	Keyrack-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>
//
// where the HMAC is keyed with the channel's outbound secret and taken over
// the timestamp, a dot and the raw body: "<t>.<body>". A receiver recomputes
// it (Verify), rejects a timestamp too far from its clock (replays), and
// ignores a revision whose RevisionSeq is not newer than the last it applied
// for the reservation (deliveries may repeat and may arrive out of order).
// The same revision always carries the same FeedID.
package pms

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/keyrack/keyrack/connectors"
	"github.com/keyrack/keyrack/inventory"
)

// SignatureHeader is the header carrying a webhook's signature.
const SignatureHeader = "Keyrack-Signature"

// Revision is one reservation revision as the PMS receives it, by webhook and
// on the pull feed alike.
type Revision struct {
	// FeedID identifies this revision for this channel: the id to acknowledge,
	// and the same in every repeated delivery.
	FeedID   int64     `json:"feed_id"`
	Property string    `json:"property"`
	Channel  string    `json:"channel"` // the PMS channel it is sent to
	Origin   string    `json:"origin_channel"`
	Created  time.Time `json:"created_at"` // when the feed entry was made

	ReservationID int64  `json:"reservation_id"` // keyrack's id
	ExternalID    string `json:"external_id"`    // the origin channel's reservation id
	// RevisionSeq numbers the reservation's revisions as keyrack received
	// them: a receiver ignores one not newer than the last it applied.
	RevisionSeq int                    `json:"revision_seq"`
	Kind        inventory.RevisionKind `json:"revision_kind"` // new, modify, cancel
	ReceivedAt  time.Time              `json:"received_at"`

	// What the revision said — not necessarily the reservation now: an
	// OTA's message that arrives after a newer one is kept in the history
	// (a higher RevisionSeq) without changing the reservation. A receiver
	// applies Status and Reservation.
	Stays    []inventory.RoomStay `json:"stays"`
	Guest    inventory.Guest      `json:"guest"`
	Total    string               `json:"total,omitempty"`
	Currency string               `json:"currency,omitempty"`

	// Status and Reservation are the reservation as it stands now, after
	// every revision keyrack has of it.
	Status      inventory.Status      `json:"status"`
	Reservation inventory.Reservation `json:"reservation"`
}

// Sign returns the Keyrack-Signature header value for body at time t.
func Sign(secret string, t time.Time, body []byte) string { return SignAll([]string{secret}, t, body) }

// SignAll is Sign with a v1 signature for each secret: while a channel's
// secret is being replaced, webhooks are signed with the new one and the
// one it replaces, and Verify takes either.
func SignAll(secrets []string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	h := "t=" + ts
	for _, secret := range secrets {
		h += ",v1=" + hex.EncodeToString(mac(secret, ts, body))
	}
	return h
}

func mac(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Errors of Verify.
var (
	ErrNoSignature  = errors.New("pms: no valid Keyrack-Signature header")
	ErrBadSignature = errors.New("pms: signature does not match")
	ErrTooOld       = errors.New("pms: signature timestamp outside the tolerance")
)

// Verify checks a Keyrack-Signature header against body with the channel's
// secret, and that its timestamp is within tolerance of now (0: not checked).
// Several v1 values may be present (while a secret is being rotated); one
// matching is enough.
func Verify(secret, header string, body []byte, tolerance time.Duration) error {
	return verifyAt(secret, header, body, tolerance, time.Now())
}

func verifyAt(secret, header string, body []byte, tolerance time.Duration, now time.Time) error {
	var ts string
	var sigs [][]byte
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrNoSignature
	}
	want := mac(secret, ts, body)
	ok := false
	for _, s := range sigs {
		ok = ok || hmac.Equal(s, want)
	}
	if !ok {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(unix, 0)); tolerance > 0 && (d > tolerance || d < -tolerance) {
		return ErrTooOld
	}
	return nil
}

// Sender posts webhooks.
type Sender struct {
	// Client sends the requests; its Timeout bounds each one (a client with
	// a 30 s timeout when nil).
	Client *http.Client
	// Now is the clock of the signatures (time.Now when nil).
	Now func() time.Time
}

var defaultClient = &http.Client{Timeout: 30 * time.Second}

// Send posts body, signed with secret, to endpoint. A 2xx answer is nil;
// otherwise a *connectors.Error says whether to retry: 429 rate limited,
// 408/425/5xx and network failures retryable, any other status permanent —
// a redirect (3xx) too: it is not followed (see redirected) —, and so is
// an endpoint the client's dial guard refuses.
func (s *Sender) Send(ctx context.Context, endpoint, secret string, feedID int64, body []byte) error {
	return s.SendSigned(ctx, endpoint, []string{secret}, feedID, body)
}

// SendSigned is Send signing with each of secrets (SignAll).
func (s *Sender) SendSigned(ctx context.Context, endpoint string, secrets []string, feedID int64, body []byte) error {
	client, now := s.Client, s.Now
	if client == nil {
		client = defaultClient
	}
	if now == nil {
		now = time.Now
	}
	client = connectors.NoRedirects(client)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return connectors.Permanent(fmt.Errorf("pms: webhook endpoint: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "keyrack")
	req.Header.Set(SignatureHeader, SignAll(secrets, now(), body))
	req.Header.Set("Keyrack-Feed-Id", strconv.FormatInt(feedID, 10))
	resp, err := client.Do(req)
	if err != nil {
		// An endpoint the client's guard refuses (connectors.EndpointClient)
		// is refused again on every retry: failed for good, not a network
		// failure to send again once the PMS seems back.
		return fmt.Errorf("pms: webhook: %w", connectors.RequestFailed(err))
	}
	defer resp.Body.Close()
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if err := connectors.HTTPError(resp, string(excerpt), now()); err != nil {
		return fmt.Errorf("pms: webhook: %w", err)
	}
	return nil
}
