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
	// their booking (Airbnb renumbers its blocks daily).
	Renumbered int `json:"renumbered"`
	Unchanged  int `json:"unchanged"`
	// Past counts new events that ended before today: no booking is made.
	Past int `json:"past"`
	// Unreadable counts stored events the fetch had but could not read:
	// their bookings stay as last imported.
	Unreadable int `json:"unreadable"`
	// Warnings say what the import left out and why, for the operator.
	Warnings []string `json:"warnings,omitempty"`
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
// a new booking — unless it is an Airbnb block renumbered (see renumbers),
// which keeps its booking; changed nights under a UID are a modification; an
// event that vanished while it still ends after today is a cancellation
// (one that ended is just out of the platform's window). Importing the
// same events again does nothing. Imports of one feed run one at a time.
//
// unreadable are the UIDs of events the fetch had but could not read
// (ical.Feed.Unreadable): their stored events, and those of their
// occurrences (<UID>/…), stay as they are, neither cancelled nor
// renumbered.
//
// The bookings are changed through ApplyRevision, in transactions of
// their own; each change is written to the feed's event list as soon as it
// is applied, so the list always agrees with the bookings: an import that
// stops half-way (its error is returned) leaves the rest to the next fetch,
// and nothing is applied twice. An event keyrack refuses is left out with a
// warning in the result and does not stop the others.
//
// Call it only with a fetch that was a valid calendar: an empty or broken
// fetch must not cancel everything.
func (s *Store) ImportCalendar(ctx context.Context, feed ICalFeedRef, events []CalendarEvent, unreadable []string, fetchedAt time.Time) (ImportResult, error) {
	var res ImportResult
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var propID int64
		var channel, roomType, tz string
		var soldUntil int
		err := tx.QueryRow(ctx, `SELECT p.id, c.code, rt.code, p.time_zone, p.night_sold_until_minutes
			FROM ical_feeds f JOIN properties p ON p.id = f.property_id
			JOIN channels c ON c.property_id = f.property_id AND c.id = f.channel_id
			JOIN room_types rt ON rt.property_id = f.property_id AND rt.id = f.room_type_id
			WHERE p.code = $1 AND f.id = $2`, feed.Property, feed.ID).Scan(&propID, &channel, &roomType, &tz, &soldUntil)
		if err != nil {
			return notFound(err, "no iCal feed %d in property %s", feed.ID, feed.Property)
		}
		// Held until the import ends: the event list is written on other
		// connections as the bookings change (see recordChange).
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('keyrack/ical/' || $1::bigint || '/' || $2::bigint, 0))`,
			propID, feed.ID); err != nil {
			return err
		}
		// Two fetches of the feed can run at once ("sync now" during a
		// slow one), and the older may be imported last. Its calendar is
		// not the platform's latest, and its revisions, dated fetchedAt,
		// rank before those applied already and change nothing: the event
		// list would take them as applied while the bookings did not (a
		// stay it did not have yet would leave the list but stay booked,
		// and its cancellation later would reach no booking). The feed
		// keeps when the latest fetch imported was made (with this
		// import's transaction, so one that fails keeps nothing), and an
		// older one is left out — also after an import that left no events.
		var lastImport *time.Time
		if err := tx.QueryRow(ctx, `SELECT imported_fetch_at FROM ical_feeds WHERE property_id = $1 AND id = $2`,
			propID, feed.ID).Scan(&lastImport); err != nil {
			return err
		}
		loc, err := time.LoadLocation(tz)
		if err != nil {
			return err
		}
		if lastImport != nil && fetchedAt.Before(*lastImport) {
			// Shown on the channel's page: in the hotel's time, as its
			// other moments, to the second (two fetches in flight at once).
			const layout = "2006-01-02 15:04:05 MST"
			res.Warnings = append(res.Warnings, fmt.Sprintf("a fetch of %s was left out: one of %s was imported already",
				fetchedAt.In(loc).Format(layout), lastImport.In(loc).Format(layout)))
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE ical_feeds SET imported_fetch_at = $3 WHERE property_id = $1 AND id = $2`,
			propID, feed.ID, fetchedAt); err != nil {
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
		// A night still sold (NightSoldUntil) is not past: an event that
		// holds it books it, one gone from the feed frees it.
		plan := planImport(stored, events, unreadable, Tonight(fetchedAt, loc, time.Duration(soldUntil)*time.Minute), roomType)
		res = plan.result
		for _, c := range plan.changes {
			rev := Revision{Property: feed.Property, Channel: channel, ExternalID: c.ExternalID, Kind: c.kind,
				Mode: MustAccept, SentAt: fetchedAt, Guest: Guest{Name: c.Summary},
				Actor: Actor{Kind: "channel", Name: channel, Channel: channel}}
			if c.kind != Cancel {
				rev.Stays = eventStays(roomType, c.Arrival, c.Departure)
			}
			_, err := s.ApplyRevision(ctx, rev)
			if ErrorCode(err) == EINVALID {
				res.Warnings = append(res.Warnings, fmt.Sprintf("event %q (%s → %s) was not imported: %s",
					c.UID, c.Arrival, c.Departure, ErrorMessage(err)))
				plan.revert(c)
				continue
			}
			if err != nil {
				return fmt.Errorf("event %s: %w", c.UID, err)
			}
			if err := s.recordChange(ctx, propID, feed.ID, c, fetchedAt); err != nil {
				return fmt.Errorf("event %s: the booking changed but the feed's event list was not written: %w", c.UID, err)
			}
			res.count(c)
		}
		return writeICalEvents(ctx, tx, propID, feed.ID, plan.keep, fetchedAt)
	})
	return res, err
}

