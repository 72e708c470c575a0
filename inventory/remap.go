package inventory

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// Parked bookings and the mappings that come after them.
//
// A booking whose channel room code no mapping covers is kept but parked: it
// holds nothing for that room. Mapping the code must not leave it so — the
// guest is real, and while the pool does not count the stay every other
// channel goes on selling its nights. So a mapping, once stored, has the
// channel's parked bookings it covers applied again through the revision
// path: each gets a revision of its own (staff's, a Modify stating the
// booking with its stays mapped), taking its rooms must-accept, with its
// audit entry and outbox rows, so that the fan-out tells every channel and
// a PMS gets the revision.
//
// The revision is built in the group's transaction, under the reservation's
// lock, from the revisions it has then and the mappings as they are then: a
// modification from the channel that commits first is what gets mapped,
// never the stays it replaced. It is dated just after the latest dated
// revision, on that channel's clock (and given its highest version), as the
// API's changes are, so the channel's next change still applies over it.
// A revision that reaches the group with stays no mapping covered when its
// connector mapped them is mapped there too, under the same lock: its
// connector may have read the mappings just before the new one committed.

// Remapped is what storing a mapping did to the channel's parked bookings.
type Remapped struct {
	// Bookings is how many parked reservations took the rooms of the stays
	// the mapping now covers.
	Bookings int
	// StillParked counts those of them that still name another code no
	// mapping covers: they hold nothing for that room yet.
	StillParked int
	// Overbooked counts those of them that pushed a night past its limit:
	// they are recorded all the same, and an overbooking incident is open.
	Overbooked int
}

// MapRoom is SetMapping, reporting what the mapping did to the channel's
// parked bookings.
func (s *Store) MapRoom(ctx context.Context, property, channel string, m Mapping, by Actor) (Remapped, error) {
	if err := s.setMapping(ctx, property, channel, m, by); err != nil {
		return Remapped{}, err
	}
	// The mapping is stored: its bookings are placed even if the caller
	// gives up waiting (a staff member's browser closed).
	return s.remapParked(context.WithoutCancel(ctx), property, channel, by)
}

// remapParked applies again the channel's parked, confirmed reservations
// that have a stay with no room type whose codes a mapping covers now.
func (s *Store) remapParked(ctx context.Context, property, channel string, by Actor) (Remapped, error) {
	rows, _ := s.db.Query(ctx, `
		SELECT r.external_id FROM reservations r
		JOIN properties p ON p.id = r.property_id
		JOIN channels c ON c.property_id = r.property_id AND c.id = r.channel_id
		WHERE p.code = $1 AND c.code = $2 AND r.parked AND r.status = 'confirmed'
			AND EXISTS (SELECT 1 FROM jsonb_array_elements(r.stays) AS st
				JOIN mappings m ON m.property_id = r.property_id AND m.channel_id = r.channel_id
					AND m.channel_room = st->>'channel_room' AND m.channel_rate IN ('', coalesce(st->>'channel_rate', ''))
				WHERE coalesce(st->>'room_type', '') = '')
		ORDER BY r.id`, property, channel)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return Remapped{}, err
	}
	by.Channel = "" // staff's change: every channel is told, the booking's own too
	reqs := make([]*request, len(ids))
	for i, id := range ids {
		// A placeholder naming the reservation: the group builds its
		// revision under the reservation's lock (remapMember).
		rev := Revision{Property: property, Channel: channel, ExternalID: id, Kind: Modify, Mode: MustAccept,
			Actor: by, ChannelSince: time.Now()}
		reqs[i] = &request{rev: rev, hash: rev.Hash(), remap: true, done: make(chan result, 1)}
		s.submit(reqs[i])
	}
	var out Remapped
	var errs []error
	for _, r := range reqs {
		res := <-r.done
		switch {
		case res.err != nil:
			errs = append(errs, res.err)
		case res.out.Revision == 0: // nothing left to map: changed meanwhile
		default:
			out.Bookings++
			if res.out.Parked {
				out.StillParked++
			}
			if len(res.out.Overbooked) > 0 {
				out.Overbooked++
			}
		}
	}
	return out, errors.Join(errs...)
}

