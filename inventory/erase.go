package inventory

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// Guests' personal data (GDPR art. 17 and 5(1)(e)): a hotel must erase a
// guest's data on request once it no longer needs it, and keep it no longer
// than it needs it. keyrack keeps a guest's name, email and phone in the
// reservation (guest) and in each revision (revision->guest), and whatever
// the channel sent — addresses, special requests, a card holder's name — in
// each revision's raw message, in the inbound messages it came in (those
// sent with wrong credentials too), in the API answers kept for
// Idempotency-Keys (24 hours), an iCal event's summary in ical_events, and
// a PMS can echo the guest back in its answer to a webhook (feed_entries,
// and the incident of a webhook that failed for good). An erasure replaces every one of those copies with
// a marker and keeps what the inventory and the invariants need: the stays,
// status, totals, the nights held, the channel's ids and each revision's
// content hash — a message delivered again after the erasure is still
// recognised by its hash, answered as the duplicate it is and changes
// nothing.
//
// Erased stays erased: a later revision of the reservation keeps no guest
// data either (its raw message replaced by a note, its guest by the marker,
// the message it came in not kept), unless it makes the booking one the
// hotel needs its guest for again — confirmed for a stay not ended (a
// channel reinstating a cancelled booking) —, which is kept as any booking's.

// ErasedGuest is what an erasure leaves of a guest.
var ErasedGuest = Guest{Erased: true}

// erasedSummary is an erased iCal event's summary; a fetch of the calendar
// that still has the event leaves it so.
const erasedSummary = "(erased)"

// GuestErasure is what an erasure of a reservation's guest data did.
type GuestErasure struct {
	ReservationID int64
	// At is when the guest's data was erased; By who erased it.
	At time.Time
	By string
	// AlreadyErased: it had been erased before, at At (By is then who
	// asked again); nothing was left to erase.
	AlreadyErased bool
	// What was replaced: revisions, inbound messages, kept API answers,
	// iCal events.
	Revisions, Messages, KeptAnswers, CalendarEvents int64
}

// erasureNote replaces a raw message of an erased guest: when, in the
// property's zone loc (the booking's page shows it among the property's
// other moments).
func erasureNote(at time.Time, loc *time.Location, by string) string {
	return "(guest data erased " + at.In(loc).Format("2006-01-02 15:04:05 MST") + " by " + by + ")"
}

// GuestDataNeeded reports whether the hotel still needs the data of a
// booking's guest on day today (the property's): the booking is confirmed
// and its stay has not ended — its check-out day (departure) is today or
// later. Such a guest's data is not erased.
func GuestDataNeeded(status Status, departure, today Date) bool {
	return status == Confirmed && (departure.IsZero() || !departure.Before(today))
}

// ErasedMessageNote is what keyrack keeps of an inbound message that names
// a reservation whose guest's data was erased, instead of the message.
const ErasedMessageNote = "(not kept: it names a reservation whose guest data was erased)"

// EraseGuestData erases the personal data of the guest of a reservation
// (keyrack's id), in one transaction with its audit entry (who and when,
// none of the data). A reservation confirmed for a stay that has not ended
// — its check-out day is today or later — is refused with an ECONFLICT
// error: the hotel needs its guest until then. A cancelled or pending one
// can be erased at any time. Erasing again changes nothing
// (AlreadyErased).
func (s *Store) EraseGuestData(ctx context.Context, property string, reservationID int64, by Actor) (GuestErasure, error) {
	out := GuestErasure{ReservationID: reservationID, By: by.String()}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		prop, err := propertyByCode(ctx, tx, property)
		if err != nil {
			return err
		}
		var channel, externalID string
		var status Status
		var departure *Date
		var erasedAt *time.Time
		var today Date
		var now time.Time
		// Locked as a revision's group locks it: a revision applied at the
		// same time comes before (erased with the rest) or after (kept
		// erased).
		err = tx.QueryRow(ctx, `SELECT c.code, r.external_id, r.status, r.departure, r.guest_erased_at,
				(now() AT TIME ZONE $3)::date, now()
			FROM reservations r JOIN channels c ON c.property_id = r.property_id AND c.id = r.channel_id
			WHERE r.property_id = $1 AND r.id = $2 FOR UPDATE OF r`, prop.ID, reservationID, prop.TimeZone).
			Scan(&channel, &externalID, &status, &departure, &erasedAt, &today, &now)
		if err != nil {
			return notFound(err, "there is no reservation %d in property %s", reservationID, property)
		}
		if erasedAt != nil {
			out.AlreadyErased, out.At = true, *erasedAt
			return nil
		}
		var end Date
		if departure != nil {
			end = *departure
		}
		if GuestDataNeeded(status, end, today) {
			end := "its stay"
			if departure != nil {
				end = fmt.Sprintf("its stay, which ends on %s (check-out),", departure)
			}
			return Errorf(ECONFLICT, "the guest data of reservation %s from %s cannot be erased yet: the booking is confirmed and %s has not ended — "+
				"the hotel still needs the guest's data for check-in and the stay. Erase it after check-out, or once the booking is cancelled",
				externalID, channel, end)
		}
		out.At = now
		if err := eraseGuests(ctx, tx, prop.ID, []int64{reservationID}, now, by, true, &out); err != nil {
			return err
		}
		return audit(ctx, tx, prop.ID, by, "reservation.erase_guest_data", ReservationAuditSubject(reservationID), map[string]any{
			"channel": channel, "external_id": externalID, "revisions": out.Revisions, "messages": out.Messages,
			"kept_answers": out.KeptAnswers, "calendar_events": out.CalendarEvents,
		})
	})
	return out, err
}

