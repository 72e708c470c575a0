package inventory

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/text/unicode/norm"
)

// Finding reservations for the staff screens: a search over a property's
// bookings, and what a booking's page shows besides its revisions (the
// nights it holds, the content type of each revision, its incidents).

// ReservationStatuses are the statuses a reservation can be in, in the order
// staff look for them.
var ReservationStatuses = []Status{Confirmed, Pending, Cancelled}

// ReservationQuery narrows a property's reservations; zero fields match
// everything.
type ReservationQuery struct {
	Channel string // the channel's code
	Status  Status
	// From and To select stays overlapping the nights [From, To): a stay
	// arriving on To or leaving on From does not match. Either may be zero
	// (open-ended). A reservation without stays (pending, nothing known
	// yet) never matches a date filter.
	From, To Date
	// Arrival selects the reservations with a stay arriving on that date
	// (zero: any): the front desk's arrivals of a day. A stay arriving
	// more than MaxStayNights after its reservation's first is not found
	// (a booking of rooms a year apart).
	Arrival Date
	// Guest is a case-insensitive substring of the lead guest's name or
	// e-mail address; % and _ are matched literally.
	Guest string
	// ExternalID is the channel's reservation id, matched exactly; a number
	// also matches keyrack's own reservation id.
	ExternalID string
	// Limit is the page size (default 50, at most 500); Offset skips that many.
	Limit, Offset int
}

// MaxSearchLimit bounds one page of a reservation search.
const MaxSearchLimit = 500

