package inventory

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Group commit: revisions for one property that arrive while another group
// of that property is being applied wait, and are then applied together in
// one transaction with a handful of set-based statements, so throughput is
// bound neither by one fsync nor by a dozen statements per booking.
//
// Grouping weakens no invariant. Every night a group touches is locked, in
// (pool, night) order, before any is changed, and the limits are checked on
// the locked rows one revision after another; the nights table's constraint
// stays the last word. A revision that does not fit (MayReject) is left out
// of the group's writes and answered with its conflict; a group that fails
// as a whole is retried one revision at a time, so one bad booking cannot
// fail its neighbours.

const (
	// DefaultGroupSize is the most revisions applied in one transaction.
	DefaultGroupSize = 32
	// DefaultGroupsPerProperty is how many transactions of one property run
	// at a time: with two, one group is being applied while the previous
	// one waits for its commit to reach the disk.
	DefaultGroupsPerProperty = 2
	// groupTimeout bounds one group's transaction. The group does not run
	// under a caller's context: one caller giving up must not abort its
	// neighbours' bookings.
	groupTimeout = 30 * time.Second
	// groupAttempts is how often a revision is tried on its own after a
	// deadlock or serialization failure.
	groupAttempts = 3
)

// SetGroupCommit sets the most revisions applied in one transaction and the
// most transactions of one property in flight. size 1 applies every
// revision in its own transaction. Call it before the Store is used.
func (s *Store) SetGroupCommit(size, perProperty int) {
	s.groups.size, s.groups.perProperty = max(size, 1), max(perProperty, 1)
}

// request is one ApplyRevision call waiting for its group.
type request struct {
	rev  Revision
	hash []byte
	done chan result // buffered: the group never waits for the caller
}

type result struct {
	out Outcome
	err error
}

// batcher gathers the requests of each property into groups.
type batcher struct {
	mu                gosync.Mutex
	size, perProperty int
	props             map[string]*propertyQueue
	// groups and revisions applied, for GroupStats
	groups, revisions atomic.Int64
}

// GroupStats reports how many group transactions have committed and how
// many revisions they carried.
func (s *Store) GroupStats() (groups, revisions int64) {
	return s.groups.groups.Load(), s.groups.revisions.Load()
}

type propertyQueue struct {
	pending []*request
	running int // goroutines applying this property's groups
}

func newBatcher() *batcher {
	return &batcher{size: DefaultGroupSize, perProperty: DefaultGroupsPerProperty, props: map[string]*propertyQueue{}}
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
//
// Concurrent revisions for one property share a transaction (see
// SetGroupCommit); ApplyRevision returns once its group has committed. If
// ctx ends before the revision's group starts, nothing is written and the
// context's error comes back; once it has started, ApplyRevision waits for
// its outcome.
func (s *Store) ApplyRevision(ctx context.Context, rev Revision) (Outcome, error) {
	if err := validateRevision(&rev); err != nil {
		return Outcome{}, err
	}
	if err := ctx.Err(); err != nil {
		return Outcome{}, err
	}
	r := &request{rev: rev, hash: rev.Hash(), done: make(chan result, 1)}
	s.submit(r)
	select {
	case res := <-r.done:
		return res.out, res.err
	case <-ctx.Done():
		if s.groups.withdraw(r) {
			return Outcome{}, ctx.Err()
		}
		res := <-r.done
		return res.out, res.err
	}
}

// submit queues r and starts a goroutine for its property's groups if fewer
// than perProperty are running.
func (s *Store) submit(r *request) {
	b := s.groups
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.props[r.rev.Property]
	if q == nil {
		q = &propertyQueue{}
		b.props[r.rev.Property] = q
	}
	q.pending = append(q.pending, r)
	if q.running < b.perProperty {
		q.running++
		go s.runGroups(r.rev.Property, q)
	}
}

// withdraw takes r out of its queue if no group has taken it yet.
func (b *batcher) withdraw(r *request) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.props[r.rev.Property]
	if q == nil {
		return false
	}
	i := slices.Index(q.pending, r)
	if i < 0 {
		return false
	}
	q.pending = slices.Delete(q.pending, i, i+1)
	return true
}

