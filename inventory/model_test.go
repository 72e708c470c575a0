package inventory_test

// A randomized model test: random steps (bookings, modifications,
// cancellations, duplicates, out-of-order delivery, staff edits) go through
// the real Store against PostgreSQL and, in parallel, through a small
// in-memory model written here from the documented semantics (PRODUCT.md,
// reservation.go, apply.go doc comments). After every step the two are
// compared night by night, reservation by reservation and incident by
// incident.
//
// Replay a failure with the seed and step count it prints:
//
//	KEYRACK_MODEL_SEED=7 KEYRACK_MODEL_STEPS=312 go test ./inventory -run TestModel -v

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory"
)

const (
	modelWindow  = 10 // nights that bookings and staff edits touch
	modelHistory = 40 // steps printed on failure
)

var (
	modelBase  = inventory.MustDate("2026-12-01")
	modelClock = time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	// Factors staff set: 0.50, 0.75, 1.00, 1.10, 1.33, 1.50.
	modelFactors = []inventory.Factor{50, 75, 100, 110, 133, 150}
)

func TestModel(t *testing.T) {
	seeds := []uint64{1, 2, 3, 4, 5}
	steps := 700
	if testing.Short() {
		seeds, steps = seeds[:2], 150
	}
	if s := os.Getenv("KEYRACK_MODEL_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("KEYRACK_MODEL_SEED=%q: %v", s, err)
		}
		seeds = []uint64{v}
	}
	if s := os.Getenv("KEYRACK_MODEL_STEPS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("KEYRACK_MODEL_STEPS=%q: %v", s, err)
		}
		steps = v
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			runModel(t, seed, steps)
		})
	}
}

// ---- the model ----

// mKey is a pool (index into the hotel's pools) on a night (offset from modelBase).
type mKey struct{ pool, night int }

type mNight struct {
	units  int
	factor inventory.Factor
	closed bool
	taken  int // every unit held, within and past the limit
}

func (n *mNight) limit() int { return n.factor.Limit(n.units) }
func (n *mNight) over() int  { return max(0, n.taken-n.limit()) }
func (n *mNight) avail() int {
	if n.closed {
		return 0
	}
	return max(0, n.limit()-n.taken)
}

// mRecord is a revision the store recorded, with its arrival sequence and the
// outcome it returned the first time.
type mRecord struct {
	rev inventory.Revision
	seq int
	key string
	out inventory.Outcome
}

const (
	schemeVersion = iota // Version 1, 2, 3… (sometimes repeated), SentAt sometimes
	schemeSentAt         // no Version, SentAt only (sometimes repeated)
	schemeNone           // neither: kind, then arrival, orders them
	schemeCreated        // no Version; bookings dated, changes sometimes (OTA CreateDateTime; an OTA_CancelRQ is undated)
)

var schemeNames = []string{"version", "sent_at", "none", "created"}

type mRes struct {
	channel, id string
	scheme      int
	version     int64
	clock       int // minutes after modelClock

	// script is what the channel sends, in the channel's own order; it is
	// delivered out of order. sent is every revision delivered so far.
	script    []inventory.Revision
	delivered []bool
	sent      []inventory.Revision

	recorded []mRecord
	resID    int64
	status   inventory.Status // "" until a revision is recorded
	stays    []inventory.RoomStay
	holds    map[mKey]int
}

type model struct {
	pools     []string
	rooms     []string
	units     []int
	nights    map[mKey]*mNight
	incidents map[mKey]int // open overbooking incidents → excess
	res       []*mRes
}

func newModel(h *hotel, units []int, ids []string) *model {
	m := &model{pools: h.pools, rooms: h.rooms, units: units, nights: map[mKey]*mNight{}, incidents: map[mKey]int{}}
	for p := range h.pools {
		for d := -1; d <= modelWindow; d++ {
			m.nights[mKey{p, d}] = &mNight{units: units[p], factor: inventory.FactorOne}
		}
	}
	for _, c := range h.channels {
		for _, id := range ids {
			m.res = append(m.res, &mRes{channel: c, id: id})
		}
	}
	return m
}

func (m *model) poolIndex(code string) int {
	return slices.Index(m.pools, code)
}

func (m *model) roomPool(room string) int {
	return slices.Index(m.rooms, room)
}

func kindRank(k inventory.RevisionKind) int {
	switch k {
	case inventory.New:
		return 0
	case inventory.Modify:
		return 1
	}
	return 2
}

