package inventory

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// CalendarEvent is one event of an imported calendar, as the nights it
// takes: [Arrival, Departure), the property's own calendar days.
type CalendarEvent struct {
	UID       string
	Arrival   Date
	Departure Date
	Summary   string
}

// ImportResult counts what an import did.
type ImportResult struct {
	New       int `json:"new"`
	Modified  int `json:"modified"`
	Cancelled int `json:"cancelled"`
	// Renumbered counts events that came back under a new UID and kept
	// their booking (platforms renumber their blocks daily).
	Renumbered int `json:"renumbered"`
	Unchanged  int `json:"unchanged"`
	// Past counts new events that ended before today: no booking is made.
	Past int `json:"past"`
}

// ICalFeedRef is the feed an import is for.
type ICalFeedRef struct {
	Property string
	ID       int64
}

// storedEvent is a row of ical_events.
type storedEvent struct {
	CalendarEvent
	ExternalID string
}

// ImportCalendar brings the bookings of an iCal feed in line with a valid
// fetch of it: every event is a must-accept booking of the feed's room type
// on the feed's channel, keyed by (channel, room type and UID). A new UID is
// a new booking — unless it replaces a UID that vanished in the same fetch
// with overlapping or touching nights, which is the same block renumbered
// and keeps its booking; changed nights under a UID are a modification; an
// event that vanished while it still ends after today is a cancellation
// (one that ended is just out of the platform's window). Importing the
// same events again does nothing. Imports of one feed run one at a time.
//
// Call it only with a fetch that was a valid calendar: an empty or broken
// fetch must not cancel everything.
func (s *Store) ImportCalendar(ctx context.Context, feed ICalFeedRef, events []CalendarEvent, fetchedAt time.Time) (ImportResult, error) {
	var res ImportResult
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var propID int64
		var channel, roomType, tz string
		err := tx.QueryRow(ctx, `SELECT p.id, c.code, rt.code, p.time_zone
			FROM ical_feeds f JOIN properties p ON p.id = f.property_id
			JOIN channels c ON c.property_id = f.property_id AND c.id = f.channel_id
			JOIN room_types rt ON rt.property_id = f.property_id AND rt.id = f.room_type_id
			WHERE p.code = $1 AND f.id = $2`, feed.Property, feed.ID).Scan(&propID, &channel, &roomType, &tz)
		if err != nil {
			return notFound(err, "no iCal feed %d in property %s", feed.ID, feed.Property)
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('keyrack/ical/' || $1::bigint || '/' || $2::bigint, 0))`,
			propID, feed.ID); err != nil {
			return err
		}
		loc, err := time.LoadLocation(tz)
		if err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `SELECT uid, external_id, arrival, departure, summary FROM ical_events
			WHERE property_id = $1 AND feed_id = $2`, propID, feed.ID)
		stored, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (storedEvent, error) {
			var e storedEvent
			err := r.Scan(&e.UID, &e.ExternalID, &e.Arrival, &e.Departure, &e.Summary)
			return e, err
		})
		if err != nil {
			return err
		}
		plan := planImport(stored, events, LocalDate(fetchedAt, loc), roomType)
		res = plan.result
		for _, c := range plan.changes {
			rev := Revision{Property: feed.Property, Channel: channel, ExternalID: c.ExternalID, Kind: c.kind,
				Mode: MustAccept, SentAt: fetchedAt, Guest: Guest{Name: c.Summary},
				Actor: Actor{Kind: "channel", Name: channel, Channel: channel}}
			if c.kind != Cancel {
				rev.Stays = []RoomStay{{RoomType: roomType, Arrival: c.Arrival, Departure: c.Departure, Rooms: 1}}
			}
			// Applied on their own connections (with group commit); if one
			// fails the import is rolled back and the next fetch does it
			// again, which revisions' idempotency makes harmless.
			if _, err := s.ApplyRevision(ctx, rev); err != nil {
				return fmt.Errorf("event %s: %w", c.UID, err)
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM ical_events WHERE property_id = $1 AND feed_id = $2 AND uid <> ALL($3)`,
			propID, feed.ID, plan.keepUIDs()); err != nil {
			return err
		}
		for _, e := range plan.keep {
			if _, err := tx.Exec(ctx, `INSERT INTO ical_events (property_id, feed_id, uid, external_id, arrival, departure, summary, last_seen_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
				ON CONFLICT (property_id, feed_id, uid) DO UPDATE SET external_id = EXCLUDED.external_id,
					arrival = EXCLUDED.arrival, departure = EXCLUDED.departure, summary = EXCLUDED.summary, last_seen_at = EXCLUDED.last_seen_at`,
				propID, feed.ID, e.UID, e.ExternalID, e.Arrival, e.Departure, cleanText(e.Summary), fetchedAt); err != nil {
				return err
			}
		}
		return nil
	})
	return res, err
}

