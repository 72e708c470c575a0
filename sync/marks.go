package sync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/keyrack/keyrack/inventory"
)

// Night marks: for the inventory grid, where each channel stands on each
// pool-night — has it acknowledged the value the pool offers now, is a
// delivery on its way, or was the night never sent to it.

// MarkState is where one channel stands on one pool-night.
type MarkState string

const (
	// MarkSynced: the channel acknowledged the value the pool offers now
	// (or holds it through a booking it took itself).
	MarkSynced MarkState = "synced"
	// MarkPending: a change has not reached the channel yet — it waits for
	// the relay or a delivery, or what the channel acknowledged differs
	// from what the pool offers.
	MarkPending MarkState = "pending"
	// MarkUnconfirmed: the channel never acknowledged the night and nothing
	// is on its way (it was never resynced, or refused the night).
	MarkUnconfirmed MarkState = "unconfirmed"
	// MarkNotSent: the night is not pushed to the channel — it is past,
	// beyond the channel's horizon, or the channel has no endpoint or no
	// connector.
	MarkNotSent MarkState = "not_sent"
)

// MarkChannel is an enabled channel that sells at least one pool of the
// property, with the state of its deliveries.
type MarkChannel struct {
	Code        string
	Kind        inventory.ChannelKind
	Pools       []string // codes of the pools it sells (a room type of theirs is mapped)
	HorizonDays int
	// Pushed: availability is pushed to it (a connector for its kind and an
	// endpoint). NotPushed says why not, when not.
	Pushed    bool
	NotPushed string
	// Queued is the queue of the delivery task that waits ("critical",
	// "bulk"), "" when none; Archived: its last delivery ran out of retries.
	Queued       string
	Archived     bool
	LastDelivery *time.Time
	LastError    string
	LastErrorAt  *time.Time
}

// ChannelNight is where one channel stands on one pool-night.
type ChannelNight struct {
	Channel *MarkChannel
	State   MarkState
	// Why explains the state in a few words, for staff.
	Why string
	// Acked is the value the channel last acknowledged and AckedAt when,
	// nil if it never did.
	Acked   *int
	AckedAt *time.Time
}

// NightMarks holds, for a property's pools and nights [From, To), where
// every channel that sells the pool stands. The zero value (and nil) has
// no marks.
type NightMarks struct {
	From, To inventory.Date
	Today    inventory.Date // the property's local date
	Channels []MarkChannel
	cells    map[string][][]ChannelNight // pool code → night index → one per channel selling the pool
}

// Night lists where each channel selling pool stands on night, by channel
// code; nil outside the marks' range or for a pool no channel sells.
func (m *NightMarks) Night(pool string, night inventory.Date) []ChannelNight {
	if m == nil || night.Before(m.From) || !night.Before(m.To) {
		return nil
	}
	nights := m.cells[pool]
	if nights == nil {
		return nil
	}
	return nights[night.Sub(m.From)]
}

// Pending lists the codes of the channels that have not acknowledged the
// night's current value yet.
func (m *NightMarks) Pending(pool string, night inventory.Date) []string {
	var out []string
	for _, cn := range m.Night(pool, night) {
		if cn.State == MarkPending {
			out = append(out, cn.Channel.Code)
		}
	}
	return out
}

// nightSet is a set of nights within the marks' range, by index.
type nightSet []bool

func (s nightSet) addRange(from, to, base inventory.Date) {
	for d := from; d.Before(to); d = d.AddDays(1) {
		s[d.Sub(base)] = true
	}
}

// has is nil-safe: a channel's view of a pool with nothing in it.
func (s nightSet) has(i int) bool { return s != nil && s[i] }

// chanPool names a channel's view of one pool, by ids.
type chanPool struct{ channel, pool int64 }

// markAck is a channel's acknowledgement of a night.
type markAck struct {
	ok            bool // there is one
	available     int
	ackedAt       time.Time
	originChanged bool
}

// markNight is what a pool offers on a night.
type markNight struct {
	ok     bool // the night has a row of its own; the pool's defaults otherwise
	limit  int
	sold   int
	closed bool
}