// SearchReservations lists a property's reservations matching q, the most
// recently changed first (ties: the newest reservation first); more says
// whether a further page exists. An unknown property has no reservations.
func (s *Store) SearchReservations(ctx context.Context, property string, q ReservationQuery) ([]Reservation, bool, error) {
	if q.Status != "" && !validStatus(q.Status) {
		return nil, false, Errorf(EINVALID, "status %q is not one of confirmed, pending, cancelled", q.Status)
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return nil, false, Errorf(EINVALID, "the stay dates run from %s to %s: the end must be after the start", q.From, q.To)
	}
	if q.Offset < 0 {
		return nil, false, Errorf(EINVALID, "offset %d is negative", q.Offset)
	}
	switch {
	case q.Limit <= 0:
		q.Limit = 50
	case q.Limit > MaxSearchLimit:
		q.Limit = MaxSearchLimit
	}
	// The property by its id, and a statement with the conditions the
	// query sets and no others ("$2 = '' OR c.code = $2" hides them from
	// a prepared statement's generic plan): PostgreSQL then knows how many
	// bookings the property has — a large hotel of a group of small ones
	// far more than the average — and reads the latest 50 in order
	// (reservations_updated) rather than sorting every one to show them.
	var propertyID int64
	err := s.db.QueryRow(ctx, `SELECT id FROM properties WHERE code = $1`, property).Scan(&propertyID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	args := []any{propertyID}
	arg := func(v any) string { // the placeholder of a new argument
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	// The channel's code is read for the page's rows only: a join with
	// channels would have PostgreSQL go channel by channel through every
	// booking of the property, expecting few of each.
	sql := `
	SELECT r.id, (SELECT c.code FROM channels c WHERE c.property_id = r.property_id AND c.id = r.channel_id),
		r.external_id, r.status, r.parked, r.arrival, r.departure,
		r.stays, r.guest, r.total::text, r.currency, r.revisions, r.created_at, r.updated_at, r.guest_erased_at
	FROM reservations r
	WHERE r.property_id = $1`
	if q.Channel != "" {
		sql += " AND r.channel_id = (SELECT c.id FROM channels c WHERE c.property_id = $1 AND c.code = " + arg(q.Channel) + ")"
	}
	if q.Status != "" {
		sql += " AND r.status = " + arg(string(q.Status))
	}
	if !q.From.IsZero() {
		sql += " AND r.departure > " + arg(q.From) + "::date"
	}
	if !q.To.IsZero() {
		sql += " AND r.arrival < " + arg(q.To) + "::date"
	}
	if !q.Arrival.IsZero() {
		// Its first stay arrives that day, or a later one does: that
		// stay's reservation arrived before it and is still in the house
		// (departs after it). Reservations arriving up to MaxStayNights
		// before the day are looked at, so that PostgreSQL reads a year
		// of the stay index, not the property's whole history.
		a := arg(q.Arrival) + "::date"
		sql += " AND (r.arrival = " + a + " OR (r.arrival >= " + a + " - " + strconv.Itoa(MaxStayNights) + " AND r.arrival < " + a +
			" AND r.departure > " + a + " AND r.stays @> jsonb_build_array(jsonb_build_object('arrival', " + a + "::text))))"
	}
	// Names come composed (é) or decomposed (e + U+0301) depending on the
	// channel; both sides are compared in NFC.
	if guest := norm.NFC.String(strings.TrimSpace(q.Guest)); guest != "" {
		g := arg("%" + likeEscaper.Replace(guest) + "%")
		sql += " AND (normalize(r.guest->>'name', NFC) ILIKE " + g + ` ESCAPE '\' OR r.guest->>'email' ILIKE ` + g + ` ESCAPE '\')`
	}
	if ext := strings.TrimSpace(q.ExternalID); ext != "" {
		if n, err := strconv.ParseInt(ext, 10, 64); err == nil && n > 0 {
			sql += " AND (r.external_id = " + arg(ext) + " OR r.id = " + arg(n) + "::bigint)"
		} else {
			sql += " AND r.external_id = " + arg(ext)
		}
	}
	sql += "\n\tORDER BY r.updated_at DESC, r.id DESC LIMIT " + arg(q.Limit+1) + " OFFSET " + arg(q.Offset)
	rows, _ := s.db.Query(ctx, sql, args...)
	out, err := pgx.CollectRows(rows, scanReservationRow)
	if err != nil {
		return nil, false, err
	}
	more := len(out) > q.Limit
	if more {
		out = out[:q.Limit]
	}
	for i := range out {
		out[i].Property = property
	}
	return out, more, nil
}

// reservationRowsSQL reads a property's ($1) reservations as
// scanReservationRow takes them (as SearchReservations reads them too);
// the caller adds its conditions.
const reservationRowsSQL = `
	SELECT r.id, c.code, r.external_id, r.status, r.parked, r.arrival, r.departure,
		r.stays, r.guest, r.total::text, r.currency, r.revisions, r.created_at, r.updated_at, r.guest_erased_at
	FROM reservations r
	JOIN channels c ON c.property_id = r.property_id AND c.id = r.channel_id
	WHERE r.property_id = (SELECT id FROM properties WHERE code = $1)
`

// likeEscaper makes a search text match itself literally in LIKE.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func validStatus(s Status) bool {
	for _, v := range ReservationStatuses {
		if s == v {
			return true
		}
	}
	return false
}

func scanReservationRow(row pgx.CollectableRow) (Reservation, error) {
	var r Reservation
	var arrival, departure *Date
	var total, currency *string
	err := row.Scan(&r.ID, &r.Channel, &r.ExternalID, &r.Status, &r.Parked, &arrival, &departure,
		&r.Stays, &r.Guest, &total, &currency, &r.Revisions, &r.CreatedAt, &r.UpdatedAt, &r.GuestErasedAt)
	if arrival != nil && departure != nil {
		r.Arrival, r.Departure = *arrival, *departure
	}
	if total != nil {
		r.Total = *total
	}
	if currency != nil {
		r.Currency = *currency
	}
	return r, err
}

// ReservationsByID reads a property's reservations by keyrack's ids, in one
// query; ids that are not the property's are left out of the map.
func (s *Store) ReservationsByID(ctx context.Context, property string, ids []int64) (map[int64]Reservation, error) {
	out := map[int64]Reservation{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, _ := s.db.Query(ctx, reservationRowsSQL+` AND r.id = ANY($2::bigint[])`, property, ids)
	rs, err := pgx.CollectRows(rows, scanReservationRow)
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		r.Property = property
		out[r.ID] = r
	}
	return out, nil
}

// HeldNight is what a reservation takes from one pool on one night.
type HeldNight struct {
	Pool  string `json:"pool"`
	Night Date   `json:"night"`
	Units int    `json:"units"`
}

// HeldNights lists the pool-nights a reservation holds now, by pool and
// night; a cancelled, pending or parked stay holds none.
func (s *Store) HeldNights(ctx context.Context, property string, reservationID int64) ([]HeldNight, error) {
	rows, _ := s.db.Query(ctx, `
		SELECT pl.code, h.night, h.units
		FROM reservations r
		CROSS JOIN LATERAL jsonb_to_recordset(r.held) AS h (pool_id bigint, night date, units int)
		JOIN pools pl ON pl.property_id = r.property_id AND pl.id = h.pool_id
		WHERE r.property_id = (SELECT id FROM properties WHERE code = $1) AND r.id = $2
		ORDER BY pl.code, h.night`, property, reservationID)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (HeldNight, error) {
		var h HeldNight
		err := r.Scan(&h.Pool, &h.Night, &h.Units)
		return h, err
	})
}