// count adds an applied change to the result.
func (r *ImportResult) count(c importChange) {
	switch {
	case c.kind == New:
		r.New++
	case c.kind == Cancel:
		r.Cancelled++
	case c.was.UID != c.UID:
		r.Renumbered++
		r.Modified++
	default:
		r.Modified++
	}
}

// eventStays are the room stays of an event's nights: one, or for a block
// longer than one stay may be (a host closing a whole year), consecutive
// stays of at most MaxStayNights, so that every night stays held.
func eventStays(roomType string, arrival, departure Date) []RoomStay {
	var stays []RoomStay
	for from := arrival; from.Before(departure); from = from.AddDays(MaxStayNights) {
		to := from.AddDays(MaxStayNights)
		if departure.Before(to) {
			to = departure
		}
		stays = append(stays, RoomStay{RoomType: roomType, Arrival: from, Departure: to, Rooms: 1})
	}
	return stays
}

// recordChange writes an applied change to the feed's event list, in a
// transaction of its own: a renumbered event takes its predecessor's row.
func (s *Store) recordChange(ctx context.Context, propID, feedID int64, c importChange, seenAt time.Time) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if c.was != nil && (c.kind == Cancel || c.was.UID != c.UID) {
			if _, err := tx.Exec(ctx, `DELETE FROM ical_events WHERE property_id = $1 AND feed_id = $2 AND uid = $3`,
				propID, feedID, c.was.UID); err != nil {
				return err
			}
		}
		if c.kind == Cancel {
			return nil
		}
		return upsertICalEvents(ctx, tx, propID, feedID, []storedEvent{c.storedEvent}, seenAt)
	})
}

// writeICalEvents makes the feed's event list what keep says.
func writeICalEvents(ctx context.Context, tx pgx.Tx, propID, feedID int64, keep []storedEvent, seenAt time.Time) error {
	uids := make([]string, len(keep))
	for i, e := range keep {
		uids[i] = e.UID
	}
	if _, err := tx.Exec(ctx, `DELETE FROM ical_events WHERE property_id = $1 AND feed_id = $2 AND uid <> ALL($3)`,
		propID, feedID, uids); err != nil {
		return err
	}
	return upsertICalEvents(ctx, tx, propID, feedID, keep, seenAt)
}

func upsertICalEvents(ctx context.Context, tx pgx.Tx, propID, feedID int64, events []storedEvent, seenAt time.Time) error {
	if len(events) == 0 {
		return nil
	}
	uids := make([]string, len(events))
	ids := make([]string, len(events))
	arrivals := make([]Date, len(events))
	departures := make([]Date, len(events))
	summaries := make([]string, len(events))
	for i, e := range events {
		uids[i], ids[i], arrivals[i], departures[i], summaries[i] = e.UID, e.ExternalID, e.Arrival, e.Departure, e.Summary
	}
	_, err := tx.Exec(ctx, `INSERT INTO ical_events (property_id, feed_id, uid, external_id, arrival, departure, summary, last_seen_at)
		SELECT $1, $2, e.uid, e.external_id, e.arrival, e.departure, e.summary, $8
		FROM unnest($3::text[], $4::text[], $5::date[], $6::date[], $7::text[]) AS e (uid, external_id, arrival, departure, summary)
		ON CONFLICT (property_id, feed_id, uid) DO UPDATE SET external_id = EXCLUDED.external_id,
			arrival = EXCLUDED.arrival, departure = EXCLUDED.departure, last_seen_at = EXCLUDED.last_seen_at,
			-- An erased guest's event (EraseGuestData) stays erased while the calendar has it.
			summary = CASE WHEN ical_events.summary = '`+erasedSummary+`' THEN ical_events.summary ELSE EXCLUDED.summary END`,
		propID, feedID, uids, ids, arrivals, departures, summaries, seenAt)
	return err
}

// importPlan is what an import changes.
type importPlan struct {
	changes []importChange
	keep    []storedEvent // the feed's events after the import
	result  ImportResult  // what needs no booking change
}

// importChange is a booking change of an import.
type importChange struct {
	storedEvent // the event as fetched; for a cancellation, as stored
	kind        RevisionKind
	was         *storedEvent // the stored event it changes; nil for a new one
}

// revert takes a change that was not applied out of the event list: the
// stored event it would have changed stays as it was.
func (p *importPlan) revert(c importChange) {
	if c.kind != Cancel {
		p.keep = slices.DeleteFunc(p.keep, func(e storedEvent) bool { return e.UID == c.UID })
	}
	if c.was != nil {
		p.keep = append(p.keep, *c.was)
	}
}