func (s *Store) runGroups(property string, q *propertyQueue) {
	for {
		g := s.groups.next(property, q)
		if g == nil {
			return
		}
		s.applyGroup(g)
	}
}

// resKey names a reservation within a property.
type resKey struct{ channel, externalID string }

func (r *request) key() resKey { return resKey{r.rev.Channel, r.rev.ExternalID} }

// next takes the next group from q: the oldest requests, up to size, at most
// one per reservation (a later revision of the same reservation must see the
// earlier one's effect, so it waits for the next group). It returns nil, and
// counts the goroutine out, when nothing is pending.
func (b *batcher) next(property string, q *propertyQueue) []*request {
	b.mu.Lock()
	defer b.mu.Unlock()
	var g []*request
	seen := map[resKey]bool{}
	rest := q.pending[:0]
	for _, r := range q.pending {
		if len(g) < b.size && !seen[r.key()] {
			seen[r.key()] = true
			g = append(g, r)
		} else {
			rest = append(rest, r)
		}
	}
	clear(q.pending[len(rest):])
	q.pending = rest
	if len(g) == 0 {
		q.running--
		if q.running == 0 {
			delete(b.props, property)
		}
	}
	return g
}

// applyGroup applies g and answers every request in it. A group that fails
// as a whole is retried one request at a time, so that only the request at
// fault gets the error.
func (s *Store) applyGroup(g []*request) {
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), groupTimeout)
		results, err := s.tryGroup(ctx, g)
		cancel()
		if err == nil {
			s.groups.groups.Add(1)
			s.groups.revisions.Add(int64(len(g)))
			for i, r := range g {
				r.done <- results[i]
			}
			return
		}
		if len(g) > 1 {
			s.log.Warn("group commit failed; applying its revisions one by one", "revisions", len(g), "err", err)
			for _, r := range g {
				s.applyGroup([]*request{r})
			}
			return
		}
		if !isTransient(err) || attempt == groupAttempts {
			g[0].done <- result{err: err}
			return
		}
	}
}

// isTransient reports a failure that trying again can cure: a deadlock or a
// serialization failure.
func isTransient(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && (pg.Code == "40P01" || pg.Code == "40001")
}

// member is a request's part in its group's transaction.
type member struct {
	*request
	res      storedReservation
	channel  int64
	isNew    bool
	seq      int
	eff      effective
	holds    []hold
	change   map[nightKey]int
	rows     []*nightRow // the nights this revision changed
	out      Outcome
	answered bool // out or err is final: nothing of this revision is written
	err      error
}

func (m *member) answer(out Outcome, err error) { m.out, m.err, m.answered = out, err, true }

// groupState is what the group's statements share.
type groupState struct {
	property  Property
	roomPools map[string]int64 // room type code → pool id
	poolCodes map[int64]string
}

func (g *groupState) poolCode(id int64) string { return g.poolCodes[id] }

// tryGroup applies the requests of one property in one transaction and
// returns their results in the same order. An error means the transaction
// was rolled back and no request in it took effect.
func (s *Store) tryGroup(ctx context.Context, reqs []*request) ([]result, error) {
	ms := make([]*member, len(reqs))
	for i, r := range reqs {
		ms[i] = &member{request: r}
	}
	// One order for every group, so concurrent groups create and lock
	// reservation rows in the same order.
	sorted := slices.Clone(ms)
	slices.SortFunc(sorted, func(a, b *member) int {
		return cmp.Or(cmp.Compare(a.rev.Channel, b.rev.Channel), cmp.Compare(a.rev.ExternalID, b.rev.ExternalID))
	})
	err := s.pipelinedTx(ctx, func(c dbtx) error { return applyMembers(ctx, c, sorted) })
	if err != nil {
		return nil, err
	}
	results := make([]result, len(ms))
	for i, m := range ms {
		results[i] = result{m.out, m.err}
	}
	return results, nil
}

