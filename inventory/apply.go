package inventory

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"

	"github.com/jackc/pgx/v5"
)

var (
	amountRE   = regexp.MustCompile(`^-?[0-9]{1,12}(\.[0-9]{1,2})?$`)
	currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)
)

// MaxStayNights bounds one room stay.
const MaxStayNights = 365

// hold is the units a reservation takes on one pool-night.
type hold struct {
	nightKey
	Units int `json:"units"`
}

// catalogRefs resolves the codes a revision names.
type catalogRefs struct {
	property  Property
	channelID int64
	// room type code → pool id, for the room types that exist
	roomPools map[string]int64
	poolCodes map[int64]string
}

func (r *catalogRefs) poolCode(id int64) string { return r.poolCodes[id] }

// resolveAndInsert resolves the codes a revision names and creates its
// reservation row if it is new, in one round trip. It returns the new
// reservation's id, or 0 when the reservation already exists.
func resolveAndInsert(ctx context.Context, tx dbtx, rev *Revision) (*catalogRefs, int64, error) {
	var codes []string
	for _, st := range rev.Stays {
		if st.RoomType != "" {
			codes = append(codes, st.RoomType)
		}
	}
	var b pgx.Batch
	b.Queue("begin")
	b.Queue(`
		WITH p AS (SELECT id, name, time_zone, currency FROM properties WHERE code = $1),
		c AS (SELECT c.id FROM channels c JOIN p ON c.property_id = p.id WHERE c.code = $2),
		created AS (
			INSERT INTO reservations (property_id, channel_id, external_id, status)
			SELECT p.id, c.id, $3, 'pending' FROM p, c
			ON CONFLICT (property_id, channel_id, external_id) DO NOTHING RETURNING id
		)
		SELECT p.id, p.name, p.time_zone, p.currency, (SELECT id FROM c), (SELECT id FROM created),
			-- One index lookup per room type named, however many the property has.
			(SELECT ROW(coalesce(array_agg(t.code), '{}'), coalesce(array_agg(t.pool_id), '{}'), coalesce(array_agg(t.pool_code), '{}'))
			 FROM unnest($4::text[]) AS want (code)
			 CROSS JOIN LATERAL (
				SELECT rt.code, rt.pool_id, (SELECT pl.code FROM pools pl WHERE pl.property_id = rt.property_id AND pl.id = rt.pool_id) AS pool_code
				FROM room_types rt WHERE rt.property_id = p.id AND rt.code = want.code LIMIT 1
			 ) AS t)
		FROM p`, rev.Property, rev.Channel, rev.ExternalID, codes)
	br := tx.SendBatch(ctx, &b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return nil, 0, err
	}
	refs := &catalogRefs{property: Property{Code: rev.Property}, roomPools: map[string]int64{}, poolCodes: map[int64]string{}}
	p := &refs.property
	var channelID, newID *int64
	var types struct {
		Codes     []string
		Pools     []int64
		PoolCodes []string
	}
	if err := br.QueryRow().Scan(&p.ID, &p.Name, &p.TimeZone, &p.Currency, &channelID, &newID, &types); err != nil {
		return nil, 0, notFound(err, "property %s does not exist", rev.Property)
	}
	if channelID == nil {
		return nil, 0, Errorf(ENOTFOUND, "channel %s does not exist in property %s", rev.Channel, rev.Property)
	}
	refs.channelID = *channelID
	for i, code := range types.Codes {
		refs.roomPools[code] = types.Pools[i]
		refs.poolCodes[types.Pools[i]] = types.PoolCodes[i]
	}
	var id int64
	if newID != nil {
		id = *newID
	}
	return refs, id, br.Close()
}