// fold is the reservation's state from its revisions, as documented: order
// by Version, then SentAt, then kind (new < modify < cancel), then arrival;
// a Modify or Cancel without a SentAt is dated as the latest dated revision
// that arrived before it or is a New, and ranked after the dated kinds.
// A New or a Modify replaces the whole booking (a Modify reinstates a
// cancelled one, and one that comes before its booking holds its stays); a
// Cancel releases it; a reservation of which only cancellations are known is
// Pending and holds nothing.
func (m *model) fold(recs []mRecord) (inventory.Status, []inventory.RoomStay) {
	recs = slices.Clone(recs)
	all := slices.Clone(recs)
	at := func(r mRecord) time.Time {
		if !r.rev.SentAt.IsZero() || r.rev.Kind == inventory.New {
			return r.rev.SentAt
		}
		var latest time.Time
		for _, q := range all {
			if (q.seq < r.seq || q.rev.Kind == inventory.New) && q.rev.SentAt.After(latest) {
				latest = q.rev.SentAt
			}
		}
		return latest
	}
	rank := func(r mRecord) int {
		if r.rev.SentAt.IsZero() && r.rev.Kind != inventory.New {
			return 3 + kindRank(r.rev.Kind)
		}
		return kindRank(r.rev.Kind)
	}
	slices.SortFunc(recs, func(a, b mRecord) int {
		if c := cmp.Compare(a.rev.Version, b.rev.Version); c != 0 {
			return c
		}
		if c := at(a).Compare(at(b)); c != 0 {
			return c
		}
		if c := cmp.Compare(rank(a), rank(b)); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	status := inventory.Pending
	var stays []inventory.RoomStay
	for _, r := range recs {
		switch r.rev.Kind {
		case inventory.New, inventory.Modify:
			status, stays = inventory.Confirmed, r.rev.Stays
		case inventory.Cancel:
			if status != inventory.Pending {
				status = inventory.Cancelled
			}
		}
	}
	return status, stays
}

func (m *model) holdsOf(status inventory.Status, stays []inventory.RoomStay) map[mKey]int {
	h := map[mKey]int{}
	if status != inventory.Confirmed {
		return h
	}
	for _, st := range stays {
		p := m.roomPool(st.RoomType)
		for d := st.Arrival; d.Before(st.Departure); d = d.AddDays(1) {
			h[mKey{p, d.Sub(modelBase)}] += st.Rooms
		}
	}
	return h
}

// contentKey is what makes two deliveries the same revision: the same
// reservation and the same content (the mode and the raw payload are not
// content).
func contentKey(r inventory.Revision) string {
	sent := "-"
	if !r.SentAt.IsZero() {
		sent = r.SentAt.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("%s|%d|%s|%v|%+v|%s|%s", r.Kind, r.Version, sent, r.Stays, r.Guest, r.Total, r.Currency)
}

// expectation is what applying a revision must do.
type expectation struct {
	dup      *mRecord
	conflict bool
	short    []inventory.Shortage
	rec      mRecord
	status   inventory.Status
	stays    []inventory.RoomStay
	holds    map[mKey]int
	delta    map[mKey]int
	overbook []mKey
	warnings int
}

func (m *model) expect(res *mRes, rev inventory.Revision) *expectation {
	key := contentKey(rev)
	for i := range res.recorded {
		if res.recorded[i].key == key {
			return &expectation{dup: &res.recorded[i]}
		}
	}
	e := &expectation{rec: mRecord{rev: rev, seq: len(res.recorded) + 1, key: key}}
	e.status, e.stays = m.fold(append(slices.Clone(res.recorded), e.rec))
	e.holds = m.holdsOf(e.status, e.stays)
	e.delta = map[mKey]int{}
	for k, u := range res.holds {
		e.delta[k] -= u
	}
	for k, u := range e.holds {
		e.delta[k] += u
	}
	for k, d := range e.delta {
		if d == 0 {
			delete(e.delta, k)
			continue
		}
		n := m.nights[k]
		if d > 0 && d > n.avail() {
			e.short = append(e.short, inventory.Shortage{Pool: m.pools[k.pool], Night: modelBase.AddDays(k.night), Wanted: d, Available: n.avail()})
			if n.closed {
				e.warnings++
			}
		}
		after := mNight{units: n.units, factor: n.factor, taken: n.taken + d}
		if after.over() > n.over() {
			e.overbook = append(e.overbook, k)
		}
	}
	e.conflict = rev.Mode == inventory.MayReject && len(e.short) > 0
	return e
}

func (m *model) commit(res *mRes, e *expectation, out inventory.Outcome) {
	for k, d := range e.delta {
		n := m.nights[k]
		before := n.over()
		n.taken += d
		m.wentOver(k, before)
	}
	e.rec.out = out
	res.recorded = append(res.recorded, e.rec)
	res.status, res.stays, res.holds = e.status, e.stays, e.holds
	if res.resID == 0 {
		res.resID = out.ReservationID
	}
}

// wentOver opens (or raises the excess of) the night's overbooking incident
// when its past-the-limit amount grew from before.
func (m *model) wentOver(k mKey, before int) {
	n := m.nights[k]
	if n.over() <= before {
		return
	}
	if ex, ok := m.incidents[k]; !ok || n.over() > ex {
		m.incidents[k] = n.over()
	}
}

// ---- the runner ----

type runner struct {
	t       *testing.T
	ctx     context.Context
	seed    uint64
	steps   int
	rng     *rand.Rand
	h       *hotel
	m       *model
	step    int
	history []string
	// last observed version and visible state of every night
	seen  map[mKey]seenNight
	stats map[string]int
}

type seenNight struct {
	version int64
	state   string
}

func runModel(t *testing.T, seed uint64, steps int) {
	start := time.Now()
	rng := rand.New(rand.NewPCG(seed, 0x6b65797261636b))
	units := make([]int, 1+rng.IntN(3))
	for i := range units {
		units[i] = 2 + rng.IntN(3)
	}
	h := newHotel(t, "Europe/Lisbon", units, inventory.FactorOne, 2+rng.IntN(2))
	ids := []string{"A", "B", "C"}
	r := &runner{t: t, ctx: context.Background(), seed: seed, steps: steps, rng: rng, h: h,
		m: newModel(h, units, ids), seen: map[mKey]seenNight{}, stats: map[string]int{}}
	r.logf("pools %v units %v, channels %v, reservation ids %v", h.pools, units, h.channels, ids)
	for _, res := range r.m.res {
		res.scheme = rng.IntN(len(schemeNames))
		res.holds = map[mKey]int{}
	}
	r.step = -1
	r.check("initial state")
	for r.step = 0; r.step < steps; r.step++ {
		desc := r.randomStep()
		r.history = append(r.history, fmt.Sprintf("step %d: %s", r.step, desc))
		r.check(desc)
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(r.stats)) {
		fmt.Fprintf(&b, " %s=%d", k, r.stats[k])
	}
	t.Logf("seed %d: %d steps in %v;%s", seed, steps, time.Since(start).Round(time.Millisecond), b.String())
}

func (r *runner) logf(format string, args ...any) {
	r.history = append(r.history, fmt.Sprintf(format, args...))
}

func (r *runner) failf(format string, args ...any) {
	r.t.Helper()
	hist := r.history
	if len(hist) > modelHistory {
		hist = hist[len(hist)-modelHistory:]
	}
	r.t.Fatalf("model mismatch at seed %d, step %d: %s\n\nreplay: KEYRACK_MODEL_SEED=%d KEYRACK_MODEL_STEPS=%d go test ./inventory -run 'TestModel$' -count=1 -v\n\nlast steps:\n  %s",
		r.seed, r.step, fmt.Sprintf(format, args...), r.seed, r.step+1, strings.Join(hist, "\n  "))
}

func (r *runner) randomStep() string {
	p := r.rng.IntN(100)
	switch {
	case p < 55:
		return r.deliverScripted()
	case p < 70:
		return r.resend()
	case p < 79:
		return r.setUnits()
	case p < 88:
		return r.setFactor()
	case p < 97:
		return r.setClosed()
	default:
		return r.resolveIncident()
	}
}

func (r *runner) mode() inventory.Mode {
	if r.rng.IntN(2) == 0 {
		return inventory.MayReject
	}
	return inventory.MustAccept
}

func (r *runner) randomStays() []inventory.RoomStay {
	n := 1
	if r.rng.IntN(4) == 0 {
		n = 2
	}
	var stays []inventory.RoomStay
	for range n {
		a := r.rng.IntN(modelWindow)
		nights := 1 + r.rng.IntN(min(4, modelWindow-a))
		rooms := 1
		if x := r.rng.IntN(10); x >= 9 {
			rooms = 3
		} else if x >= 6 {
			rooms = 2
		}
		arr := modelBase.AddDays(a)
		stays = append(stays, inventory.RoomStay{
			RoomType: r.m.rooms[r.rng.IntN(len(r.m.rooms))],
			Arrival:  arr, Departure: arr.AddDays(nights), Rooms: rooms,
		})
	}
	return stays
}

// extend appends 1–3 revisions to what the reservation's channel will send.
func (r *runner) extend(res *mRes) {
	for range 1 + r.rng.IntN(4) {
		kind := inventory.New
		if len(res.script) > 0 {
			switch x := r.rng.IntN(10); {
			case x < 6:
				kind = inventory.Modify
			case x < 9:
				kind = inventory.Cancel
			}
		}
		rev := inventory.Revision{Property: r.h.code, Channel: res.channel, ExternalID: res.id, Kind: kind}
		switch res.scheme {
		case schemeVersion:
			if len(res.script) == 0 || r.rng.IntN(8) != 0 {
				res.version++
			}
			rev.Version = res.version
			if r.rng.IntN(2) == 0 {
				res.clock += r.rng.IntN(3)
				rev.SentAt = modelClock.Add(time.Duration(res.clock) * time.Minute)
			}
		case schemeSentAt:
			if len(res.script) == 0 || r.rng.IntN(6) != 0 {
				res.clock += 1 + r.rng.IntN(30)
			}
			rev.SentAt = modelClock.Add(time.Duration(res.clock) * time.Minute)
		case schemeCreated:
			res.clock += 1 + r.rng.IntN(30)
			if kind == inventory.New || r.rng.IntN(2) == 0 {
				rev.SentAt = modelClock.Add(time.Duration(res.clock) * time.Minute)
			}
		}
		if kind != inventory.Cancel || r.rng.IntN(5) == 0 {
			rev.Stays = r.randomStays()
		}
		if kind != inventory.Cancel {
			rev.Guest = inventory.Guest{Name: []string{"Ana", "Bo", "Cy"}[r.rng.IntN(3)]}
			if r.rng.IntN(2) == 0 {
				rev.Total, rev.Currency = fmt.Sprintf("%d.00", 100+r.rng.IntN(3)*50), "EUR"
			}
		}
		res.script = append(res.script, rev)
		res.delivered = append(res.delivered, false)
	}
}

func (r *runner) deliverScripted() string {
	res := r.m.res[r.rng.IntN(len(r.m.res))]
	var pending []int
	for i, d := range res.delivered {
		if !d {
			pending = append(pending, i)
		}
	}
	if len(pending) == 0 {
		r.extend(res)
		for i := len(res.delivered) - 1; i >= 0 && !res.delivered[i]; i-- {
			pending = append([]int{i}, pending...)
		}
	}
	i := pending[0] // in order …
	if r.rng.IntN(2) == 0 {
		i = pending[r.rng.IntN(len(pending))] // … or not
		if i != pending[0] {
			r.stats["out_of_order"]++
		}
	}
	res.delivered[i] = true
	rev := res.script[i]
	res.sent = append(res.sent, rev)
	return r.apply(res, rev, r.mode(), fmt.Sprintf("script #%d of %d", i+1, len(res.script)))
}

func (r *runner) resend() string {
	var cands []*mRes
	for _, res := range r.m.res {
		if len(res.sent) > 0 {
			cands = append(cands, res)
		}
	}
	if len(cands) == 0 {
		return r.deliverScripted()
	}
	res := cands[r.rng.IntN(len(cands))]
	rev := res.sent[r.rng.IntN(len(res.sent))]
	return r.apply(res, rev, r.mode(), "re-sent")
}

func describeRev(rev inventory.Revision) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s/%s v%d", rev.Kind, rev.Channel, rev.ExternalID, rev.Version)
	if !rev.SentAt.IsZero() {
		fmt.Fprintf(&b, " sent=%s", rev.SentAt.Format("15:04"))
	}
	for _, st := range rev.Stays {
		fmt.Fprintf(&b, " [%s %s..%s x%d]", st.RoomType, st.Arrival, st.Departure, st.Rooms)
	}
	if rev.Guest.Name != "" {
		fmt.Fprintf(&b, " guest=%s", rev.Guest.Name)
	}
	if rev.Total != "" {
		fmt.Fprintf(&b, " total=%s", rev.Total)
	}
	return b.String()
}

func (r *runner) apply(res *mRes, rev inventory.Revision, mode inventory.Mode, how string) string {
	rev.Mode = mode
	desc := fmt.Sprintf("ApplyRevision(%s, %s) (%s, scheme %s)", describeRev(rev), mode, how, schemeNames[res.scheme])
	e := r.m.expect(res, rev)
	out, err := r.h.st.ApplyRevision(r.ctx, rev)
	switch {
	case e.dup != nil:
		r.stats["duplicate"]++
		if err != nil {
			r.failf("%s: a duplicate of revision %d must succeed, got %v", desc, e.dup.seq, err)
		}
		if !out.Duplicate {
			r.failf("%s: same content as revision %d, want Duplicate, got %+v", desc, e.dup.seq, out)
		}
		out.Duplicate = false
		if !reflect.DeepEqual(normOutcome(out), normOutcome(e.dup.out)) {
			r.failf("%s: a duplicate must return the first outcome\n got %+v\nwant %+v", desc, out, e.dup.out)
		}
		return desc + " → duplicate"
	case e.conflict:
		r.stats["conflict"]++
		if inventory.ErrorCode(err) != inventory.ECONFLICT {
			r.failf("%s: want ECONFLICT (short %v), got outcome %+v, err %v", desc, e.short, out, err)
		}
		var ie *inventory.Error
		errors.As(err, &ie)
		if !reflect.DeepEqual(sortShort(ie.Short), sortShort(e.short)) {
			r.failf("%s: conflict lists short nights\n got %v\nwant %v", desc, ie.Short, e.short)
		}
		return desc + " → conflict"
	}
	r.stats["recorded_"+string(rev.Kind)]++
	if err != nil {
		r.failf("%s: want it recorded as revision %d (status %s), got error %v", desc, e.rec.seq, e.status, err)
	}
	if out.Duplicate {
		r.failf("%s: not a duplicate of anything recorded, got Duplicate %+v", desc, out)
	}
	if res.resID != 0 && out.ReservationID != res.resID {
		r.failf("%s: reservation id %d, earlier outcomes said %d", desc, out.ReservationID, res.resID)
	}
	if out.Revision != e.rec.seq || out.Status != e.status || out.Parked {
		r.failf("%s: outcome %+v, want revision %d, status %s, not parked", desc, out, e.rec.seq, e.status)
	}
	var over []mKey
	for _, s := range out.Overbooked {
		over = append(over, mKey{r.m.poolIndex(s.Pool), s.Night.Sub(modelBase)})
	}
	if !reflect.DeepEqual(sortKeys(over), sortKeys(e.overbook)) {
		r.failf("%s: overbooked nights\n got %v\nwant %v (pool index, night offset)", desc, sortKeys(over), sortKeys(e.overbook))
	}
	if len(out.Warnings) != e.warnings {
		r.failf("%s: %d warnings %q, want %d (one per closed night booked)", desc, len(out.Warnings), out.Warnings, e.warnings)
	}
	if len(e.overbook) > 0 {
		r.stats["overbooked"]++
	}
	r.m.commit(res, e, out)
	return fmt.Sprintf("%s → #%d %s", desc, e.rec.seq, e.status)
}

func normOutcome(o inventory.Outcome) inventory.Outcome {
	if len(o.Overbooked) == 0 {
		o.Overbooked = nil
	}
	if len(o.Warnings) == 0 {
		o.Warnings = nil
	}
	return o
}

func sortShort(s []inventory.Shortage) []inventory.Shortage {
	s = slices.Clone(s)
	slices.SortFunc(s, func(a, b inventory.Shortage) int {
		return cmp.Or(cmp.Compare(a.Pool, b.Pool), a.Night.Sub(b.Night))
	})
	if len(s) == 0 {
		return nil
	}
	return s
}

func sortKeys(k []mKey) []mKey {
	k = slices.Clone(k)
	slices.SortFunc(k, func(a, b mKey) int { return cmp.Or(cmp.Compare(a.pool, b.pool), cmp.Compare(a.night, b.night)) })
	if len(k) == 0 {
		return nil
	}
	return k
}

// staffRange is a random range of nights of a random pool in the window.
func (r *runner) staffRange() (int, int, int, inventory.NightRange) {
	p := r.rng.IntN(len(r.m.pools))
	from := r.rng.IntN(modelWindow)
	to := from + 1 + r.rng.IntN(min(4, modelWindow-from))
	return p, from, to, inventory.NightRange{Property: r.h.code, Pool: r.m.pools[p], From: modelBase.AddDays(from), To: modelBase.AddDays(to)}
}

func (r *runner) setUnits() string {
	p, from, to, nr := r.staffRange()
	units := []int{0, 1, 2, 2, 3, 3, 4, 5}[r.rng.IntN(8)]
	desc := fmt.Sprintf("SetUnits(%s %s..%s, %d)", nr.Pool, nr.From, nr.To, units)
	if err := r.h.st.SetUnits(r.ctx, nr, units, inventory.Staff("model")); err != nil {
		r.failf("%s: %v", desc, err)
	}
	r.stats["set_units"]++
	for d := from; d < to; d++ {
		k := mKey{p, d}
		n := r.m.nights[k]
		before := n.over()
		n.units = units
		if n.over() > before {
			r.stats["staff_overbooked"]++
		}
		r.m.wentOver(k, before)
	}
	return desc
}

func (r *runner) setFactor() string {
	p, from, to, nr := r.staffRange()
	f := modelFactors[r.rng.IntN(len(modelFactors))]
	desc := fmt.Sprintf("SetFactor(%s %s..%s, %s)", nr.Pool, nr.From, nr.To, f)
	if err := r.h.st.SetFactor(r.ctx, nr, f, inventory.Staff("model")); err != nil {
		r.failf("%s: %v", desc, err)
	}
	r.stats["set_factor"]++
	for d := from; d < to; d++ {
		k := mKey{p, d}
		n := r.m.nights[k]
		before := n.over()
		n.factor = f
		if n.over() > before {
			r.stats["staff_overbooked"]++
		}
		r.m.wentOver(k, before)
	}
	return desc
}

func (r *runner) setClosed() string {
	p, from, to, nr := r.staffRange()
	closed := r.rng.IntN(5) < 3
	desc := fmt.Sprintf("SetClosed(%s %s..%s, %v)", nr.Pool, nr.From, nr.To, closed)
	if err := r.h.st.SetClosed(r.ctx, nr, closed, inventory.Staff("model")); err != nil {
		r.failf("%s: %v", desc, err)
	}
	r.stats["set_closed"]++
	for d := from; d < to; d++ {
		r.m.nights[mKey{p, d}].closed = closed
	}
	return desc
}

// resolveIncident is staff closing an open overbooking incident; the next
// time the night goes further past its limit a new one opens.
func (r *runner) resolveIncident() string {
	if len(r.m.incidents) == 0 {
		return r.setClosed()
	}
	keys := sortKeys(slices.Collect(maps.Keys(r.m.incidents)))
	k := keys[r.rng.IntN(len(keys))]
	inc, err := r.h.st.Incidents(r.ctx, r.h.code, true)
	if err != nil {
		r.failf("Incidents: %v", err)
	}
	night := modelBase.AddDays(k.night)
	desc := fmt.Sprintf("ResolveIncident(%s %s)", r.m.pools[k.pool], night)
	for _, i := range inc {
		if i.Kind == "overbooking" && i.Pool == r.m.pools[k.pool] && i.Night != nil && *i.Night == night {
			if err := r.h.st.ResolveIncident(r.ctx, r.h.code, i.ID, inventory.Staff("model")); err != nil {
				r.failf("%s: %v", desc, err)
			}
			delete(r.m.incidents, k)
			r.stats["resolve_incident"]++
			return desc
		}
	}
	r.failf("%s: the model has this incident open, the store does not", desc)
	return desc
}

// ---- comparing ----

func (r *runner) check(desc string) {
	r.t.Helper()
	m := r.m
	from, to := modelBase.AddDays(-1), modelBase.AddDays(modelWindow+1)
	got, err := r.h.st.Availability(r.ctx, r.h.code, from, to)
	if err != nil {
		r.failf("after %s: Availability: %v", desc, err)
	}
	if len(got) != len(m.pools)*(modelWindow+2) {
		r.failf("after %s: Availability returned %d nights, want %d", desc, len(got), len(m.pools)*(modelWindow+2))
	}
	for _, n := range got {
		k := mKey{m.poolIndex(n.Pool), n.Night.Sub(modelBase)}
		mn, ok := m.nights[k]
		if !ok {
			r.failf("after %s: Availability returned unknown %s %s", desc, n.Pool, n.Night)
		}
		want := fmt.Sprintf("units=%d factor=%s limit=%d sold=%d closed=%v available=%d",
			mn.units, mn.factor, mn.limit(), mn.taken, mn.closed, mn.avail())
		have := fmt.Sprintf("units=%d factor=%s limit=%d sold=%d closed=%v available=%d",
			n.Units, n.Factor, n.Limit, n.Sold, n.Closed, n.Available)
		if want != have {
			r.failf("after %s: pool %s night %s\n got %s\nwant %s", desc, n.Pool, n.Night, have, want)
		}
		// The night's version never goes back and grows with every change.
		prev := r.seen[k]
		if n.Version < prev.version || (have != prev.state && prev.state != "" && n.Version <= prev.version) {
			r.failf("after %s: pool %s night %s: version %d after %d, state %q → %q", desc, n.Pool, n.Night, n.Version, prev.version, prev.state, have)
		}
		r.seen[k] = seenNight{n.Version, have}
	}

	for _, res := range m.res {
		rr, err := r.h.st.Reservation(r.ctx, r.h.code, res.channel, res.id)
		if res.status == "" {
			if inventory.ErrorCode(err) != inventory.ENOTFOUND {
				r.failf("after %s: reservation %s/%s was never recorded, want not found, got %+v, %v", desc, res.channel, res.id, rr, err)
			}
			continue
		}
		if err != nil {
			r.failf("after %s: reservation %s/%s: %v", desc, res.channel, res.id, err)
		}
		if rr.ID != res.resID || rr.Status != res.status || rr.Parked || rr.Revisions != len(res.recorded) {
			r.failf("after %s: reservation %s/%s: id %d status %s parked %v revisions %d; want id %d status %s, not parked, %d revisions",
				desc, res.channel, res.id, rr.ID, rr.Status, rr.Parked, rr.Revisions, res.resID, res.status, len(res.recorded))
		}
		if res.status == inventory.Confirmed {
			if !reflect.DeepEqual(rr.Stays, res.stays) {
				r.failf("after %s: reservation %s/%s stays\n got %+v\nwant %+v", desc, res.channel, res.id, rr.Stays, res.stays)
			}
			arr, dep := res.stays[0].Arrival, res.stays[0].Departure
			for _, st := range res.stays {
				if st.Arrival.Before(arr) {
					arr = st.Arrival
				}
				if st.Departure.After(dep) {
					dep = st.Departure
				}
			}
			if rr.Arrival != arr || rr.Departure != dep {
				r.failf("after %s: reservation %s/%s stay %s..%s, want %s..%s", desc, res.channel, res.id, rr.Arrival, rr.Departure, arr, dep)
			}
		}
	}

	inc, err := r.h.st.Incidents(r.ctx, r.h.code, true)
	if err != nil {
		r.failf("after %s: Incidents: %v", desc, err)
	}
	open := map[mKey]int{}
	for _, i := range inc {
		if i.Kind != "overbooking" {
			r.failf("after %s: unexpected open %s incident (every room is mapped): %s", desc, i.Kind, i.Message)
		}
		k := mKey{m.poolIndex(i.Pool), i.Night.Sub(modelBase)}
		if _, dup := open[k]; dup {
			r.failf("after %s: two open overbooking incidents for %s %s", desc, i.Pool, i.Night)
		}
		open[k] = i.Excess
	}
	if !reflect.DeepEqual(open, m.incidents) {
		r.failf("after %s: open overbooking incidents (pool index, night offset → excess)\n got %v\nwant %v", desc, open, m.incidents)
	}

	// Invariant 1, straight from the table.
	var bad int
	if err := r.h.st.DB().QueryRow(r.ctx, `SELECT count(*) FROM nights WHERE sold > lim OR (oversold > 0 AND sold <> lim)`).Scan(&bad); err != nil {
		r.failf("after %s: invariant query: %v", desc, err)
	}
	if bad != 0 {
		r.failf("after %s: %d nights have sold > lim", desc, bad)
	}
}

// ---- minimal reproductions of what TestModel found ----

// A Cancel carries no room stays. The reservation it cancels is mapped, so it
// must not come out parked, nor raise an "unmapped_booking" incident.
func TestModelCancelDoesNotParkTheReservation(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "Europe/Lisbon", []int{2}, inventory.FactorOne, 1)
	ctx := context.Background()
	_, err := h.st.ApplyRevision(ctx, h.booking("C0", "A", inventory.New, "R0", "2026-12-01", 2, 1, inventory.MustAccept))
	if err != nil {
		t.Fatal(err)
	}
	out, err := h.st.ApplyRevision(ctx, inventory.Revision{Property: h.code, Channel: "C0", ExternalID: "A", Kind: inventory.Cancel})
	if err != nil {
		t.Fatal(err)
	}
	res, err := h.st.Reservation(ctx, h.code, "C0", "A")
	if err != nil {
		t.Fatal(err)
	}
	inc, err := h.st.Incidents(ctx, h.code, true)
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != inventory.Cancelled || out.Parked || res.Parked || len(inc) != 0 {
		t.Errorf("cancel: outcome status %s parked %v; reservation parked %v; %d open incidents %+v — want cancelled, not parked, no incident",
			out.Status, out.Parked, res.Parked, len(inc), inc)
	}
}

// A late Cancel (Version 2 arriving after the Modify of Version 3) leaves the
// booking confirmed with the Modify's stays, so it must keep holding its
// nights. The store resolves room types only from the incoming revision's
// stays (none, for a Cancel), drops every stay as "unmapped", releases the
// nights and then sells the same room again.
func TestModelLateCancelKeepsTheNightsHeld(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "Europe/Lisbon", []int{1}, inventory.FactorOne, 2)
	ctx := context.Background()
	newRev := h.booking("C0", "A", inventory.New, "R0", "2026-12-01", 2, 1, inventory.MustAccept)
	newRev.Version = 1
	mod := h.booking("C0", "A", inventory.Modify, "R0", "2026-12-01", 2, 1, inventory.MustAccept)
	mod.Version, mod.Guest = 3, inventory.Guest{Name: "Ana"}
	cancel := inventory.Revision{Property: h.code, Channel: "C0", ExternalID: "A", Kind: inventory.Cancel, Version: 2}
	for _, rev := range []inventory.Revision{newRev, mod, cancel} {
		if _, err := h.st.ApplyRevision(ctx, rev); err != nil {
			t.Fatal(err)
		}
	}
	res, err := h.st.Reservation(ctx, h.code, "C0", "A")
	if err != nil {
		t.Fatal(err)
	}
	n := h.nights(t, "2026-12-01", 1)["P0"][inventory.MustDate("2026-12-01")]
	if res.Status != inventory.Confirmed || res.Parked || n.Sold != 1 || n.Available != 0 {
		t.Errorf("after new v1, modify v3, cancel v2: reservation %s parked %v; night sold %d available %d — want confirmed, not parked, sold 1, available 0",
			res.Status, res.Parked, n.Sold, n.Available)
	}
	// The consequence: a may-reject booking is accepted for the same last room.
	_, err = h.st.ApplyRevision(ctx, h.booking("C1", "B", inventory.New, "R0", "2026-12-01", 1, 1, inventory.MayReject))
	if inventory.ErrorCode(err) != inventory.ECONFLICT {
		t.Errorf("a second booking of the only room: want ECONFLICT, got %v", err)
	}
}