// RevisionContentTypes maps each revision of a reservation (by seq) to the
// content type its raw payload arrived in ("" when unknown).
func (s *Store) RevisionContentTypes(ctx context.Context, property string, reservationID int64) (map[int]string, error) {
	rows, _ := s.db.Query(ctx, `
		SELECT seq, content_type FROM reservation_revisions
		WHERE property_id = (SELECT id FROM properties WHERE code = $1) AND reservation_id = $2`, property, reservationID)
	out := map[int]string{}
	var seq int
	var ct string
	_, err := pgx.ForEachRow(rows, []any{&seq, &ct}, func() error {
		out[seq] = ct
		return nil
	})
	return out, err
}

// ReservationIncidents lists the incidents about a reservation, open and
// resolved, newest first: its unmapped room, the overbookings it caused or
// was part of, and its revisions' delivery problems towards the PMS.
func (s *Store) ReservationIncidents(ctx context.Context, property string, reservationID int64) ([]Incident, error) {
	// Each kind of link through its own index (resolved incidents too), so
	// that a booking's page does not read every incident the property had.
	rows, _ := s.db.Query(ctx, `
		WITH p AS (SELECT id FROM properties WHERE code = $1),
		about AS (
			SELECT i.id FROM p JOIN incidents i ON i.property_id = p.id AND i.reservation_id = $2
			UNION
			SELECT i.id FROM p JOIN channels c ON c.property_id = p.id
			JOIN feed_entries f ON f.property_id = c.property_id AND f.channel_id = c.id AND f.reservation_id = $2
			JOIN incidents i ON i.property_id = f.property_id AND i.feed_entry_id = f.id
			UNION
			SELECT i.id FROM p JOIN incidents i ON i.property_id = p.id AND i.kind = 'overbooking'
				AND i.details->'reservations' @> to_jsonb($2::bigint)
		)
		SELECT i.id, i.kind, coalesce(pl.code, ''), i.night, i.reservation_id, i.excess, i.message,
			i.details, i.opened_at, i.updated_at, i.resolved_at, i.resolved_by
		FROM p JOIN about ON true JOIN incidents i ON i.property_id = p.id AND i.id = about.id
		LEFT JOIN pools pl ON pl.property_id = i.property_id AND pl.id = i.pool_id
		ORDER BY i.id DESC`, property, reservationID)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Incident, error) {
		var i Incident
		err := r.Scan(&i.ID, &i.Kind, &i.Pool, &i.Night, &i.ReservationID, &i.Excess, &i.Message,
			&i.Details, &i.OpenedAt, &i.UpdatedAt, &i.ResolvedAt, &i.ResolvedBy)
		return i, err
	})
}

// FeedDelivery is how one revision of a reservation went out to one PMS
// channel: on its pull feed, and by webhook when the channel has an
// endpoint. The PMS acknowledging it is what counts as received.
type FeedDelivery struct {
	Seq         int    // the revision
	Channel     string // the PMS channel's code
	FeedID      int64  // the id the PMS acknowledges
	Webhook     bool
	CreatedAt   time.Time
	DeliveredAt *time.Time // the webhook was answered 2xx
	FailedAt    *time.Time // the webhook ran out of retries or was refused for good
	AckedAt     *time.Time
	Attempts    int
	LastError   string
}

// ReservationFeedDeliveries lists, for each revision of a reservation, how
// it went out to the property's PMS channels, by revision and channel.
// Revisions a channel sent itself are not echoed back to it, so they have
// no entry for that channel.
func (s *Store) ReservationFeedDeliveries(ctx context.Context, property string, reservationID int64) ([]FeedDelivery, error) {
	rows, _ := s.db.Query(ctx, `
		SELECT f.revision_seq, c.code, f.id, f.webhook, f.created_at, f.delivered_at, f.failed_at, f.acked_at,
			f.attempts, coalesce(f.last_error, '')
		FROM channels c
		JOIN feed_entries f ON f.property_id = c.property_id AND f.channel_id = c.id AND f.reservation_id = $2
		WHERE c.property_id = (SELECT id FROM properties WHERE code = $1)
		ORDER BY f.revision_seq, c.code`, property, reservationID)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (FeedDelivery, error) {
		var d FeedDelivery
		err := r.Scan(&d.Seq, &d.Channel, &d.FeedID, &d.Webhook, &d.CreatedAt, &d.DeliveredAt, &d.FailedAt, &d.AckedAt,
			&d.Attempts, &d.LastError)
		return d, err
	})
}

// ReservationAuditSubject is the audit log's subject for a reservation's
// changes, for Store.Audit.
func ReservationAuditSubject(id int64) string { return "reservation " + strconv.FormatInt(id, 10) }
