package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/keyrack/keyrack/connectors"
	"github.com/keyrack/keyrack/inventory"
)

// The delivery log keeps, per channel, the latest pushes — what was sent
// and how the channel answered — so that staff can see why a channel is
// not in sync without reading the workers' logs. It is a window for people,
// not a record the fan-out depends on: a push whose log entry cannot be
// written is delivered all the same.

// Delivery log bounds: rows kept per channel, and items of an update kept
// in a row's payload (an update of a full resync can hold thousands).
const (
	DeliveryLogKeep     = 200
	deliveryLogMaxItems = 200
	deliveryLogMaxError = 4000 // bytes of an error text
)

// Outcomes of a push in the delivery log.
const (
	DeliveryOK       = "ok"       // the channel took every item
	DeliveryRejected = "rejected" // the channel answered but refused some items
	DeliveryFailed   = "failed"   // the push failed: no answer, or an error answer
)

// Delivery is one push to a channel as the delivery log keeps it.
type Delivery struct {
	ID         int64         `json:"id"`
	At         time.Time     `json:"at"`
	Duration   time.Duration `json:"duration"`
	FullResync bool          `json:"full_resync"`
	Items      int           `json:"items"` // items in the update (the payload may hold fewer)
	Outcome    string        `json:"outcome"`
	Status     int           `json:"status,omitempty"` // the channel's HTTP status, 0 when unknown
	Error      string        `json:"error,omitempty"`
	// Payload is what was sent and refused, as JSON: DeliveryPayload.
	Payload json.RawMessage `json:"payload"`
}

// DeliveryPayload is the payload of a delivery log entry.
type DeliveryPayload struct {
	Items []DeliveryItem `json:"items"`
	// Omitted counts the items left out beyond the log's cap.
	Omitted  int                 `json:"omitted,omitempty"`
	Rejected []DeliveryRejection `json:"rejected,omitempty"`
}

// DeliveryItem is one item of a pushed update.
type DeliveryItem struct {
	Room      string         `json:"room"`
	Rate      string         `json:"rate,omitempty"` // a channel with availability per room and rate
	From      inventory.Date `json:"from"`
	To        inventory.Date `json:"to"`
	Available int            `json:"available"`
}

// DeliveryRejection is an item the channel refused.
type DeliveryRejection struct {
	Item   int    `json:"item"`
	Room   string `json:"room,omitempty"`
	Rate   string `json:"rate,omitempty"`
	Reason string `json:"reason"`
}

// deliveryEntry builds the log entry of a push of u that the channel
// answered with ack, or failed with err.
func deliveryEntry(u connectors.Update, ack connectors.Ack, err error, took time.Duration) (Delivery, error) {
	d := Delivery{Duration: took, FullResync: u.Full, Items: len(u.Items), Outcome: DeliveryOK}
	p := DeliveryPayload{Items: make([]DeliveryItem, 0, min(len(u.Items), deliveryLogMaxItems))}
	for i, it := range u.Items {
		if i == deliveryLogMaxItems {
			p.Omitted = len(u.Items) - i
			break
		}
		p.Items = append(p.Items, DeliveryItem{Room: it.Room, Rate: it.Rate, From: it.From, To: it.To, Available: it.Available})
	}
	switch {
	case err != nil:
		d.Outcome, d.Error = DeliveryFailed, err.Error()
		var ce *connectors.Error
		if errors.As(err, &ce) {
			d.Status = ce.Status
		}
	case len(ack.Rejected) > 0:
		d.Outcome = DeliveryRejected
		var reasons []string
		for _, rj := range ack.Rejected {
			r := DeliveryRejection{Item: rj.Item, Reason: rj.Reason}
			if rj.Item >= 0 && rj.Item < len(u.Items) {
				r.Room, r.Rate = u.Items[rj.Item].Room, u.Items[rj.Item].Rate
			}
			if len(p.Rejected) < deliveryLogMaxItems {
				p.Rejected = append(p.Rejected, r)
			}
			reasons = append(reasons, fmt.Sprintf("item %d (%s): %s", r.Item, itemName(r.Room, r.Rate), r.Reason))
		}
		d.Error = "the channel refused " + strings.Join(reasons, "; ")
	}
	if err == nil && len(ack.Warnings) > 0 {
		// Taken (the outcome stays), but staff see what the channel said.
		w := "the channel warned that it did not process something: " + strings.Join(ack.Warnings, "; ")
		if d.Error != "" {
			w = d.Error + "; " + w
		}
		d.Error = w
	}
	if len(d.Error) > deliveryLogMaxError {
		d.Error = strings.ToValidUTF8(d.Error[:deliveryLogMaxError], "") + "…"
	}
	b, jerr := json.Marshal(p)
	d.Payload = b
	return d, jerr
}