// planImport compares the stored events of a feed with a fetch of it.
func planImport(stored []storedEvent, fetched []CalendarEvent, unreadable []string, today Date, roomType string) importPlan {
	var p importPlan
	byUID := make(map[string]storedEvent, len(stored))
	taken := make(map[string]bool, len(stored)) // reservation ids the feed's events hold
	for _, e := range stored {
		byUID[e.UID] = e
		taken[e.ExternalID] = true
	}
	seen := make(map[string]bool, len(fetched))
	var fresh []CalendarEvent
	for _, e := range fetched {
		e.UID, e.Summary = eventUID(e.UID), cleanText(e.Summary)
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
			p.changes = append(p.changes, importChange{now, Modify, &old})
		} else {
			p.result.Unchanged++
		}
	}
	unread := make(map[string]bool, len(unreadable))
	for _, uid := range unreadable {
		unread[eventUID(uid)] = true
	}
	var vanished []storedEvent
	for _, e := range stored {
		switch {
		case seen[e.UID]:
		case unreadUID(e.UID, unread):
			// Still on the platform, unreadable this time: left as it is.
			p.keep = append(p.keep, e)
			p.result.Unreadable++
		default:
			vanished = append(vanished, e)
		}
	}
	slices.SortFunc(fresh, func(a, b CalendarEvent) int {
		return cmp.Or(a.Arrival.Sub(b.Arrival), cmp.Compare(a.UID, b.UID))
	})
	for _, e := range fresh {
		if !today.Before(e.Departure) {
			p.result.Past++
			continue
		}
		if i := slices.IndexFunc(vanished, func(v storedEvent) bool { return renumbers(v, e, today) }); i >= 0 {
			v := vanished[i]
			vanished = slices.Delete(vanished, i, i+1)
			now := storedEvent{CalendarEvent: e, ExternalID: v.ExternalID}
			p.keep = append(p.keep, now)
			if v.Arrival != e.Arrival || v.Departure != e.Departure {
				p.changes = append(p.changes, importChange{now, Modify, &v})
			} else {
				p.result.Renumbered++ // the booking stands; only the event list changes
			}
			continue
		}
		now := storedEvent{CalendarEvent: e, ExternalID: newExternalID(roomType, e.UID, taken)}
		taken[now.ExternalID] = true
		p.keep = append(p.keep, now)
		p.changes = append(p.changes, importChange{now, New, nil})
	}
	for _, v := range vanished {
		if today.Before(v.Departure) {
			p.changes = append(p.changes, importChange{v, Cancel, &v})
		}
	}
	return p
}

// unreadUID reports whether uid, or the event it is an occurrence of
// (<UID>/<date>), could not be read.
func unreadUID(uid string, unread map[string]bool) bool {
	for i := len(uid); i > 0; i = strings.LastIndexByte(uid[:i], '/') {
		if unread[uid[:i]] {
			return true
		}
	}
	return false
}

// renumbers reports whether fresh is the vanished event under a new UID:
// Airbnb gives a "Not available" block that has begun a new UID every
// day, its start clamped to a few days ago (reference/ical.md). So both
// have begun, the vanished one has not ended, and they say the same.
// Anything else that vanished is a cancellation, and a new UID a new
// booking: a guest who checked out, or one who cancelled while another
// booked, is no renumbered block.
func renumbers(vanished storedEvent, fresh CalendarEvent, today Date) bool {
	return today.Before(vanished.Departure) && !vanished.Arrival.After(today) &&
		!fresh.Arrival.After(today) && today.Before(fresh.Departure) && vanished.Summary == fresh.Summary
}

// maxUIDBytes is the longest UID kept as it is: an index entry cannot
// hold much more.
const maxUIDBytes = 1024

// eventUID is how an event's UID is kept: NUL and invalid UTF-8, which
// PostgreSQL text cannot hold, become U+FFFD, and a UID too long to index
// becomes a digest.
func eventUID(uid string) string {
	uid = cleanText(uid)
	if len(uid) <= maxUIDBytes {
		return uid
	}
	sum := sha256.Sum256([]byte(uid))
	return "sha256:" + hex.EncodeToString(sum[:16])
}

// newExternalID is the reservation id of a new event: importExternalID,
// unless another of the feed's events holds that id already (a block
// renumbered took it, and its old UID came back), then the first free
// importExternalID of <UID>~2, ~3…: two events never share a booking.
func newExternalID(roomType, uid string, taken map[string]bool) string {
	id := importExternalID(roomType, uid)
	for n := 2; taken[id]; n++ {
		id = importExternalID(roomType, fmt.Sprintf("%s~%d", uid, n))
	}
	return id
}

// importExternalID is the reservation id of an imported event: the room
// type and the UID (as eventUID keeps it), or a digest of a UID too long
// to be an id.
func importExternalID(roomType, uid string) string {
	id := roomType + "/" + uid
	if len(id) <= 128 {
		return id
	}
	sum := sha256.Sum256([]byte(uid))
	return roomType + "/sha256:" + hex.EncodeToString(sum[:16])
}
