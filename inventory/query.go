package inventory

import (
	"context"
	"math"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// Incident is something staff must look at: a night past its limit, or a
// booking parked because its room is not mapped.
type Incident struct {
	ID            int64          `json:"id"`
	Kind          string         `json:"kind"` // overbooking, unmapped_booking
	Pool          string         `json:"pool,omitempty"`
	Night         *Date          `json:"night,omitempty"`
	ReservationID *int64         `json:"reservation_id,omitempty"`
	Excess        int            `json:"excess,omitempty"`
	Message       string         `json:"message"`
	Details       map[string]any `json:"details,omitempty"`
	OpenedAt      time.Time      `json:"opened_at"`
	UpdatedAt     time.Time      `json:"updated_at"`
	ResolvedAt    *time.Time     `json:"resolved_at,omitempty"`
	ResolvedBy    *string        `json:"resolved_by,omitempty"`
}

// Incidents lists a property's incidents, open ones only when openOnly, newest first.
func (s *Store) Incidents(ctx context.Context, property string, openOnly bool) ([]Incident, error) {
	return s.IncidentsPage(ctx, property, openOnly, 0, 0)
}

// IncidentsPage lists a property's incidents as Incidents does, those with
// ids below before only (0: from the newest), at most limit of them (0: all)
// — a page of a list that grows for as long as the hotel runs.
func (s *Store) IncidentsPage(ctx context.Context, property string, openOnly bool, before int64, limit int) ([]Incident, error) {
	if before <= 0 {
		before = math.MaxInt64 // a bound the key's index can use, where "0 means none" could not
	}
	rows, _ := s.db.Query(ctx, `SELECT i.id, i.kind, coalesce(pl.code, ''), i.night, i.reservation_id, i.excess, i.message,
			i.details, i.opened_at, i.updated_at, i.resolved_at, i.resolved_by
		FROM incidents i JOIN properties p ON p.id = i.property_id
		LEFT JOIN pools pl ON pl.property_id = i.property_id AND pl.id = i.pool_id
		WHERE p.code = $1 AND (NOT $2 OR i.resolved_at IS NULL) AND i.id < $3
		ORDER BY i.id DESC LIMIT nullif($4::int, 0)`, property, openOnly, before, limit)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Incident, error) {
		var i Incident
		err := r.Scan(&i.ID, &i.Kind, &i.Pool, &i.Night, &i.ReservationID, &i.Excess, &i.Message,
			&i.Details, &i.OpenedAt, &i.UpdatedAt, &i.ResolvedAt, &i.ResolvedBy)
		return i, err
	})
}

// ResolveIncident closes an open incident.
func (s *Store) ResolveIncident(ctx context.Context, property string, id int64, by Actor) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		prop, err := propertyByCode(ctx, tx, property)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE incidents SET resolved_at = now(), resolved_by = $3
			WHERE property_id = $1 AND id = $2 AND resolved_at IS NULL`, prop.ID, id, by.String())
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return Errorf(ENOTFOUND, "no open incident %d in property %s", id, property)
		}
		return audit(ctx, tx, prop.ID, by, "incident.resolve", "incident "+strconv.FormatInt(id, 10), nil)
	})
}

// Reservation returns a reservation by the channel's id for it.
func (s *Store) Reservation(ctx context.Context, property, channel, externalID string) (Reservation, error) {
	return s.reservation(ctx, `p.code = $1 AND c.code = $2 AND r.external_id = $3`, property, channel, externalID)
}

// ReservationByID returns a reservation by keyrack's own id.
func (s *Store) ReservationByID(ctx context.Context, property string, id int64) (Reservation, error) {
	return s.reservation(ctx, `p.code = $1 AND r.id = $2`, property, id)
}

func (s *Store) reservation(ctx context.Context, where string, args ...any) (Reservation, error) {
	var r Reservation
	var arrival, departure *Date
	var total *string
	var currency *string
	err := s.db.QueryRow(ctx, `SELECT r.id, p.code, c.code, r.external_id, r.status, r.parked, r.arrival, r.departure,
			r.stays, r.guest, r.total::text, r.currency, r.revisions, r.created_at, r.updated_at, r.guest_erased_at
		FROM reservations r
		JOIN properties p ON p.id = r.property_id
		JOIN channels c ON c.property_id = r.property_id AND c.id = r.channel_id
		WHERE `+where, args...).Scan(&r.ID, &r.Property, &r.Channel, &r.ExternalID, &r.Status, &r.Parked, &arrival, &departure,
		&r.Stays, &r.Guest, &total, &currency, &r.Revisions, &r.CreatedAt, &r.UpdatedAt, &r.GuestErasedAt)
	if err != nil {
		return r, notFound(err, "reservation not found")
	}
	if arrival != nil {
		r.Arrival, r.Departure = *arrival, *departure
	}
	if total != nil {
		r.Total = *total
	}
	if currency != nil {
		r.Currency = *currency
	}
	return r, nil
}

// Revisions lists every revision received for a reservation, in arrival
// order, with its masked raw payload.
func (s *Store) Revisions(ctx context.Context, property string, reservationID int64) ([]RevisionRecord, error) {
	rows, _ := s.db.Query(ctx, `SELECT rv.seq, rv.revision, rv.received_at, rv.outcome, coalesce(rv.raw, ''), rv.actor, rv.content_hash
		FROM reservation_revisions rv JOIN properties p ON p.id = rv.property_id
		WHERE p.code = $1 AND rv.reservation_id = $2 ORDER BY rv.seq`, property, reservationID)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (RevisionRecord, error) {
		var rec RevisionRecord
		err := r.Scan(&rec.Seq, &rec.Revision, &rec.ReceivedAt, &rec.Outcome, &rec.Raw, &rec.Actor, &rec.ContentHash)
		return rec, err
	})
}

// HasOpenIncident reports whether the property has an open incident: the
// staff pages' menu marks its alerts then.
func (s *Store) HasOpenIncident(ctx context.Context, property string) (bool, error) {
	var open bool
	err := s.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM incidents i JOIN properties p ON p.id = i.property_id
		WHERE p.code = $1 AND i.resolved_at IS NULL)`, property).Scan(&open)
	return open, err
}

// OpenIncidentCounts counts the open incidents of every property by kind
// (every kind is present, 0 when none is open): for metrics and alerting.
func (s *Store) OpenIncidentCounts(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	for _, k := range IncidentKinds {
		out[k] = 0
	}
	rows, _ := s.db.Query(ctx, `SELECT kind, count(*)::int FROM incidents WHERE resolved_at IS NULL GROUP BY kind`)
	var kind string
	var n int
	_, err := pgx.ForEachRow(rows, []any{&kind, &n}, func() error {
		out[kind] = n
		return nil
	})
	return out, err
}

// IncidentKinds are the kinds of incident keyrack raises.
var IncidentKinds = []string{"overbooking", "unmapped_booking", "unacked_revision", "webhook_failed", "stale_feed", "stale_export", "stale_pull", "pull_refused", "database_restored"}