// logPush records a push of u in the delivery log, right after the
// connector's Push returned ack or err, and prunes the channel's older
// entries in the same statement. A failure to log is a warning: it never
// fails the delivery.
func (d *delivery) logPush(ctx context.Context, u connectors.Update, ack connectors.Ack, err error, took time.Duration) {
	e, jerr := deliveryEntry(u, ack, err, took)
	if jerr == nil {
		// Its own context: the run's may be what made the push fail.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		jerr = insertDelivery(lctx, d.conn, d.task.pair, e)
	}
	if jerr != nil {
		d.f.log.Warn("could not record a push in the delivery log", "channel", d.ch.Property+"/"+d.ch.Code, "err", jerr)
	}
}

// insertDelivery adds an entry to a channel's delivery log (insertDeliverySQL).
func insertDelivery(ctx context.Context, db interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
}, p pair, e Delivery) error {
	_, err := db.Exec(ctx, insertDeliverySQL, deliveryArgs(p, e)...)
	return err
}

// queueDelivery queues insertDelivery's statement in a batch.
func queueDelivery(b *pgx.Batch, p pair, e Delivery) {
	b.Queue(insertDeliverySQL, deliveryArgs(p, e)...)
}

// insertDeliverySQL adds an entry to a channel's delivery log and, for one
// new entry in deliveryLogTrimEvery (by id), deletes those beyond the latest
// DeliveryLogKeep: finding them walks the channel's whole log, too much to
// do on every push. The delete does not see the new row (one snapshot): it
// keeps DeliveryLogKeep-1 older ones. The readers look at the latest
// DeliveryLogKeep only.
const insertDeliverySQL = `
	WITH added AS (
		INSERT INTO delivery_log (property_id, channel_id, duration_ms, full_resync, items, payload, outcome, status, error)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		RETURNING id
	)
	DELETE FROM delivery_log
	WHERE (SELECT id FROM added) % $11 = 0 AND property_id = $1 AND channel_id = $2 AND id < (
		SELECT id FROM delivery_log WHERE property_id = $1 AND channel_id = $2
		ORDER BY id DESC OFFSET $10 LIMIT 1)`

// deliveryLogTrimEvery is how often, in log ids, insertDeliverySQL trims.
const deliveryLogTrimEvery = 16

func deliveryArgs(p pair, e Delivery) []any {
	var status *int
	if e.Status != 0 {
		status = &e.Status
	}
	var errText *string
	if e.Error != "" {
		errText = &e.Error
	}
	return []any{p.Property, p.Channel, e.Duration.Milliseconds(), e.FullResync, e.Items, string(e.Payload), e.Outcome, status, errText,
		DeliveryLogKeep - 2, deliveryLogTrimEvery}
}

// Deliveries lists the latest entries of a channel's delivery log, newest
// first (at most limit; DeliveryLogKeep are kept).
func (f *Fanout) Deliveries(ctx context.Context, property, channel string, limit int) ([]Delivery, error) {
	if limit <= 0 || limit > DeliveryLogKeep {
		limit = DeliveryLogKeep
	}
	rows, _ := f.db.Query(ctx, `
		SELECT l.id, l.at, l.duration_ms, l.full_resync, l.items, l.payload, l.outcome, coalesce(l.status, 0), coalesce(l.error, '')
		FROM delivery_log l
		JOIN channels c ON c.property_id = l.property_id AND c.id = l.channel_id
		WHERE l.property_id = (SELECT id FROM properties WHERE code = $1) AND c.code = $2
		ORDER BY l.id DESC LIMIT $3`, property, channel, limit)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Delivery, error) {
		var d Delivery
		var ms int64
		var payload []byte
		err := r.Scan(&d.ID, &d.At, &ms, &d.FullResync, &d.Items, &payload, &d.Outcome, &d.Status, &d.Error)
		d.Duration, d.Payload = time.Duration(ms)*time.Millisecond, payload
		return d, err
	})
}

// DeliveryFailures counts the failed pushes to each channel of a property
// (by code) logged since since; channels without any are left out. The log
// keeps DeliveryLogKeep entries per channel, so the count stops there.
func (f *Fanout) DeliveryFailures(ctx context.Context, property string, since time.Time) (map[string]int, error) {
	rows, _ := f.db.Query(ctx, `
		SELECT c.code, count(*)::int
		FROM channels c CROSS JOIN LATERAL (
			SELECT l.at, l.outcome FROM delivery_log l WHERE l.property_id = c.property_id AND l.channel_id = c.id
			ORDER BY l.id DESC LIMIT $3) AS l
		WHERE c.property_id = (SELECT id FROM properties WHERE code = $1) AND l.at >= $2 AND l.outcome = 'failed'
		GROUP BY c.code`, property, since, DeliveryLogKeep)
	out := map[string]int{}
	var code string
	var n int
	_, err := pgx.ForEachRow(rows, []any{&code, &n}, func() error {
		out[code] = n
		return nil
	})
	return out, err
}

// itemName names an availability item for staff: "room DBL", or "room DBL
// rate BAR" for a channel that keeps availability per room and rate.
func itemName(room, rate string) string {
	if rate == "" {
		return "room " + room
	}
	return "room " + room + " rate " + rate
}