// importPlan is what an import changes.
type importPlan struct {
	changes []importChange
	keep    []storedEvent // the feed's events after the import
	result  ImportResult
}

type importChange struct {
	storedEvent
	kind RevisionKind
}

func (p *importPlan) keepUIDs() []string {
	uids := make([]string, len(p.keep))
	for i, e := range p.keep {
		uids[i] = e.UID
	}
	return uids
}

// planImport compares the stored events of a feed with a fetch of it.
func planImport(stored []storedEvent, fetched []CalendarEvent, today Date, roomType string) importPlan {
	var p importPlan
	byUID := make(map[string]storedEvent, len(stored))
	for _, e := range stored {
		byUID[e.UID] = e
	}
	seen := make(map[string]bool, len(fetched))
	var fresh []CalendarEvent
	for _, e := range fetched {
		if seen[e.UID] || !e.Arrival.Before(e.Departure) {
			continue // a repeated UID counts once; the parser drops empty events
		}
		seen[e.UID] = true
		old, ok := byUID[e.UID]
		if !ok {
			fresh = append(fresh, e)
			continue
		}
		now := storedEvent{CalendarEvent: e, ExternalID: old.ExternalID}
		p.keep = append(p.keep, now)
		if old.Arrival != e.Arrival || old.Departure != e.Departure {
			p.changes = append(p.changes, importChange{now, Modify})
			p.result.Modified++
		} else {
			p.result.Unchanged++
		}
	}
	var vanished []storedEvent
	for _, e := range stored {
		if !seen[e.UID] {
			vanished = append(vanished, e)
		}
	}
	slices.SortFunc(fresh, func(a, b CalendarEvent) int {
		return cmp.Or(a.Arrival.Sub(b.Arrival), cmp.Compare(a.UID, b.UID))
	})
	for _, e := range fresh {
		if i := slices.IndexFunc(vanished, func(v storedEvent) bool {
			return !v.Departure.Before(e.Arrival) && !e.Departure.Before(v.Arrival) // overlapping or touching
		}); i >= 0 {
			v := vanished[i]
			vanished = slices.Delete(vanished, i, i+1)
			now := storedEvent{CalendarEvent: e, ExternalID: v.ExternalID}
			p.keep = append(p.keep, now)
			p.result.Renumbered++
			if v.Arrival != e.Arrival || v.Departure != e.Departure {
				p.changes = append(p.changes, importChange{now, Modify})
				p.result.Modified++
			}
			continue
		}
		if !today.Before(e.Departure) {
			p.result.Past++
			continue
		}
		now := storedEvent{CalendarEvent: e, ExternalID: importExternalID(roomType, e.UID)}
		p.keep = append(p.keep, now)
		p.changes = append(p.changes, importChange{now, New})
		p.result.New++
	}
	for _, v := range vanished {
		if today.Before(v.Departure) {
			p.changes = append(p.changes, importChange{v, Cancel})
			p.result.Cancelled++
		}
	}
	return p
}

// importExternalID is the reservation id of an imported event: the room
// type and the UID, or a digest of a UID too long to be an id.
func importExternalID(roomType, uid string) string {
	id := roomType + "/" + uid
	if len(id) <= 128 && utf8.ValidString(id) && !strings.ContainsRune(id, 0) {
		return id
	}
	sum := sha256.Sum256([]byte(uid))
	return roomType + "/sha256:" + hex.EncodeToString(sum[:16])
}