// applyMembers does tryGroup's work in c: it begins the transaction with its
// first batch and commits it with its last.
func applyMembers(ctx context.Context, c dbtx, ms []*member) error {
	g, err := resolveGroup(ctx, c, ms)
	if err != nil || g == nil {
		return err
	}
	if err := loadReservations(ctx, c, g, ms); err != nil {
		return err
	}
	if err := g.resolveRoomTypes(ctx, c, ms); err != nil {
		return err
	}
	keys := map[nightKey]bool{}
	for _, m := range ms {
		if m.answered {
			continue
		}
		all := append(slices.Clone(m.res.revisions), RevisionRecord{Seq: m.seq, Revision: m.rev})
		m.eff = fold(all)
		var parked bool
		m.holds, parked = holdsOf(m.eff, g.roomPools)
		m.out = Outcome{ReservationID: m.res.id, Revision: m.seq, Status: m.eff.Status, Parked: parked}
		m.change = deltas(m.res.held, m.holds)
		for k := range m.change {
			keys[k] = true
		}
	}
	rows, err := lockNights(ctx, c, g.property.ID, slices.SortedFunc(maps.Keys(keys), nightKey.compare))
	if err != nil {
		return err
	}
	byKey := make(map[nightKey]*nightRow, len(rows))
	for _, n := range rows {
		byKey[n.nightKey] = n
		if _, ok := g.poolCodes[n.Pool]; !ok {
			// Nights released from a pool no revision here names.
			if g.poolCodes, err = poolCodes(ctx, c, g.property.ID); err != nil {
				return err
			}
		}
	}
	over := map[nightKey]*overbooking{}
	for _, m := range ms {
		if !m.answered {
			g.take(m, byKey, over)
		}
	}
	return g.save(ctx, c, ms, rows, over)
}

// resolveGroup begins the transaction, resolves the property, the channels
// and the room types the group names, and creates the reservations that do
// not exist yet, in one round trip. It answers the requests it can (unknown
// property or channel) and returns nil when none is left.
func resolveGroup(ctx context.Context, c dbtx, ms []*member) (*groupState, error) {
	channels := make([]string, len(ms))
	externals := make([]string, len(ms))
	var codes []string
	for i, m := range ms {
		channels[i], externals[i] = m.rev.Channel, m.rev.ExternalID
		for _, st := range m.rev.Stays {
			if st.RoomType != "" && !slices.Contains(codes, st.RoomType) {
				codes = append(codes, st.RoomType)
			}
		}
	}
	property := ms[0].rev.Property
	var b pgx.Batch
	g := &groupState{roomPools: map[string]int64{}, poolCodes: map[int64]string{}}
	found := false
	p := &g.property
	var ord int
	var channelID, newID *int64
	var code, poolCode string
	var poolID int64
	b.Queue("begin")
	// Both statements with their generic plans: planned for their arrays,
	// they took longer to plan than to run.
	QueueGenericPlan(&b, `
		WITH p AS (SELECT id, name, time_zone, currency FROM properties WHERE code = $1),
		req AS (SELECT * FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS r (channel, external_id, ord)),
		c AS (
			SELECT req.ord, req.external_id, ch.id AS channel_id FROM p CROSS JOIN req
			CROSS JOIN LATERAL (SELECT id FROM channels WHERE property_id = p.id AND code = req.channel LIMIT 1) ch
		),
		created AS (
			INSERT INTO reservations (property_id, channel_id, external_id, status)
			SELECT p.id, c.channel_id, c.external_id, 'pending' FROM p, c ORDER BY c.ord
			ON CONFLICT (property_id, channel_id, external_id) DO NOTHING
			RETURNING channel_id, external_id, id
		)
		SELECT req.ord, p.id, p.name, p.time_zone, p.currency, c.channel_id, cr.id
		FROM p CROSS JOIN req
		LEFT JOIN c ON c.ord = req.ord
		LEFT JOIN created cr ON cr.channel_id = c.channel_id AND cr.external_id = req.external_id
		ORDER BY req.ord`, property, channels, externals).Query(func(rows pgx.Rows) error {
		_, err := pgx.ForEachRow(rows, []any{&ord, &p.ID, &p.Name, &p.TimeZone, &p.Currency, &channelID, &newID}, func() error {
			found = true
			m := ms[ord-1]
			switch {
			case channelID == nil:
				m.answer(Outcome{}, Errorf(ENOTFOUND, "channel %s does not exist in property %s", m.rev.Channel, m.rev.Property))
			case newID != nil:
				m.channel, m.isNew, m.res.id, m.seq = *channelID, true, *newID, 1
			default:
				m.channel = *channelID
			}
			return nil
		})
		return err
	})
	QueueGenericPlan(&b, `
		SELECT rt.code, rt.pool_id, pl.code
		FROM unnest($2::text[]) AS want (code)
		CROSS JOIN LATERAL (SELECT id FROM properties WHERE code = $1) AS p
		CROSS JOIN LATERAL (SELECT code, pool_id FROM room_types WHERE property_id = p.id AND code = want.code LIMIT 1) AS rt
		CROSS JOIN LATERAL (SELECT code FROM pools WHERE property_id = p.id AND id = rt.pool_id LIMIT 1) AS pl`, property, codes).Query(func(rows pgx.Rows) error {
		_, err := pgx.ForEachRow(rows, []any{&code, &poolID, &poolCode}, func() error {
			g.roomPools[code], g.poolCodes[poolID] = poolID, poolCode
			return nil
		})
		return err
	})
	if err := c.SendBatch(ctx, &b).Close(); err != nil {
		return nil, err
	}
	p.Code = property
	if !found {
		for _, m := range ms {
			m.answer(Outcome{}, Errorf(ENOTFOUND, "property %s does not exist", property))
		}
		return nil, nil
	}
	for _, m := range ms {
		if !m.answered {
			return g, nil
		}
	}
	return nil, nil
}