// A New that arrives after the Modify that supersedes it (different room
// type) must make the Modify's stays take effect; the store resolves only the
// New's room type, parks the booking and holds nothing on the Modify's pool.
func TestModelLateNewHoldsTheModifiedRoom(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "Europe/Lisbon", []int{2, 2}, inventory.FactorOne, 1)
	ctx := context.Background()
	newRev := h.booking("C0", "A", inventory.New, "R0", "2026-12-01", 2, 1, inventory.MustAccept)
	newRev.Version = 1
	mod := h.booking("C0", "A", inventory.Modify, "R1", "2026-12-01", 2, 1, inventory.MustAccept)
	mod.Version = 2
	for _, rev := range []inventory.Revision{mod, newRev} {
		if _, err := h.st.ApplyRevision(ctx, rev); err != nil {
			t.Fatal(err)
		}
	}
	res, err := h.st.Reservation(ctx, h.code, "C0", "A")
	if err != nil {
		t.Fatal(err)
	}
	got := h.nights(t, "2026-12-01", 1)
	d := inventory.MustDate("2026-12-01")
	if res.Status != inventory.Confirmed || res.Parked || got["P0"][d].Sold != 0 || got["P1"][d].Sold != 1 {
		t.Errorf("after modify v2 (R1) then new v1 (R0): reservation %s parked %v; sold P0 %d P1 %d — want confirmed, not parked, P0 0, P1 1",
			res.Status, res.Parked, got["P0"][d].Sold, got["P1"][d].Sold)
	}
}

// Staff resolving an overbooking incident must work.
func TestModelResolveIncident(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "Europe/Lisbon", []int{1}, inventory.FactorOne, 2)
	ctx := context.Background()
	for i, c := range []string{"C0", "C1"} {
		if _, err := h.st.ApplyRevision(ctx, h.booking(c, fmt.Sprint("A", i), inventory.New, "R0", "2026-12-01", 1, 1, inventory.MustAccept)); err != nil {
			t.Fatal(err)
		}
	}
	inc, err := h.st.Incidents(ctx, h.code, true)
	if err != nil || len(inc) != 1 {
		t.Fatalf("want one open overbooking incident, got %+v, %v", inc, err)
	}
	if err := h.st.ResolveIncident(ctx, h.code, inc[0].ID, inventory.Staff("anna")); err != nil {
		t.Errorf("ResolveIncident: %v", err)
	}
}