// The queries of NightMarks, sent in one batch: $1 is the property's code,
// [$2, $3) the nights. Each reads one table by its primary key's leading
// columns and joins nothing per row: the joins are made in Go, so that the
// plan stays the same whatever the tables' statistics say.
const (
	marksProperty = `(SELECT id FROM properties WHERE code = $1)`
	// The property's pools and channels as arrays, so that a read of
	// nights or sync_acks over a range of nights is one index range per
	// pool (and channel), not every night the property ever had: nights
	// keeps each night once it has passed (sync_acks for PastAcksKeep
	// nights).
	marksPoolIDs    = `ARRAY(SELECT id FROM pools WHERE property_id = ` + marksProperty + `)`
	marksChannelIDs = `ARRAY(SELECT id FROM channels WHERE property_id = ` + marksProperty + `)`
	marksTodaySQL   = `SELECT ` + inventory.TonightSQL + ` FROM properties p WHERE p.code = $1`
	// The pools, with their default limit.
	marksPoolsSQL = `SELECT id, code, floor(units * overbooking_factor)::int FROM pools WHERE property_id = ` + marksProperty
	// The enabled channels with the pools they sell and their delivery state.
	marksChannelsSQL = `
		SELECT c.id, c.code, c.kind, c.endpoint <> '', c.horizon_days,
			coalesce(s.queued, ''), coalesce(s.archived, false), s.last_delivery_at,
			coalesce(s.last_error, ''), s.last_error_at,
			array(SELECT DISTINCT rt.pool_id FROM mappings m
				JOIN room_types rt ON rt.property_id = m.property_id AND rt.id = m.room_type_id
				WHERE m.property_id = c.property_id AND m.channel_id = c.id)
		FROM channels c
		LEFT JOIN sync_channels s ON s.property_id = c.property_id AND s.channel_id = c.id
		WHERE c.property_id = ` + marksProperty + ` AND c.enabled
		ORDER BY c.code`
	// The nights that differ from their pool's defaults.
	marksNightsSQL = `
		SELECT pool_id, night, lim, sold + oversold, closed FROM nights
		WHERE property_id = ` + marksProperty + ` AND pool_id = ANY(` + marksPoolIDs + `) AND night >= $2 AND night < $3`
	// Dirty nights within the range, echoes apart.
	marksDirtySQL = `
		SELECT d.channel_id, d.pool_id, lower(r), upper(r), e.echo
		FROM sync_dirty d
		CROSS JOIN LATERAL (VALUES (false, d.nights - d.echo), (true, d.echo)) AS e (echo, nights)
		CROSS JOIN LATERAL unnest(e.nights * datemultirange(daterange($2, $3))) AS r
		WHERE d.property_id = ` + marksProperty
	// Changes the relay has not taken yet.
	marksOutboxSQL = `
		SELECT origin_channel_id, pool_id, greatest(from_night, $2::date), least(to_night, $3::date)
		FROM outbox
		WHERE property_id = ` + marksProperty + ` AND done_at IS NULL AND topic = 'availability'
			AND from_night < $3 AND to_night > $2`
	// What the channels acknowledged.
	marksAcksSQL = `
		SELECT channel_id, pool_id, night, available, acked_at, origin_changed_at IS NOT NULL
		FROM sync_acks
		WHERE property_id = ` + marksProperty + ` AND channel_id = ANY(` + marksChannelIDs + `)
			AND pool_id = ANY(` + marksPoolIDs + `) AND night >= $2 AND night < $3`
)