// storedReservation is a reservation as the group found it.
type storedReservation struct {
	id        int64
	held      []hold
	revisions []RevisionRecord
	hashes    [][]byte
}

// loadReservations locks the reservations that existed before the group,
// in the group's order, and loads their revisions. A revision delivered
// before is answered with its first outcome.
func loadReservations(ctx context.Context, c dbtx, g *groupState, ms []*member) error {
	var old []*member
	var channels []int64
	var externals []string
	for _, m := range ms {
		if !m.answered && !m.isNew {
			old = append(old, m)
			channels, externals = append(channels, m.channel), append(externals, m.rev.ExternalID)
		}
	}
	if len(old) == 0 {
		return nil
	}
	// Two statements: the revisions are read after the lock is held, with a
	// snapshot that includes whatever the lock waited for.
	const each = `FROM unnest($2::bigint[], $3::text[]) WITH ORDINALITY AS k (channel_id, external_id, ord)
		CROSS JOIN LATERAL (SELECT id, held FROM reservations
			WHERE property_id = $1 AND channel_id = k.channel_id AND external_id = k.external_id LIMIT 1 %s) AS r`
	var b pgx.Batch
	b.Queue(`SELECT k.ord, r.id, r.held `+fmt.Sprintf(each, "FOR UPDATE")+` ORDER BY k.ord`, g.property.ID, channels, externals)
	b.Queue(`SELECT k.ord, rv.seq, rv.revision, rv.content_hash, rv.outcome `+fmt.Sprintf(each, "")+`
		JOIN reservation_revisions rv ON rv.property_id = $1 AND rv.reservation_id = r.id
		ORDER BY k.ord, rv.seq`, g.property.ID, channels, externals)
	br := c.SendBatch(ctx, &b)
	defer br.Close()
	var ord int
	var id int64
	var held []byte
	rows, _ := br.Query()
	if _, err := pgx.ForEachRow(rows, []any{&ord, &id, &held}, func() error {
		m := old[ord-1]
		m.res.id = id
		if err := json.Unmarshal(held, &m.res.held); err != nil {
			return fmt.Errorf("reservation %d: held: %w", id, err)
		}
		return nil
	}); err != nil {
		return err
	}
	var rec RevisionRecord
	var hash []byte
	rows, _ = br.Query()
	if _, err := pgx.ForEachRow(rows, []any{&ord, &rec.Seq, &rec.Revision, &hash, &rec.Outcome}, func() error {
		m := old[ord-1]
		m.res.revisions = append(m.res.revisions, rec)
		m.res.hashes = append(m.res.hashes, slices.Clone(hash))
		rec = RevisionRecord{}
		return nil
	}); err != nil {
		return err
	}
	for _, m := range old {
		if m.res.id == 0 {
			return fmt.Errorf("reservation %s from %s vanished while the group waited for it", m.rev.ExternalID, m.rev.Channel)
		}
		m.seq = len(m.res.revisions) + 1
		for i, h := range m.res.hashes {
			if bytes.Equal(h, m.hash) {
				out := m.res.revisions[i].Outcome
				out.Duplicate = true
				m.answer(out, nil)
				break
			}
		}
	}
	return br.Close()
}