// resolveRoomTypes looks up the room types that earlier revisions name and
// the incoming one does not: whichever revision wins the fold decides what
// the reservation holds.
func (r *catalogRefs) resolveRoomTypes(ctx context.Context, tx dbtx, revs []RevisionRecord) error {
	var missing []string
	for _, rec := range revs {
		for _, st := range rec.Revision.Stays {
			if _, ok := r.roomPools[st.RoomType]; !ok && st.RoomType != "" && !slices.Contains(missing, st.RoomType) {
				missing = append(missing, st.RoomType)
			}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	rows, _ := tx.Query(ctx, `SELECT rt.code, pl.id, pl.code FROM room_types rt
		JOIN pools pl ON pl.property_id = rt.property_id AND pl.id = rt.pool_id
		WHERE rt.property_id = $1 AND rt.code = ANY($2)`, r.property.ID, missing)
	var code, poolCode string
	var poolID int64
	_, err := pgx.ForEachRow(rows, []any{&code, &poolID, &poolCode}, func() error {
		r.roomPools[code] = poolID
		r.poolCodes[poolID] = poolCode
		return nil
	})
	return err
}

// validateRevision checks what can be checked without the database and fills
// in defaults.
func validateRevision(rev *Revision) error {
	if rev.Property == "" || rev.Channel == "" {
		return Errorf(EINVALID, "a reservation needs a property and a channel")
	}
	if rev.ExternalID == "" {
		return Errorf(EINVALID, "the channel's reservation id is missing")
	}
	if len(rev.ExternalID) > 128 {
		return Errorf(EINVALID, "reservation id %.20q… is longer than 128 characters", rev.ExternalID)
	}
	switch rev.Kind {
	case New, Modify, Cancel:
	default:
		return Errorf(EINVALID, "reservation %s: revision kind %q is not new, modify or cancel", rev.ExternalID, rev.Kind)
	}
	switch rev.Mode {
	case "":
		rev.Mode = MustAccept
	case MustAccept, MayReject:
	default:
		return Errorf(EINVALID, "acceptance mode %q is not must_accept or may_reject", rev.Mode)
	}
	if rev.Total != "" && !amountRE.MatchString(rev.Total) {
		return Errorf(EINVALID, "reservation %s: total %q is not a decimal amount", rev.ExternalID, rev.Total)
	}
	if rev.Currency != "" && !currencyRE.MatchString(rev.Currency) {
		return Errorf(EINVALID, "reservation %s: currency %q is not an ISO 4217 code", rev.ExternalID, rev.Currency)
	}
	if rev.Kind != Cancel && len(rev.Stays) == 0 {
		return Errorf(EINVALID, "reservation %s: a %s needs at least one room stay", rev.ExternalID, rev.Kind)
	}
	for i := range rev.Stays {
		st := &rev.Stays[i]
		if st.Rooms == 0 {
			st.Rooms = 1
		}
		if st.Rooms < 0 || st.Rooms > 1000 {
			return Errorf(EINVALID, "reservation %s: room stay %d asks for %d rooms", rev.ExternalID, i+1, st.Rooms)
		}
		if !st.Arrival.Before(st.Departure) {
			return Errorf(EINVALID, "reservation %s: room stay %d departs %s, not after its arrival %s", rev.ExternalID, i+1, st.Departure, st.Arrival)
		}
		if st.Departure.Sub(st.Arrival) > MaxStayNights {
			return Errorf(EINVALID, "reservation %s: room stay %d is longer than %d nights", rev.ExternalID, i+1, MaxStayNights)
		}
	}
	return nil
}

// holdsOf lists what an effective reservation takes, merged per pool-night
// and sorted; stays whose room type is unknown take nothing and mark the
// reservation parked.
func holdsOf(e effective, refs *catalogRefs) (holds []hold, parked bool) {
	if e.Status != Confirmed {
		return nil, unmapped(e.Stays, refs)
	}
	units := map[nightKey]int{}
	for _, st := range e.Stays {
		pool, ok := refs.roomPools[st.RoomType]
		if !ok {
			parked = true
			continue
		}
		for _, d := range Nights(st.Arrival, st.Departure) {
			units[nightKey{Pool: pool, Night: d}] += st.Rooms
		}
	}
	for _, k := range slices.SortedFunc(maps.Keys(units), nightKey.compare) {
		holds = append(holds, hold{nightKey: k, Units: units[k]})
	}
	return holds, parked
}

func unmapped(stays []RoomStay, refs *catalogRefs) bool {
	for _, st := range stays {
		if _, ok := refs.roomPools[st.RoomType]; !ok {
			return true
		}
	}
	return false
}

// delta is what changes on a pool-night between two sets of holds.
func deltas(old, new []hold) map[nightKey]int {
	d := map[nightKey]int{}
	for _, h := range old {
		d[h.nightKey] -= h.Units
	}
	for _, h := range new {
		d[h.nightKey] += h.Units
	}
	for k, v := range d {
		if v == 0 {
			delete(d, k)
		}
	}
	return d
}

type storedReservation struct {
	id        int64
	held      []hold
	revisions []RevisionRecord
	hashes    [][]byte
}

// lockReservation locks an existing reservation and loads its revisions.
func lockReservation(ctx context.Context, tx dbtx, refs *catalogRefs, externalID string) (*storedReservation, error) {
	r := &storedReservation{}
	var held []byte
	err := tx.QueryRow(ctx, `SELECT id, held FROM reservations WHERE property_id = $1 AND channel_id = $2 AND external_id = $3 FOR UPDATE`,
		refs.property.ID, refs.channelID, externalID).Scan(&r.id, &held)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(held, &r.held); err != nil {
		return nil, fmt.Errorf("reservation %d: held: %w", r.id, err)
	}
	rows, _ := tx.Query(ctx, `SELECT seq, revision, content_hash, outcome FROM reservation_revisions
		WHERE property_id = $1 AND reservation_id = $2 ORDER BY seq`, refs.property.ID, r.id)
	for rows.Next() {
		var rec RevisionRecord
		var hash []byte
		if err := rows.Scan(&rec.Seq, &rec.Revision, &hash, &rec.Outcome); err != nil {
			rows.Close()
			return nil, err
		}
		r.revisions = append(r.revisions, rec)
		r.hashes = append(r.hashes, hash)
	}
	return r, rows.Err()
}

// ApplyRevision records a revision of a reservation from a channel and
// brings the pool in line with the reservation's new state, in one
// transaction with its audit entry and outbox rows.
//
// The reservation's state is the fold of all its revisions in the channel's
// order, so delivering a revision again changes nothing (the first outcome
// comes back, marked Duplicate), and a modification or cancellation that
// arrives before its booking is kept and takes effect when the booking does.
//
// In MustAccept mode the revision is always recorded; nights it pushes past
// their limit raise an overbooking incident. In MayReject mode a revision
// that needs more than a night offers fails with an ECONFLICT *Error listing
// the short nights, and nothing is written.
func (s *Store) ApplyRevision(ctx context.Context, rev Revision) (Outcome, error) {
	if err := validateRevision(&rev); err != nil {
		return Outcome{}, err
	}
	hash := rev.Hash()
	var out Outcome
	for attempt := 1; ; attempt++ {
		var rej *rejection
		err := s.pipelinedTx(ctx, func(c dbtx) error {
			var err error
			out, rej, err = applyRevision(ctx, c, &rev, hash)
			return err
		})
		if err != nil {
			return Outcome{}, err
		}
		if rej == nil {
			return out, nil
		}
		short, err := s.shortages(ctx, rej)
		if err != nil {
			return Outcome{}, err
		}
		if len(short) > 0 || attempt == 3 {
			e := Errorf(ECONFLICT, "reservation %s does not fit: %s", rev.ExternalID, describeShort(short))
			e.Short = short
			return Outcome{}, e
		}
		// Rooms were freed between the attempt and the check: try again.
	}
}

// applyRevision does the work of ApplyRevision in c: it begins the
// transaction with its first batch and commits it with its last. A MayReject
// revision that does not fit returns the nights that are short, to be
// described after the rollback.
func applyRevision(ctx context.Context, tx dbtx, rev *Revision, hash []byte) (Outcome, *rejection, error) {
	refs, newID, err := resolveAndInsert(ctx, tx, rev)
	if err != nil {
		return Outcome{}, nil, err
	}
	res := &storedReservation{id: newID}
	if newID == 0 {
		if res, err = lockReservation(ctx, tx, refs, rev.ExternalID); err != nil {
			return Outcome{}, nil, err
		}
	}
	for i, h := range res.hashes {
		if bytes.Equal(h, hash) {
			out := res.revisions[i].Outcome
			out.Duplicate = true
			return out, nil, nil
		}
	}

	seq := len(res.revisions) + 1
	all := append(slices.Clone(res.revisions), RevisionRecord{Seq: seq, Revision: *rev})
	if err := refs.resolveRoomTypes(ctx, tx, all); err != nil {
		return Outcome{}, nil, err
	}
	eff := fold(all)
	holds, parked := holdsOf(eff, refs)
	change := deltas(res.held, holds)
	keys := slices.SortedFunc(maps.Keys(change), nightKey.compare)
	rows, err := applyNights(ctx, tx, refs.property.ID, keys, change, rev.Mode)
	if isCheckViolation(err) && rev.Mode == MayReject {
		return Outcome{}, &rejection{propertyID: refs.property.ID, want: change}, nil
	}
	if err != nil {
		return Outcome{}, nil, err
	}
	for _, n := range rows {
		if _, ok := refs.poolCodes[n.Pool]; !ok {
			// Nights released from a pool the revision no longer names.
			if refs.poolCodes, err = poolCodes(ctx, tx, refs.property.ID); err != nil {
				return Outcome{}, nil, err
			}
			break
		}
	}

	out := Outcome{ReservationID: res.id, Revision: seq, Status: eff.Status, Parked: parked}
	for _, n := range rows {
		if rev.Mode == MayReject && ((n.Closed && change[n.nightKey] > 0) || n.wentOver) {
			return Outcome{}, &rejection{propertyID: refs.property.ID, want: change}, nil
		}
		if n.Closed && change[n.nightKey] > 0 {
			out.Warnings = append(out.Warnings, fmt.Sprintf("pool %s is closed on %s", refs.poolCode(n.Pool), n.Night))
		}
		if n.wentOver {
			out.Overbooked = append(out.Overbooked, Shortage{Pool: refs.poolCode(n.Pool), Night: n.Night, Wanted: change[n.nightKey], Available: 0})
		}
	}

	w := &writer{}
	w.saveRevision(refs, res, rev, seq, hash, eff, holds, out, rows)
	w.raiseOverbooking(refs.property.ID, rows, refs.poolCode, res.id,
		fmt.Sprintf("%s reservation %s from %s", rev.Kind, rev.ExternalID, rev.Channel))
	if parked {
		w.queue(`INSERT INTO incidents (property_id, kind, reservation_id, message)
			VALUES ($1, 'unmapped_booking', $2, $3)
			ON CONFLICT (property_id, reservation_id) WHERE kind = 'unmapped_booking' AND resolved_at IS NULL DO NOTHING`,
			refs.property.ID, res.id, fmt.Sprintf("Reservation %s from %s names a room that is not mapped (%s); it is kept but holds no inventory for that room until it is mapped",
				rev.ExternalID, rev.Channel, unmappedCodes(eff.Stays, refs)))
	}
	w.queue("commit")
	if err := w.send(ctx, tx); err != nil {
		return Outcome{}, nil, err
	}
	return out, nil, nil
}

// rejection is a MayReject revision that did not fit: the pool-nights it
// wanted more of, and how many more.
type rejection struct {
	propertyID int64
	want       map[nightKey]int
}

// shortages reads, after the rollback, the nights where the rejected revision
// wanted more than is offered. It can come back empty if the pool changed
// meanwhile; the caller then tries again.
func (s *Store) shortages(ctx context.Context, r *rejection) ([]Shortage, error) {
	var pools []int64
	var nights []Date
	for k, d := range r.want {
		if d > 0 {
			pools, nights = append(pools, k.Pool), append(nights, k.Night)
		}
	}
	rows, _ := s.db.Query(ctx, `
		SELECT k.pool_id, pl.code, k.night,
			coalesce(n.lim, floor(pl.units * pl.overbooking_factor)::int), coalesce(n.sold + n.oversold, 0), coalesce(n.closed, false)
		FROM unnest($2::bigint[], $3::date[]) AS k (pool_id, night)
		JOIN pools pl ON pl.property_id = $1 AND pl.id = k.pool_id
		LEFT JOIN nights n ON n.property_id = $1 AND n.pool_id = k.pool_id AND n.night = k.night
		ORDER BY pl.code, k.night`, r.propertyID, pools, nights)
	var short []Shortage
	var k nightKey
	var code string
	var limit, sold int
	var closed bool
	_, err := pgx.ForEachRow(rows, []any{&k.Pool, &code, &k.Night, &limit, &sold, &closed}, func() error {
		if avail := Availability(limit, sold, closed); r.want[k] > avail {
			short = append(short, Shortage{Pool: code, Night: k.Night, Wanted: r.want[k], Available: avail})
		}
		return nil
	})
	return short, err
}

func describeShort(short []Shortage) string {
	var b bytes.Buffer
	for i, s := range short {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s on %s (wanted %d, %d available)", s.Pool, s.Night, s.Wanted, s.Available)
	}
	return b.String()
}

func unmappedCodes(stays []RoomStay, refs *catalogRefs) string {
	var codes []string
	for _, st := range stays {
		if _, ok := refs.roomPools[st.RoomType]; !ok {
			c := st.ChannelRoom
			if c == "" {
				c = st.RoomType
			}
			if st.ChannelRate != "" {
				c += "/" + st.ChannelRate
			}
			codes = append(codes, fmt.Sprintf("%q", c))
		}
	}
	slices.Sort(codes)
	return fmt.Sprint(slices.Compact(codes))
}

// saveRevision queues, as one statement, the revision, the reservation's
// new state, the audit entry and the outbox rows: the nights' availability
// for the fan-out and the revision for the PMS.
func (w *writer) saveRevision(refs *catalogRefs, res *storedReservation, rev *Revision, seq int, hash []byte, eff effective, holds []hold, out Outcome, rows []*nightRow) {
	var raw *string
	if rev.Raw != nil {
		m := string(MaskCardData(rev.Raw))
		raw = &m
	}
	var arrival, departure *Date
	for _, st := range eff.Stays {
		if arrival == nil || st.Arrival.Before(*arrival) {
			a := st.Arrival
			arrival = &a
		}
		if departure == nil || st.Departure.After(*departure) {
			d := st.Departure
			departure = &d
		}
	}
	if holds == nil {
		holds = []hold{}
	}
	stays := eff.Stays
	if stays == nil {
		stays = []RoomStay{}
	}
	var obPools []int64
	var obFrom, obTo []Date
	for _, r := range changedRanges(rows) {
		obPools, obFrom, obTo = append(obPools, r.Pool), append(obFrom, r.From), append(obTo, r.To)
	}
	by := actorFor(rev)
	details := map[string]any{
		"channel": rev.Channel, "external_id": rev.ExternalID, "revision": seq, "status": eff.Status,
		"mode": rev.Mode, "overbooked": len(out.Overbooked), "parked": out.Parked,
	}
	w.queue(`
		WITH revision AS (
			INSERT INTO reservation_revisions
				(property_id, reservation_id, seq, kind, content_hash, revision, raw, content_type, actor, outcome)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		), reservation AS (
			UPDATE reservations SET status = $11, parked = $12, arrival = $13, departure = $14,
				stays = $15, guest = $16, total = nullif($17, '')::numeric, currency = nullif($18, ''), held = $19,
				revisions = $3, updated_at = now()
			WHERE property_id = $1 AND id = $2
		), audit AS (
			INSERT INTO audit_log (property_id, actor, origin, action, subject, details)
			VALUES ($1, $9, $20, $21, 'reservation ' || $2, $22)
		)
		INSERT INTO outbox (property_id, topic, pool_id, from_night, to_night, reservation_id, revision_seq, origin_channel_id)
		SELECT $1::bigint, 'availability', o.pool_id, o.from_night, o.to_night, NULL::bigint, NULL::int, $23::bigint
		FROM unnest($24::bigint[], $25::date[], $26::date[]) AS o (pool_id, from_night, to_night)
		UNION ALL
		SELECT $1::bigint, 'reservation', NULL::bigint, NULL::date, NULL::date, $2::bigint, $3::int, $23::bigint`,
		refs.property.ID, res.id, seq, string(rev.Kind), hash, rev, raw, rev.ContentType, by.String(), out,
		string(eff.Status), out.Parked, arrival, departure, stays, eff.Guest, eff.Total, eff.Curr, holds,
		by.Channel, "reservation."+string(rev.Kind), details, refs.channelID, obPools, obFrom, obTo)
}

// actorFor is who a revision comes from: the channel unless the caller said otherwise.
func actorFor(rev *Revision) Actor {
	a := rev.Actor
	if a.Kind == "" {
		a = Actor{Kind: "channel", Name: rev.Channel}
	}
	if a.Channel == "" {
		a.Channel = rev.Channel
	}
	return a
}

func actorOf(rev *Revision) string { return actorFor(rev).String() }