// NightMarks reads where every enabled channel that sells a pool of the
// property stands on each of its nights in [from, to): its dirty marks
// (nights not delivered yet, and echoes of its own bookings), the outbox
// rows the relay has not taken, and its acknowledgements compared with what
// the pool offers now — in one round trip.
//
// A night is pending for a channel when it is dirty for it other than as an
// echo, when a change of someone else waits in the outbox, or when the
// value the channel acknowledged differs from the pool's — unless the
// channel holds the difference through a booking it took itself (an echo,
// which is not sent back).
func (f *Fanout) NightMarks(ctx context.Context, property string, from, to inventory.Date) (*NightMarks, error) {
	if err := (inventory.NightRange{Property: property, Pool: "*", From: from, To: to}).Validate(); err != nil {
		return nil, err
	}
	b := &pgx.Batch{}
	b.Queue(marksTodaySQL, property)
	b.Queue(marksPoolsSQL, property)
	b.Queue(marksChannelsSQL, property)
	b.Queue(marksNightsSQL, property, from, to)
	b.Queue(marksDirtySQL, property, from, to)
	b.Queue(marksOutboxSQL, property, from, to)
	b.Queue(marksAcksSQL, property, from, to)
	br := f.db.SendBatch(ctx, b)
	defer br.Close()

	days := to.Sub(from)
	m := &NightMarks{From: from, To: to}
	if err := br.QueryRow().Scan(&m.Today); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, inventory.Errorf(inventory.ENOTFOUND, "property %s does not exist", property)
		}
		return nil, err
	}

	type poolRow struct {
		code  string
		limit int // the default
	}
	pools := map[int64]poolRow{}
	var id int64
	var pr poolRow
	rows, _ := br.Query()
	if _, err := pgx.ForEachRow(rows, []any{&id, &pr.code, &pr.limit}, func() error { pools[id] = pr; return nil }); err != nil {
		return nil, err
	}

	var chanIDs []int64
	var sells [][]int64 // per channel, the pools it sells
	var c MarkChannel
	var hasEndpoint bool
	var poolIDs []int64
	rows, _ = br.Query()
	_, err := pgx.ForEachRow(rows, []any{&id, &c.Code, &c.Kind, &hasEndpoint, &c.HorizonDays, &c.Queued, &c.Archived,
		&c.LastDelivery, &c.LastError, &c.LastErrorAt, &poolIDs}, func() error {
		if len(poolIDs) == 0 {
			return nil // sells nothing: never told about any pool
		}
		slices.SortFunc(poolIDs, func(a, b int64) int { return strings.Compare(pools[a].code, pools[b].code) })
		c.Pools = make([]string, len(poolIDs))
		for i, p := range poolIDs {
			c.Pools[i] = pools[p].code
		}
		c.Pushed, c.NotPushed = true, ""
		switch {
		case f.cfg.Connectors.Lookup(c.Kind) == nil:
			c.Pushed, c.NotPushed = false, notPushedNote(c.Kind)
		case !hasEndpoint:
			c.Pushed, c.NotPushed = false, "the channel has no endpoint"
		}
		m.Channels = append(m.Channels, c)
		chanIDs, sells = append(chanIDs, id), append(sells, slices.Clone(poolIDs))
		c = MarkChannel{}
		return nil
	})
	if err != nil {
		return nil, err
	}

	nights := map[int64][]markNight{}
	var night inventory.Date
	var n markNight
	rows, _ = br.Query()
	_, err = pgx.ForEachRow(rows, []any{&id, &night, &n.limit, &n.sold, &n.closed}, func() error {
		if nights[id] == nil {
			nights[id] = make([]markNight, days)
		}
		n.ok = true
		nights[id][night.Sub(from)] = n
		return nil
	})
	if err != nil {
		return nil, err
	}

	dirty, echo := map[chanPool]nightSet{}, map[chanPool]nightSet{}
	var pool int64
	var lo, hi inventory.Date
	var isEcho bool
	rows, _ = br.Query()
	_, err = pgx.ForEachRow(rows, []any{&id, &pool, &lo, &hi, &isEcho}, func() error {
		set := dirty
		if isEcho {
			set = echo
		}
		k := chanPool{id, pool}
		if set[k] == nil {
			set[k] = make(nightSet, days)
		}
		set[k].addRange(lo, hi, from)
		return nil
	})
	if err != nil {
		return nil, err
	}

	// Outbox rows: a change the relay has not taken is on its way to every
	// channel but its origin, for which it is an echo (pool → night index →
	// origins, 0 for a change of no channel's).
	relay := map[int64][][]int64{}
	var origin *int64
	rows, _ = br.Query()
	_, err = pgx.ForEachRow(rows, []any{&origin, &pool, &lo, &hi}, func() error {
		o := int64(0)
		if origin != nil {
			o = *origin
		}
		if relay[pool] == nil {
			relay[pool] = make([][]int64, days)
		}
		for d := lo; d.Before(hi); d = d.AddDays(1) {
			relay[pool][d.Sub(from)] = append(relay[pool][d.Sub(from)], o)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	acks := map[chanPool][]markAck{}
	var a markAck
	rows, _ = br.Query()
	_, err = pgx.ForEachRow(rows, []any{&id, &pool, &night, &a.available, &a.ackedAt, &a.originChanged}, func() error {
		k := chanPool{id, pool}
		if acks[k] == nil {
			acks[k] = make([]markAck, days)
		}
		a.ok = true
		acks[k][night.Sub(from)] = a
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := br.Close(); err != nil {
		return nil, err
	}

	// Each pool's channels, in code order; one backing array per pool.
	sellers := map[int64][]int{}
	for i := range m.Channels {
		for _, p := range sells[i] {
			sellers[p] = append(sellers[p], i)
		}
	}
	m.cells = make(map[string][][]ChannelNight, len(sellers))
	for p, chans := range sellers {
		all := make([]ChannelNight, days*len(chans))
		cells := make([][]ChannelNight, days)
		for j := range days {
			cells[j] = all[j*len(chans) : (j+1)*len(chans) : (j+1)*len(chans)]
		}
		m.cells[pools[p].code] = cells
		relayP, nightsP, defaultLimit := relay[p], nights[p], pools[p].limit
		for ci, i := range chans {
			ch := &m.Channels[i]
			k := chanPool{chanIDs[i], p}
			dirtyS, echoS, ackS := dirty[k], echo[k], acks[k]
			horizonEnd := m.Today.AddDays(ch.HorizonDays)
			beyond := fmt.Sprintf("beyond the channel's horizon of %d nights", ch.HorizonDays)
			for j := range days {
				d := from.AddDays(j)
				var relayOthers, relayOwn bool
				if relayP != nil {
					for _, o := range relayP[j] {
						if o == k.channel {
							relayOwn = true
						} else {
							relayOthers = true
						}
					}
				}
				cn := &cells[j][ci]
				cn.Channel = ch
				var ack *markAck
				if ackS != nil && ackS[j].ok {
					ack = &ackS[j]
					cn.Acked, cn.AckedAt = &ack.available, &ack.ackedAt
				}
				isEcho := echoS.has(j) || relayOwn
				switch {
				case !ch.Pushed:
					cn.State, cn.Why = MarkNotSent, ch.NotPushed
				case d.Before(m.Today):
					cn.State, cn.Why = MarkNotSent, "a past night: not sent any more"
				case !d.Before(horizonEnd):
					cn.State, cn.Why = MarkNotSent, beyond
				case dirtyS.has(j):
					cn.State, cn.Why = MarkPending, "a change waits to be delivered"
				case relayOthers:
					cn.State, cn.Why = MarkPending, "a change waits for the relay"
				case ack == nil && isEcho:
					cn.State, cn.Why = MarkPending, "its own booking: the value waits to be confirmed"
				case ack == nil:
					cn.State, cn.Why = MarkUnconfirmed, "no value acknowledged: never sent, or refused by the channel (see its delivery log)"
				default:
					current := inventory.Availability(defaultLimit, 0, false)
					if nightsP != nil && nightsP[j].ok {
						current = inventory.Availability(nightsP[j].limit, nightsP[j].sold, nightsP[j].closed)
					}
					switch {
					case ack.available == current:
						cn.State, cn.Why = MarkSynced, "acknowledged the current value"
					case isEcho && (ack.originChanged || relayOwn):
						cn.State, cn.Why = MarkSynced, "holds the value through a booking it took itself"
					default:
						cn.State, cn.Why = MarkPending, "acknowledged "+strconv.Itoa(ack.available)+", the pool offers "+strconv.Itoa(current)
					}
				}
			}
		}
	}
	return m, nil
}