// resolveRoomTypes looks up the room types that earlier revisions name and
// the incoming ones do not: whichever revision wins the fold decides what
// the reservation holds.
func (g *groupState) resolveRoomTypes(ctx context.Context, c dbtx, ms []*member) error {
	var missing []string
	for _, m := range ms {
		for _, rec := range m.res.revisions {
			for _, st := range rec.Revision.Stays {
				if _, ok := g.roomPools[st.RoomType]; !ok && st.RoomType != "" && !slices.Contains(missing, st.RoomType) {
					missing = append(missing, st.RoomType)
				}
			}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	rows, _ := c.Query(ctx, `SELECT rt.code, pl.id, pl.code FROM room_types rt
		JOIN pools pl ON pl.property_id = rt.property_id AND pl.id = rt.pool_id
		WHERE rt.property_id = $1 AND rt.code = ANY($2)`, g.property.ID, missing)
	var code, poolCode string
	var poolID int64
	_, err := pgx.ForEachRow(rows, []any{&code, &poolID, &poolCode}, func() error {
		g.roomPools[code], g.poolCodes[poolID] = poolID, poolCode
		return nil
	})
	return err
}

// overbooking is a night that revisions of the group pushed past its limit.
type overbooking struct {
	night        *nightRow
	reservations []int64
	cause        string
}

// take applies m's change to the locked nights, after the group's earlier
// revisions. A MayReject revision that does not fit is answered with its
// conflict and changes nothing.
func (g *groupState) take(m *member, byKey map[nightKey]*nightRow, over map[nightKey]*overbooking) {
	keys := slices.SortedFunc(maps.Keys(m.change), nightKey.compare)
	if m.rev.Mode == MayReject {
		var short []Shortage
		for _, k := range keys {
			n, d := byKey[k], m.change[k]
			if avail := Availability(n.limit(), n.taken(), n.Closed); d > 0 && d > avail {
				short = append(short, Shortage{Pool: g.poolCode(k.Pool), Night: k.Night, Wanted: d, Available: avail})
			}
		}
		if len(short) > 0 {
			e := Errorf(ECONFLICT, "reservation %s does not fit: %s", m.rev.ExternalID, describeShort(short))
			e.Short = short
			m.answer(Outcome{}, e)
			return
		}
	}
	for _, k := range keys {
		n, d := byKey[k], m.change[k]
		before := n.Oversold
		n.settle(n.taken() + d)
		m.rows = append(m.rows, n)
		if n.Closed && d > 0 {
			m.out.Warnings = append(m.out.Warnings, fmt.Sprintf("pool %s is closed on %s", g.poolCode(n.Pool), n.Night))
		}
		if n.Oversold > before {
			m.out.Overbooked = append(m.out.Overbooked, Shortage{Pool: g.poolCode(n.Pool), Night: n.Night, Wanted: d, Available: 0})
			o := over[k]
			if o == nil {
				o = &overbooking{night: n}
				over[k] = o
			}
			o.reservations = append(o.reservations, m.res.id)
			o.cause = fmt.Sprintf("%s reservation %s from %s", m.rev.Kind, m.rev.ExternalID, m.rev.Channel)
		}
	}
}

// save queues the group's writes, one set-based statement per table, and the
// commit, and sends them in one round trip.
func (g *groupState) save(ctx context.Context, c dbtx, ms []*member, rows []*nightRow, over map[nightKey]*overbooking) error {
	pid := g.property.ID
	w := &writer{}
	w.saveNights(pid, rows)
	var (
		revs     revisionColumns
		resv     reservationColumns
		audits   auditColumns
		outbox   outboxColumns
		unmapped unmappedColumns
		rejected []int64
	)
	for _, m := range ms {
		if m.answered {
			if m.isNew && m.err != nil {
				// A MayReject booking that did not fit leaves nothing behind.
				rejected = append(rejected, m.res.id)
			}
			continue
		}
		if err := revs.add(m); err != nil {
			return err
		}
		if err := resv.add(m); err != nil {
			return err
		}
		by := actorFor(&m.rev)
		audits.add(by, "reservation."+string(m.rev.Kind), fmt.Sprint("reservation ", m.res.id), map[string]any{
			"channel": m.rev.Channel, "external_id": m.rev.ExternalID, "revision": m.seq, "status": m.eff.Status,
			"mode": m.rev.Mode, "overbooked": len(m.out.Overbooked), "parked": m.out.Parked,
		})
		outbox.availability(changedRanges(m.rows), m.channel, false, m.rev.ChannelSince)
		outbox.reservation(m.res.id, m.seq, m.channel)
		if m.out.Parked {
			unmapped.add(m.res.id, fmt.Sprintf("Reservation %s from %s names a room that is not mapped (%s); it is kept but holds no inventory for that room until it is mapped",
				m.rev.ExternalID, m.rev.Channel, unmappedCodes(m.eff.Stays, g.roomPools)))
		}
	}
	revs.queue(w, pid)
	resv.queue(w, pid)
	audits.queue(w, pid)
	outbox.queue(w, pid)
	var obs []*overbooking
	for _, k := range slices.SortedFunc(maps.Keys(over), nightKey.compare) {
		obs = append(obs, over[k])
	}
	w.raiseOverbooking(pid, obs, g.poolCode)
	unmapped.queue(w, pid)
	if len(rejected) > 0 {
		w.queue(`DELETE FROM reservations WHERE property_id = $1 AND id = ANY($2)`, pid, rejected)
	}
	w.queue("commit")
	return w.send(ctx, c)
}

// orEmpty is s, or an empty slice for nil, so that JSON says [] rather than null.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// jsonText is v as JSON, for the text arrays that set-based statements cast
// to jsonb.
func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

type revisionColumns struct {
	ids                                   []int64
	seqs                                  []int32
	kinds, revisions, types, actors, outs []string
	hashes                                [][]byte
	raws                                  []*string
}

// groupFault is set by tests to make the database refuse some revisions'
// writes, as it would refuse a row it finds invalid.
var groupFault func(*Revision) bool

func (c *revisionColumns) add(m *member) error {
	kind := string(m.rev.Kind)
	if groupFault != nil && groupFault(&m.rev) {
		kind = "refused by the test"
	}
	rev, err := jsonText(m.rev)
	if err != nil {
		return err
	}
	out, err := jsonText(m.out)
	if err != nil {
		return err
	}
	var raw *string
	if m.rev.Raw != nil {
		s := string(MaskCardData(m.rev.Raw))
		raw = &s
	}
	c.ids, c.seqs, c.kinds, c.hashes = append(c.ids, m.res.id), append(c.seqs, int32(m.seq)), append(c.kinds, kind), append(c.hashes, m.hash)
	c.revisions, c.raws, c.types = append(c.revisions, rev), append(c.raws, raw), append(c.types, m.rev.ContentType)
	c.actors, c.outs = append(c.actors, actorOf(&m.rev)), append(c.outs, out)
	return nil
}

func (c *revisionColumns) queue(w *writer, propertyID int64) {
	if len(c.ids) == 0 {
		return
	}
	w.queue(`
		INSERT INTO reservation_revisions
			(property_id, reservation_id, seq, kind, content_hash, revision, raw, content_type, actor, outcome)
		SELECT $1, u.id, u.seq, u.kind, u.hash, u.revision::jsonb, u.raw, u.content_type, u.actor, u.outcome::jsonb
		FROM unnest($2::bigint[], $3::int[], $4::text[], $5::bytea[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])
			AS u (id, seq, kind, hash, revision, raw, content_type, actor, outcome)`,
		propertyID, c.ids, c.seqs, c.kinds, c.hashes, c.revisions, c.raws, c.types, c.actors, c.outs)
}

type reservationColumns struct {
	ids                                               []int64
	seqs                                              []int32
	statuses, stays, guests, totals, currencies, held []string
	parked                                            []bool
	arrivals, departures                              []*Date
}

func (c *reservationColumns) add(m *member) error {
	var arrival, departure *Date
	for _, st := range m.eff.Stays {
		if arrival == nil || st.Arrival.Before(*arrival) {
			a := st.Arrival
			arrival = &a
		}
		if departure == nil || st.Departure.After(*departure) {
			d := st.Departure
			departure = &d
		}
	}
	stays, err := jsonText(orEmpty(m.eff.Stays))
	if err != nil {
		return err
	}
	guest, err := jsonText(m.eff.Guest)
	if err != nil {
		return err
	}
	held, err := jsonText(orEmpty(m.holds))
	if err != nil {
		return err
	}
	c.ids, c.seqs, c.statuses, c.parked = append(c.ids, m.res.id), append(c.seqs, int32(m.seq)), append(c.statuses, string(m.eff.Status)), append(c.parked, m.out.Parked)
	c.arrivals, c.departures, c.stays, c.guests = append(c.arrivals, arrival), append(c.departures, departure), append(c.stays, stays), append(c.guests, guest)
	c.totals, c.currencies, c.held = append(c.totals, m.eff.Total), append(c.currencies, m.eff.Curr), append(c.held, held)
	return nil
}

func (c *reservationColumns) queue(w *writer, propertyID int64) {
	if len(c.ids) == 0 {
		return
	}
	w.queue(`
		UPDATE reservations r SET status = u.status, parked = u.parked, arrival = u.arrival, departure = u.departure,
			stays = u.stays::jsonb, guest = u.guest::jsonb, total = nullif(u.total, '')::numeric, currency = nullif(u.currency, ''),
			held = u.held::jsonb, revisions = u.seq, updated_at = now()
		FROM unnest($2::bigint[], $3::int[], $4::text[], $5::bool[], $6::date[], $7::date[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[])
			AS u (id, seq, status, parked, arrival, departure, stays, guest, total, currency, held)
		WHERE r.property_id = $1 AND r.id = u.id`,
		propertyID, c.ids, c.seqs, c.statuses, c.parked, c.arrivals, c.departures, c.stays, c.guests, c.totals, c.currencies, c.held)
}

type unmappedColumns struct {
	ids      []int64
	messages []string
}

func (c *unmappedColumns) add(id int64, message string) {
	c.ids, c.messages = append(c.ids, id), append(c.messages, message)
}

func (c *unmappedColumns) queue(w *writer, propertyID int64) {
	if len(c.ids) == 0 {
		return
	}
	w.queue(`INSERT INTO incidents (property_id, kind, reservation_id, message)
		SELECT $1, 'unmapped_booking', u.id, u.message FROM unnest($2::bigint[], $3::text[]) AS u (id, message)
		ON CONFLICT (property_id, reservation_id) WHERE kind = 'unmapped_booking' AND resolved_at IS NULL DO NOTHING`,
		propertyID, c.ids, c.messages)
}
