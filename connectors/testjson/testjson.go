// Package testjson is the simplest push connector: availability as JSON over
// HTTP, authenticated with the channel's outbound credentials (HTTP basic).
// No real channel speaks it; the test channel in fixtures/testchannel does,
// so the fan-out can be exercised end to end before the OTA XML, iCal and
// PMS connectors exist.
package testjson

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/keyrack/keyrack/connectors"
	"github.com/keyrack/keyrack/inventory"
)

// Request is the body of a push: POST to the channel's endpoint.
type Request struct {
	Hotel        string `json:"hotel"`
	Full         bool   `json:"full,omitempty"`
	Availability []Item `json:"availability"`
}

// Item is one room's availability over the nights [From, To).
type Item struct {
	Room      string         `json:"room"`
	Rate      string         `json:"rate,omitempty"` // for a channel with availability per room and rate
	From      inventory.Date `json:"from"`
	To        inventory.Date `json:"to"`
	Available int            `json:"available"`
}

// Response is the channel's answer to a push it received (HTTP 200).
type Response struct {
	Rejected []Rejected `json:"rejected,omitempty"`
}

// Rejected is an item the channel refused.
type Rejected struct {
	Index  int    `json:"index"`
	Reason string `json:"reason"`
}

// Connector pushes availability as JSON.
type Connector struct {
	// Client sends the requests; http.DefaultClient when nil. Deadlines come
	// from the context Push is given.
	Client *http.Client
}

// Push sends u to ch.Endpoint.
func (c *Connector) Push(ctx context.Context, ch connectors.Channel, u connectors.Update) (ack connectors.Ack, err error) {
	err = ch.Request(ctx, 0, func(ctx context.Context) error {
		ack, err = c.push(ctx, ch, u)
		return err
	})
	return ack, err
}

// push sends u in one request.
func (c *Connector) push(ctx context.Context, ch connectors.Channel, u connectors.Update) (connectors.Ack, error) {
	if ch.Endpoint == "" {
		return connectors.Ack{}, connectors.Permanent(fmt.Errorf("channel %s has no endpoint", ch))
	}
	req := Request{Hotel: ch.HotelCode, Full: u.Full, Availability: make([]Item, len(u.Items))}
	for i, it := range u.Items {
		req.Availability[i] = Item{Room: it.Room, Rate: it.Rate, From: it.From, To: it.To, Available: it.Available}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return connectors.Ack{}, connectors.Permanent(err)
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, ch.Endpoint, bytes.NewReader(body))
	if err != nil {
		return connectors.Ack{}, connectors.Permanent(fmt.Errorf("channel %s: endpoint: %w", ch, err))
	}
	hr.Header.Set("Content-Type", "application/json")
	if ch.Username != "" || ch.Secret != "" {
		hr.SetBasicAuth(ch.Username, ch.Secret)
	}
	resp, err := connectors.NoRedirects(c.Client).Do(hr)
	if err != nil {
		// Timeouts, refused connections, resets: the channel may answer later.
		return connectors.Ack{}, connectors.RequestFailed(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return connectors.Ack{}, connectors.Retryable(fmt.Errorf("read the answer: %w", err))
	}
	if err := connectors.HTTPError(resp, string(raw), time.Now()); err != nil {
		return connectors.Ack{}, err
	}
	var out Response
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			// The channel took the request but its answer is unreadable: we
			// cannot tell what it accepted, so the push counts as failed.
			return connectors.Ack{}, connectors.Retryable(fmt.Errorf("unreadable answer: %w", err))
		}
	}
	var ack connectors.Ack
	for _, r := range out.Rejected {
		if r.Index < 0 || r.Index >= len(u.Items) {
			return connectors.Ack{}, connectors.Retryable(fmt.Errorf("answer rejects item %d of %d", r.Index, len(u.Items)))
		}
		ack.Rejected = append(ack.Rejected, connectors.Rejection{Item: r.Index, Reason: r.Reason})
	}
	return ack, nil
}