// mapStays, run by the group once its reservations are locked and their
// revisions loaded, builds the revisions of its remap requests and maps
// the stays of the others that came in with a channel room code no mapping
// covered, through the channels' mappings as they are now.
func (g *groupState) mapStays(ctx context.Context, c dbtx, ms []*member) error {
	var need []*member
	var props, channels []int64
	for _, m := range ms {
		if m.answered {
			continue
		}
		for _, rec := range m.res.revisions {
			m.wasParked = m.wasParked || rec.Outcome.Parked
		}
		switch {
		case m.remap && m.isNew:
			// Not found by the group: the placeholder made it. The save
			// deletes it again.
			m.answer(Outcome{}, Errorf(ENOTFOUND, "reservation %s of channel %s does not exist", m.rev.ExternalID, m.rev.Channel))
			continue
		case m.remap, unmappedStay(m.rev.Stays) >= 0:
		default:
			continue
		}
		need = append(need, m)
		props, channels = append(props, m.prop.ID), append(channels, m.channel)
	}
	if len(need) == 0 {
		return nil
	}
	rows, _ := c.Query(ctx, `SELECT m.property_id, m.channel_id, m.channel_room, m.channel_rate, rt.code, coalesce(rp.code, ''), pl.id, pl.code
		FROM (SELECT DISTINCT * FROM unnest($1::bigint[], $2::bigint[]) AS k (property_id, channel_id)) AS k
		JOIN mappings m ON m.property_id = k.property_id AND m.channel_id = k.channel_id
		JOIN room_types rt ON rt.property_id = m.property_id AND rt.id = m.room_type_id
		JOIN pools pl ON pl.property_id = rt.property_id AND pl.id = rt.pool_id
		LEFT JOIN rate_plans rp ON rp.property_id = m.property_id AND rp.id = m.rate_plan_id
		ORDER BY m.channel_id, m.channel_room, m.channel_rate`, props, channels)
	mappings := map[int64][]Mapping{}
	var propID, chID, poolID int64
	var mp Mapping
	var poolCode string
	if _, err := pgx.ForEachRow(rows, []any{&propID, &chID, &mp.ChannelRoom, &mp.ChannelRate, &mp.RoomType, &mp.RatePlan, &poolID, &poolCode}, func() error {
		mappings[chID] = append(mappings[chID], mp)
		g.byID[propID].roomPools[mp.RoomType], g.poolCodes[poolID] = poolID, poolCode
		return nil
	}); err != nil {
		return err
	}
	for _, m := range need {
		if m.remap {
			m.remapRevision(mappings[m.channel])
			continue
		}
		if mapUnmapped(mappings[m.channel], m.rev.Stays) {
			m.rehash()
		}
	}
	return nil
}

// remapRevision makes m's revision: the reservation as its revisions state
// it now, with the stays no mapping covered mapped. A reservation not
// confirmed (cancelled ones stay so), or with no such stay a mapping covers
// now, is answered with Revision 0 and left as it is.
func (m *member) remapRevision(ms []Mapping) {
	e := fold(slices.Clone(m.res.revisions))
	stays := slices.Clone(e.Stays)
	if e.Status != Confirmed || !mapUnmapped(ms, stays) {
		m.answer(Outcome{ReservationID: m.res.id, Status: e.Status, Parked: true}, nil)
		return
	}
	rev := Revision{Property: m.rev.Property, Channel: m.rev.Channel, ExternalID: m.rev.ExternalID, Kind: Modify,
		Stays: stays, Guest: e.Guest, Total: e.Total, Currency: e.Curr,
		Mode: MustAccept, ChannelSince: m.rev.ChannelSince, Actor: m.rev.Actor}
	// Of its highest version and just after its latest dated revision
	// (ChangeAfter): after every revision the reservation has, and before
	// the channel's next change.
	for _, r := range m.res.revisions {
		rev.Version = max(rev.Version, r.Revision.Version)
	}
	rev.SentAt = ChangeAfter(m.res.revisions, time.Now())
	m.rev = rev
	m.rehash()
}

// rehash gives m's revision, changed by the group, its hash; one the
// reservation has already (delivered again, mapped this time) is answered
// as the duplicate it is.
func (m *member) rehash() {
	m.hash = m.rev.Hash()
	m.answerIfDuplicate()
}

// answerIfDuplicate answers m as the duplicate it is when the reservation
// has a revision of m's hash already.
func (m *member) answerIfDuplicate() {
	for i, h := range m.res.hashes {
		if bytes.Equal(h, m.hash) {
			out := m.res.revisions[i].Outcome
			out.Duplicate, out.GuestErased = true, m.res.erased
			m.answer(out, nil)
			return
		}
	}
}

// ChangeAfter is when a change keyrack makes to a reservation whose
// revisions are recs (staff's through the API, a mapping placing a parked
// booking) is dated: just after the latest dated one, on its channel's own
// clock — dated by keyrack's clock, the channel's next change, dated by a
// clock hours behind (a local time west of UTC sent without its zone), was
// ordered before it and changed nothing —, or now when none is dated (the
// channel's undated changes follow it still).
func ChangeAfter(recs []RevisionRecord, now time.Time) time.Time {
	var at time.Time
	for _, r := range recs {
		if after := r.Revision.SentAt.Add(time.Millisecond); !r.Revision.SentAt.IsZero() && after.After(at) {
			at = after
		}
	}
	if at.IsZero() {
		return now
	}
	return at
}

// unmappedStay is the index of the first stay with a channel room code and
// no room type, or -1.
func unmappedStay(stays []RoomStay) int {
	return slices.IndexFunc(stays, func(st RoomStay) bool { return st.RoomType == "" && st.ChannelRoom != "" })
}

// mapUnmapped maps, in place, the stays with a channel room code and no room
// type that ms covers (MapStays), and reports whether it mapped any. Stays
// that have a room type keep it.
func mapUnmapped(ms []Mapping, stays []RoomStay) bool {
	changed := false
	for i := range stays {
		if st := &stays[i]; st.RoomType == "" && st.ChannelRoom != "" {
			MapStays(ms, stays[i:i+1])
			changed = changed || st.RoomType != ""
		}
	}
	return changed
}

// resolvedColumns are reservations a revision of the group took out of
// parking, each with who did: their open unmapped_booking incidents are
// resolved.
type resolvedColumns struct{ reservationTexts }

func (c *resolvedColumns) queue(w *writer) {
	if len(c.ids) == 0 {
		return
	}
	w.queue(`UPDATE incidents i SET resolved_at = now(), resolved_by = u.by, updated_at = now()
		FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS u (property_id, id, by)
		WHERE i.property_id = u.property_id AND i.reservation_id = u.id AND i.kind = 'unmapped_booking' AND i.resolved_at IS NULL`,
		c.props, c.ids, c.texts)
}