// eraseGuests replaces every stored copy of the guest data of the
// property's reservations ids with the erasure marker, as at by by, and
// counts what it replaced in n. With messages, the inbound messages of the
// reservations' channels that name them (by the channel's id for them, as
// OTA XML writes a reservation's id: namesReservationSQL) are replaced too: a scan of the
// channel's messages since the reservation came, which the retention
// leaves to the messages' own (capped) retention.
func eraseGuests(ctx context.Context, tx pgx.Tx, property int64, ids []int64, at time.Time, by Actor, messages bool, n *GuestErasure) error {
	var tz string
	if err := tx.QueryRow(ctx, `SELECT time_zone FROM properties WHERE id = $1`, property).Scan(&tz); err != nil {
		return err
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		loc = time.UTC // a zone PostgreSQL took and Go does not know: said as UTC
	}
	note := erasureNote(at, loc, by.String())
	if _, err := tx.Exec(ctx, `UPDATE reservations SET guest = '{"erased": true}', guest_erased_at = $3
		WHERE property_id = $1 AND id = ANY($2)`, property, ids, at); err != nil {
		return err
	}
	tag, err := tx.Exec(ctx, `UPDATE reservation_revisions
		SET revision = jsonb_set(revision, '{guest}', '{"erased": true}'), raw = CASE WHEN raw IS NULL THEN NULL ELSE $3 END
		WHERE property_id = $1 AND reservation_id = ANY($2)`, property, ids, note)
	if err != nil {
		return err
	}
	n.Revisions += tag.RowsAffected()
	if messages {
		// The message whole: what keyrack answered and the errors it
		// found can quote what was sent.
		tag, err = tx.Exec(ctx, `UPDATE inbound_messages m SET raw = $3,
				detail = CASE WHEN m.detail = '' THEN '' ELSE $3 END, reply = CASE WHEN m.reply = '' THEN '' ELSE $3 END
			FROM reservations r
			WHERE r.property_id = $1 AND r.id = ANY($2) AND m.property_id = r.property_id AND m.channel_id = r.channel_id
				AND m.received_at >= r.created_at - interval '1 day' AND m.raw <> $3 AND `+namesReservationSQL, property, ids, note)
		if err != nil {
			return err
		}
		n.Messages += tag.RowsAffected()
		// And those the channel sent with credentials keyrack refused (a
		// wrong password before the right one), kept apart under the
		// channel's code: the ones that name the channel's hotel too.
		tag, err = tx.Exec(ctx, `UPDATE inbound_unattributed m SET raw = $3,
				detail = CASE WHEN m.detail = '' THEN '' ELSE $3 END, reply = CASE WHEN m.reply = '' THEN '' ELSE $3 END
			FROM reservations r JOIN channels c ON c.property_id = r.property_id AND c.id = r.channel_id
			WHERE r.property_id = $1 AND r.id = ANY($2) AND m.channel_code = c.code AND (c.hotel_code = '' OR strpos(m.raw, c.hotel_code) > 0)
				AND m.received_at >= r.created_at - interval '1 day' AND m.raw <> $3 AND `+namesReservationSQL, property, ids, note)
		if err != nil {
			return err
		}
		n.Messages += tag.RowsAffected()
	}
	// What a PMS answered to a webhook of the reservation's revisions —
	// its error can echo the guest back — and the incident of one that
	// failed for good, which quotes it: the answer becomes the note, the
	// rest of the incident's message stays.
	if _, err := tx.Exec(ctx, `UPDATE feed_entries SET last_error = $3
		WHERE property_id = $1 AND reservation_id = ANY($2) AND last_error <> $3`, property, ids, note); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE incidents i SET details = jsonb_set(i.details, '{last_error}', to_jsonb($3::text)),
			message = CASE WHEN strpos(i.message, m.cut) > 0 THEN left(i.message, strpos(i.message, m.cut) + length(m.cut) - 1) || $3 ELSE $3 END
		FROM reservations r, LATERAL (SELECT ' of reservation ' || r.external_id || '): ' AS cut) m
		WHERE i.property_id = $1 AND i.reservation_id = ANY($2) AND r.property_id = i.property_id AND r.id = i.reservation_id
			AND i.kind = 'webhook_failed' AND i.details->>'last_error' <> $3`, property, ids, note); err != nil {
		return err
	}
	// The API's answers about the reservation (its creation, changes,
	// cancellation) kept for a replay: their reservation's guest. The
	// cast to JSON only of answers that are JSON (CASE keeps the order).
	tag, err = tx.Exec(ctx, `UPDATE idempotency_keys k
		SET response = convert_to(jsonb_set(convert_from(k.response, 'UTF8')::jsonb, '{reservation,guest}', '{"erased": true}')::text, 'UTF8')
		WHERE k.property_id = $1 AND (CASE WHEN NOT k.sealed AND k.status BETWEEN 200 AND 299 AND k.content_type LIKE 'application/json%'
				AND k.response IS NOT NULL
			THEN jsonb_typeof(convert_from(k.response, 'UTF8')::jsonb -> 'reservation') = 'object'
				AND (convert_from(k.response, 'UTF8')::jsonb #>> '{reservation,id}') = ANY($2::text[])
			ELSE false END)`, property, int64Texts(ids))
	if err != nil {
		return err
	}
	n.KeptAnswers += tag.RowsAffected()
	tag, err = tx.Exec(ctx, `UPDATE ical_events e SET summary = $3
		FROM reservations r JOIN ical_feeds f ON f.property_id = r.property_id AND f.channel_id = r.channel_id
		WHERE r.property_id = $1 AND r.id = ANY($2) AND e.property_id = f.property_id AND e.feed_id = f.id
			AND e.external_id = r.external_id AND e.summary <> $3`, property, ids, erasedSummary)
	if err != nil {
		return err
	}
	n.CalendarEvents += tag.RowsAffected()
	return nil
}

// namesReservationSQL holds for an inbound message m that names
// reservation r as OTA XML writes a reservation's id: the value of a
// UniqueID's ID or a HotelReservationID's ResID_Value, in either quotes.
// The id standing elsewhere — a count of rooms or guests equal to a short
// id — is another booking's message, not this one's.
const namesReservationSQL = `strpos(m.raw, r.external_id) > 0
	AND m.raw ~ ('[[:space:]](ID|ResID_Value)[[:space:]]*=[[:space:]]*(["'']' || regexp_replace(r.external_id, '([^[:alnum:]_])', '\\\1', 'g') || '["''])')`

func int64Texts(ids []int64) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = strconv.FormatInt(id, 10)
	}
	return out
}

// keepErased keeps the guest of m's reservation, whose data was erased,
// erased (the group calls it once m's effect is folded): m's revision
// keeps no guest data and no raw message, and the reservation's guest stays
// the marker. Unless m makes the booking confirmed for a stay that has not
// ended — the channel reinstated it, and the hotel needs its guest at
// check-in —: then m is kept as it came, and the reservation is no longer
// erased (an erasure, or the retention, can erase it again later).
func (m *member) keepErased() {
	if _, departure := stayDates(m.eff.Stays); departure != nil && GuestDataNeeded(m.eff.Status, *departure, m.prop.today()) {
		m.unerase = true
		return
	}
	m.rev.Guest, m.eff.Guest = ErasedGuest, ErasedGuest
	if m.rev.Raw != nil {
		m.rev.Raw = []byte(ErasedMessageNote)
	}
	m.out.GuestErased = true
}

// today is the property's local date now.
func (p *propState) today() Date {
	loc, err := time.LoadLocation(p.TimeZone)
	if err != nil {
		loc = time.UTC // a zone PostgreSQL took and Go does not know: a day off at most
	}
	return LocalDate(time.Now(), loc)
}
