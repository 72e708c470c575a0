package inventory

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The catalogue: properties, pools, room types, rate plans, channels and
// mappings. These change rarely and are addressed by their codes.

var codeRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

func validCode(what, code string) error {
	if !codeRE.MatchString(code) {
		return Errorf(EINVALID, "%s code %q: use 1–64 letters, digits, '_', '.' or '-', starting with a letter or digit", what, code)
	}
	return nil
}

// OpenTravel 2015B's lengths for the codes keyrack writes into what it sends
// a channel speaking OTA XML (OTA push and pull, GDS): HotelCode and
// InvTypeCode are StringLength1to16, RatePlanCode StringLength1to64. A
// channel validating against the schema refuses a whole message with one
// longer code in it — every night of every room — and none of its bookings
// can name such a code either (RoomTypeCode is StringLength1to16 as well):
// so such a code is refused when staff set it, not found out at the first
// push.
const (
	maxOTAHotelCode = 16
	maxOTARoomCode  = 16
	maxOTARateCode  = 64
)

// speaksOTAXML reports whether keyrack sends the channel OTA XML.
func (k ChannelKind) speaksOTAXML() bool {
	return k == ChannelOTAPush || k == ChannelOTAPull || k == ChannelGDS
}

// checkChannelCode checks a code the channel itself gives (a hotel, room or
// rate code, field in the API; "" is checked by the caller): no spaces around it, which would
// make it match nothing the channel sends, nor characters XML cannot carry
// or a screen cannot show; at most max characters on a channel speaking
// OTA XML (max 0: any length).
func checkChannelCode(kind ChannelKind, channel, field, what, code string, max int) error {
	switch {
	case !utf8.ValidString(code):
		return invalidField(field, "channel %s: %s %q is not valid UTF-8", channel, what, code)
	case strings.TrimSpace(code) != code:
		return invalidField(field, "channel %s: %s %q has spaces at its start or end: give the code exactly as the channel writes it", channel, what, code)
	case strings.ContainsFunc(code, func(r rune) bool { return unicode.IsControl(r) }):
		return invalidField(field, "channel %s: %s %q holds a control character", channel, what, code)
	case max > 0 && kind.speaksOTAXML() && utf8.RuneCountInString(code) > max:
		return invalidField(field, "channel %s: %s %q is %d characters long; OpenTravel allows at most %d, and a channel checking what it is sent against the schema would refuse every availability message naming it",
			channel, what, code, utf8.RuneCountInString(code), max)
	}
	return nil
}

// CheckMappingCodes checks the channel's room and rate codes of a mapping
// as they are checked when it is set (checkChannelCode): the channel page
// also warns of mappings stored before they were.
func CheckMappingCodes(kind ChannelKind, channel string, m Mapping) error {
	if err := checkChannelCode(kind, channel, "channel_room", "room code", m.ChannelRoom, maxOTARoomCode); err != nil {
		return err
	}
	return checkChannelCode(kind, channel, "channel_rate", "rate code", m.ChannelRate, maxOTARateCode)
}

// CheckHotelCode checks a channel's hotel code as it is checked when set.
func CheckHotelCode(c Channel) error {
	return checkChannelCode(c.Kind, c.Code, "hotel_code", "hotel code", c.HotelCode, maxOTAHotelCode)
}

// notFound maps pgx.ErrNoRows to an ENOTFOUND error.
func notFound(err error, format string, args ...any) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return Errorf(ENOTFOUND, format, args...)
	}
	return err
}

// conflictOnDuplicate maps a unique violation to an ECONFLICT error.
func conflictOnDuplicate(err error, format string, args ...any) error {
	if isUniqueViolation(err) {
		return Errorf(ECONFLICT, format, args...)
	}
	return err
}

// CreateProperty adds a property.
func (s *Store) CreateProperty(ctx context.Context, p Property, by Actor) (Property, error) {
	if err := validCode("property", p.Code); err != nil {
		return p, err
	}
	if p.Name == "" {
		return p, Errorf(EINVALID, "property %s: a name is required", p.Code)
	}
	loc, err := time.LoadLocation(p.TimeZone)
	if err != nil || p.TimeZone == "" || p.TimeZone == "Local" {
		return p, Errorf(EINVALID, "property %s: time zone %q is not an IANA zone name", p.Code, p.TimeZone)
	}
	if !KnownCurrency(p.Currency) {
		return p, Errorf(EINVALID, "property %s: currency %q is not an ISO 4217 code", p.Code, p.Currency)
	}
	if err := validNightSoldUntil(p.Code, p.NightSoldUntil); err != nil {
		return p, err
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if err := sameZoneInDatabase(ctx, tx, p, loc); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `INSERT INTO properties (code, name, time_zone, currency, night_sold_until_minutes)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			p.Code, p.Name, p.TimeZone, p.Currency, int(p.NightSoldUntil/time.Minute)).Scan(&p.ID)
		if err != nil {
			return conflictOnDuplicate(err, "property %s already exists", p.Code)
		}
		return audit(ctx, tx, p.ID, by, "property.create", "property "+p.Code, p.auditDetails())
	})
	return p, err
}

// sameZoneInDatabase checks that PostgreSQL reads the property's zone as
// keyrack does: the web pages and the API take the property's nights from
// Go's zone data, the fan-out and the scheduler from PostgreSQL's (now() AT
// TIME ZONE). A zone PostgreSQL does not know (its zone data older than
// keyrack's) would fail every delivery of the property; a name the two read
// differently — CET, EET, MET, WET: a zone with summer time for Go, a fixed
// offset for PostgreSQL — would have them disagree on the night for an hour
// a day half the year. Both are refused, with the zone to use instead.
func sameZoneInDatabase(ctx context.Context, tx pgx.Tx, p Property, loc *time.Location) error {
	year := time.Now().UTC().Year()
	var probes []time.Time
	for y := year; y <= year+1; y++ {
		for _, m := range []time.Month{time.January, time.April, time.July, time.October} {
			probes = append(probes, time.Date(y, m, 15, 12, 0, 0, 0, time.UTC))
		}
	}
	var local []time.Time
	err := tx.QueryRow(ctx, `SELECT array_agg(t AT TIME ZONE $1 ORDER BY t) FROM unnest($2::timestamptz[]) AS t`,
		p.TimeZone, probes).Scan(&local)
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == "22023" {
		return invalidField("time_zone", "property %s: time zone %q is not known to the database (PostgreSQL's zone data is older than keyrack's): "+
			"update the server's tzdata, or use a zone both know", p.Code, p.TimeZone)
	}
	if err != nil {
		return err
	}
	for i, t := range probes {
		if want := t.In(loc); !local[i].Equal(time.Date(want.Year(), want.Month(), want.Day(), want.Hour(), want.Minute(), want.Second(), 0, time.UTC)) {
			return invalidField("time_zone", "property %s: time zone %q is read differently by the database (%s on %s) and by keyrack (%s): "+
				"use a place's zone name, such as Europe/Paris for CET", p.Code, p.TimeZone,
				local[i].Format("15:04"), t.Format("2006-01-02 15:04 UTC"), want.Format("15:04"))
		}
	}
	return nil
}

// Property looks a property up by code.
func (s *Store) Property(ctx context.Context, code string) (Property, error) {
	return propertyByCode(ctx, s.db, code)
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// propertyColumns are a Property's columns in the order scanProperty reads them.
const propertyColumns = `id, code, name, time_zone, currency, night_sold_until_minutes`

func scanProperty(r pgx.Row) (Property, error) {
	var p Property
	var soldUntil int
	err := r.Scan(&p.ID, &p.Code, &p.Name, &p.TimeZone, &p.Currency, &soldUntil)
	p.NightSoldUntil = time.Duration(soldUntil) * time.Minute
	return p, err
}

func propertyByCode(ctx context.Context, q querier, code string) (Property, error) {
	p, err := scanProperty(q.QueryRow(ctx, `SELECT `+propertyColumns+` FROM properties WHERE code = $1`, code))
	p.Code = code
	return p, notFound(err, "property %s does not exist", code)
}

// Properties lists every property by code.
func (s *Store) Properties(ctx context.Context) ([]Property, error) {
	rows, _ := s.db.Query(ctx, `SELECT `+propertyColumns+` FROM properties ORDER BY code`)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Property, error) { return scanProperty(r) })
}

// auditDetails is what the audit log keeps of the property.
func (p Property) auditDetails() map[string]any {
	return map[string]any{"code": p.Code, "name": p.Name, "time_zone": p.TimeZone, "currency": p.Currency,
		"night_sold_until": Clock(p.NightSoldUntil)}
}

// validNightSoldUntil checks a property's NightSoldUntil.
func validNightSoldUntil(code string, d time.Duration) error {
	if d < 0 || d > MaxNightSoldUntil || d%time.Minute != 0 {
		return invalidField("night_sold_until", "property %s: a night is sold until a time from 00:00 to 12:00 the next morning, in whole minutes (%s given)", code, d)
	}
	return nil
}

// PropertyUpdate changes a property; nil fields stay as they are.
type PropertyUpdate struct {
	Name           *string
	NightSoldUntil *time.Duration
}

// UpdateProperty changes a property's name or how long its nights are
// sold. A night that is on sale again by the change (its sale extended
// into the morning past the clock's time) is sent to every channel anew:
// bookings may have changed it since the midnight its sale ended.
func (s *Store) UpdateProperty(ctx context.Context, code string, u PropertyUpdate, by Actor) (Property, error) {
	if u.Name != nil && *u.Name == "" {
		return Property{}, invalidField("name", "property %s: a name is required", code)
	}
	var minutes *int
	if u.NightSoldUntil != nil {
		if err := validNightSoldUntil(code, *u.NightSoldUntil); err != nil {
			return Property{}, err
		}
		m := int(*u.NightSoldUntil / time.Minute)
		minutes = &m
	}
	var out Property
	err := s.inOutboxTx(ctx, func(tx pgx.Tx) error {
		// NO KEY: bookings' foreign keys to the property (FOR KEY SHARE)
		// go on meanwhile; two updates of the property wait for each other.
		var before Date
		err := tx.QueryRow(ctx, `SELECT `+TonightSQL+` FROM properties p WHERE p.code = $1 FOR NO KEY UPDATE`, code).Scan(&before)
		if err != nil {
			return notFound(err, "property %s does not exist", code)
		}
		out, err = scanProperty(tx.QueryRow(ctx, `UPDATE properties SET name = coalesce($2, name),
				night_sold_until_minutes = coalesce($3, night_sold_until_minutes)
			WHERE code = $1 RETURNING `+propertyColumns, code, u.Name, minutes))
		if err != nil {
			return err
		}
		var after Date
		if err := tx.QueryRow(ctx, `SELECT `+TonightSQL+` FROM properties p WHERE p.id = $1`, out.ID).Scan(&after); err != nil {
			return err
		}
		if after.Before(before) {
			var pools []int64
			rows, _ := tx.Query(ctx, `SELECT id FROM pools WHERE property_id = $1 ORDER BY id`, out.ID)
			if pools, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
				return err
			}
			ranges := make([]poolRange, len(pools))
			for i, pool := range pools {
				ranges[i] = poolRange{Pool: pool, From: after, To: before}
			}
			w := &writer{}
			var ob outboxColumns
			ob.availability(out.ID, ranges, 0, false, time.Time{})
			ob.queue(w)
			if err := w.send(ctx, tx); err != nil {
				return err
			}
		}
		return audit(ctx, tx, out.ID, by, "property.update", "property "+code, out.auditDetails())
	})
	return out, err
}

// CreatePool adds an inventory pool to a property.
func (s *Store) CreatePool(ctx context.Context, property string, p Pool, by Actor) (Pool, error) {
	if err := validCode("pool", p.Code); err != nil {
		return p, err
	}
	if p.Units < 0 {
		return p, Errorf(EINVALID, "pool %s: units must not be negative", p.Code)
	}
	if p.OverbookingFactor == 0 {
		p.OverbookingFactor = FactorOne
	}
	if err := p.OverbookingFactor.Validate(); err != nil {
		return p, err
	}
	if p.Name == "" {
		p.Name = p.Code
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		prop, err := propertyByCode(ctx, tx, property)
		if err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `INSERT INTO pools (property_id, code, name, units, overbooking_factor)
			VALUES ($1, $2, $3, $4, $5::numeric / 100) RETURNING id`,
			prop.ID, p.Code, p.Name, p.Units, int(p.OverbookingFactor)).Scan(&p.ID)
		if err != nil {
			return conflictOnDuplicate(err, "pool %s already exists in property %s", p.Code, property)
		}
		return audit(ctx, tx, prop.ID, by, "pool.create", "pool "+p.Code, p)
	})
	return p, err
}

// Pools lists a property's pools by code.
func (s *Store) Pools(ctx context.Context, property string) ([]Pool, error) {
	rows, _ := s.db.Query(ctx, `SELECT pl.id, pl.code, pl.name, pl.units, (pl.overbooking_factor * 100)::int
		FROM pools pl JOIN properties p ON p.id = pl.property_id WHERE p.code = $1 ORDER BY pl.code`, property)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Pool, error) {
		var p Pool
		err := r.Scan(&p.ID, &p.Code, &p.Name, &p.Units, &p.OverbookingFactor)
		return p, err
	})
}

// CreateRoomType adds a room type drawing on one of the property's pools.
func (s *Store) CreateRoomType(ctx context.Context, property string, rt RoomType, by Actor) (RoomType, error) {
	if err := validCode("room type", rt.Code); err != nil {
		return rt, err
	}
	if rt.Name == "" {
		rt.Name = rt.Code
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		prop, err := propertyByCode(ctx, tx, property)
		if err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `INSERT INTO room_types (property_id, code, name, pool_id)
			SELECT $1, $2, $3, id FROM pools WHERE property_id = $1 AND code = $4 RETURNING id`,
			prop.ID, rt.Code, rt.Name, rt.Pool).Scan(&rt.ID)
		if errors.Is(err, pgx.ErrNoRows) {
			return Errorf(EINVALID, "room type %s: pool %q does not exist in property %s", rt.Code, rt.Pool, property)
		}
		if err != nil {
			return conflictOnDuplicate(err, "room type %s already exists in property %s", rt.Code, property)
		}
		return audit(ctx, tx, prop.ID, by, "room_type.create", "room type "+rt.Code, rt)
	})
	return rt, err
}

// RoomTypes lists a property's room types by code.
func (s *Store) RoomTypes(ctx context.Context, property string) ([]RoomType, error) {
	rows, _ := s.db.Query(ctx, `SELECT rt.id, rt.code, rt.name, pl.code
		FROM room_types rt JOIN properties p ON p.id = rt.property_id
		JOIN pools pl ON pl.property_id = rt.property_id AND pl.id = rt.pool_id
		WHERE p.code = $1 ORDER BY rt.code`, property)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (RoomType, error) {
		var rt RoomType
		err := r.Scan(&rt.ID, &rt.Code, &rt.Name, &rt.Pool)
		return rt, err
	})
}

// CreateRatePlan adds a rate plan to a room type.
func (s *Store) CreateRatePlan(ctx context.Context, property string, rp RatePlan, by Actor) (RatePlan, error) {
	if err := validCode("rate plan", rp.Code); err != nil {
		return rp, err
	}
	if rp.Name == "" {
		rp.Name = rp.Code
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		prop, err := propertyByCode(ctx, tx, property)
		if err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `INSERT INTO rate_plans (property_id, code, name, room_type_id)
			SELECT $1, $2, $3, id FROM room_types WHERE property_id = $1 AND code = $4 RETURNING id`,
			prop.ID, rp.Code, rp.Name, rp.RoomType).Scan(&rp.ID)
		if errors.Is(err, pgx.ErrNoRows) {
			return Errorf(EINVALID, "rate plan %s: room type %q does not exist in property %s", rp.Code, rp.RoomType, property)
		}
		if err != nil {
			return conflictOnDuplicate(err, "rate plan %s already exists for room type %s", rp.Code, rp.RoomType)
		}
		return audit(ctx, tx, prop.ID, by, "rate_plan.create", "rate plan "+rp.Code, rp)
	})
	return rp, err
}

// RatePlans lists a property's rate plans by room type and code.
func (s *Store) RatePlans(ctx context.Context, property string) ([]RatePlan, error) {
	rows, _ := s.db.Query(ctx, `SELECT rp.id, rp.code, rp.name, rt.code
		FROM rate_plans rp JOIN properties p ON p.id = rp.property_id
		JOIN room_types rt ON rt.property_id = rp.property_id AND rt.id = rp.room_type_id
		WHERE p.code = $1 ORDER BY rt.code, rp.code`, property)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (RatePlan, error) {
		var rp RatePlan
		err := r.Scan(&rp.ID, &rp.Code, &rp.Name, &rp.RoomType)
		return rp, err
	})
}

// channelColumns are the columns scanChannel reads, in its order.
const channelColumns = `id, code, name, kind, enabled, hotel_code, endpoint, rate_limit, horizon_days,
	inbound_auth, envelope, ari_message, ari_level, pull_url, pull_interval_s, pull_modify_url`

// scanChannel reads channelColumns, then the extra columns into extra.
func scanChannel(r pgx.Row, extra ...any) (Channel, error) {
	var c Channel
	err := r.Scan(append([]any{&c.ID, &c.Code, &c.Name, &c.Kind, &c.Enabled, &c.HotelCode, &c.Endpoint, &c.RateLimit, &c.HorizonDays,
		&c.InboundAuth, &c.Envelope, &c.ARIMessage, &c.ARILevel, &c.PullURL, &c.PullInterval, &c.PullModifyURL}, extra...)...)
	return c, err
}

// CreateChannel adds a channel to a property.
func (s *Store) CreateChannel(ctx context.Context, property string, c Channel, by Actor) (Channel, error) {
	if err := validCode("channel", c.Code); err != nil {
		return c, err
	}
	if !c.Kind.Valid() {
		return c, Errorf(EINVALID, "channel %s: kind %q is not one of ota_push, ota_pull, gds, ical, pms", c.Code, c.Kind)
	}
	if c.RateLimit < 0 {
		return c, Errorf(EINVALID, "channel %s: rate limit must not be negative", c.Code)
	}
	if c.HorizonDays == 0 {
		c.HorizonDays = 365
	}
	if c.HorizonDays < 1 || c.HorizonDays > MaxRangeNights {
		return c, Errorf(EINVALID, "channel %s: horizon must be 1–%d days", c.Code, MaxRangeNights)
	}
	if err := c.OTASettings.validate(c.Code); err != nil {
		return c, err
	}
	if err := CheckHotelCode(c); err != nil {
		return c, err
	}
	if c.Name == "" {
		c.Name = c.Code
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		prop, err := propertyByCode(ctx, tx, property)
		if err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `INSERT INTO channels (property_id, code, name, kind, enabled, hotel_code, endpoint, rate_limit, horizon_days,
				inbound_auth, envelope, ari_message, ari_level, pull_url, pull_interval_s, pull_modify_url)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id`,
			prop.ID, c.Code, c.Name, string(c.Kind), c.Enabled, c.HotelCode, c.Endpoint, c.RateLimit, c.HorizonDays,
			c.InboundAuth, c.Envelope, c.ARIMessage, c.ARILevel, c.PullURL, c.PullInterval, c.PullModifyURL).Scan(&c.ID)
		if err != nil {
			return conflictOnDuplicate(err, "channel %s already exists in property %s", c.Code, property)
		}
		return audit(ctx, tx, prop.ID, by, "channel.create", "channel "+c.Code, c)
	})
	return c, err
}

// Channels lists a property's channels by code.
func (s *Store) Channels(ctx context.Context, property string) ([]Channel, error) {
	rows, _ := s.db.Query(ctx, `SELECT `+channelColumns+` FROM channels
		WHERE property_id = (SELECT id FROM properties WHERE code = $1) ORDER BY code`, property)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Channel, error) { return scanChannel(r) })
}

// SetMapping maps a channel's room (and rate) code to our room type (and
// rate plan), replacing an earlier mapping of the same codes. Then the
// channel's parked bookings it covers take their rooms (MapRoom, remap.go).
func (s *Store) SetMapping(ctx context.Context, property, channel string, m Mapping, by Actor) error {
	_, err := s.MapRoom(ctx, property, channel, m, by)
	return err
}

// setMapping stores the mapping.
func (s *Store) setMapping(ctx context.Context, property, channel string, m Mapping, by Actor) error {
	if m.ChannelRoom == "" {
		return Errorf(EINVALID, "mapping: the channel's room code is required")
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		prop, err := propertyByCode(ctx, tx, property)
		if err != nil {
			return err
		}
		var chID, rtID int64
		var rpID *int64
		var kind ChannelKind
		if err := tx.QueryRow(ctx, `SELECT id, kind FROM channels WHERE property_id = $1 AND code = $2`, prop.ID, channel).Scan(&chID, &kind); err != nil {
			return notFound(err, "channel %s does not exist in property %s", channel, property)
		}
		if err := CheckMappingCodes(kind, channel, m); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT id FROM room_types WHERE property_id = $1 AND code = $2`, prop.ID, m.RoomType).Scan(&rtID); err != nil {
			return notFound(err, "room type %q does not exist in property %s", m.RoomType, property)
		}
		if m.RatePlan != "" {
			var id int64
			if err := tx.QueryRow(ctx, `SELECT id FROM rate_plans WHERE property_id = $1 AND room_type_id = $2 AND code = $3`,
				prop.ID, rtID, m.RatePlan).Scan(&id); err != nil {
				return notFound(err, "rate plan %q does not exist for room type %s", m.RatePlan, m.RoomType)
			}
			rpID = &id
		}
		_, err = tx.Exec(ctx, `INSERT INTO mappings (property_id, channel_id, channel_room, channel_rate, room_type_id, rate_plan_id)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (property_id, channel_id, channel_room, channel_rate)
			DO UPDATE SET room_type_id = EXCLUDED.room_type_id, rate_plan_id = EXCLUDED.rate_plan_id`,
			prop.ID, chID, m.ChannelRoom, m.ChannelRate, rtID, rpID)
		if err != nil {
			return err
		}
		return audit(ctx, tx, prop.ID, by, "mapping.set", fmt.Sprintf("channel %s room %s rate %s", channel, m.ChannelRoom, strconv.Quote(m.ChannelRate)), m)
	})
}

// Mappings lists a channel's mappings.
func (s *Store) Mappings(ctx context.Context, property, channel string) ([]Mapping, error) {
	rows, _ := s.db.Query(ctx, `SELECT m.channel_room, m.channel_rate, rt.code, coalesce(rp.code, '')
		FROM mappings m
		JOIN properties p ON p.id = m.property_id
		JOIN channels c ON c.property_id = m.property_id AND c.id = m.channel_id
		JOIN room_types rt ON rt.property_id = m.property_id AND rt.id = m.room_type_id
		LEFT JOIN rate_plans rp ON rp.property_id = m.property_id AND rp.id = m.rate_plan_id
		WHERE p.code = $1 AND c.code = $2 ORDER BY m.channel_room, m.channel_rate`, property, channel)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Mapping, error) {
		var m Mapping
		err := r.Scan(&m.ChannelRoom, &m.ChannelRate, &m.RoomType, &m.RatePlan)
		return m, err
	})
}

// MappedChannels is the codes of a property's channels that have at least
// one mapping: a channel of a pushed kind without one is sent nothing.
func (s *Store) MappedChannels(ctx context.Context, property string) (map[string]bool, error) {
	rows, _ := s.db.Query(ctx, `SELECT c.code FROM channels c JOIN properties p ON p.id = c.property_id
		WHERE p.code = $1 AND EXISTS (SELECT 1 FROM mappings m WHERE m.property_id = c.property_id AND m.channel_id = c.id)`, property)
	codes, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(codes))
	for _, c := range codes {
		out[c] = true
	}
	return out, nil
}

// PoolPatch changes a pool's name, and its units and factor on every night
// from today on except where staff set the night's own (EditNights); nil
// fields stay as they are.
type PoolPatch struct {
	Name              *string
	Units             *int
	OverbookingFactor *Factor
}

// UpdatePool changes a pool's units and factor (and name). Every night from
// today on takes them — booked ones too — except where staff set the night's
// own on a range (EditNights); a night whose limit falls below what it has
// sold keeps every booking and raises an overbooking incident. The fan-out
// is told about every night from today on.
func (s *Store) UpdatePool(ctx context.Context, property, code string, p PoolPatch, by Actor) (Pool, error) {
	if p.Units != nil && (*p.Units < 0 || *p.Units > 100000) {
		return Pool{}, Errorf(EINVALID, "pool %s: units must be between 0 and 100000", code)
	}
	if p.OverbookingFactor != nil {
		if err := p.OverbookingFactor.Validate(); err != nil {
			return Pool{}, err
		}
	}
	var out Pool
	err := s.inOutboxTx(ctx, func(tx pgx.Tx) error {
		prop, err := propertyByCode(ctx, tx, property)
		if err != nil {
			return err
		}
		var factor *int
		if p.OverbookingFactor != nil {
			f := int(*p.OverbookingFactor)
			factor = &f
		}
		err = tx.QueryRow(ctx, `UPDATE pools SET name = coalesce($3, name), units = coalesce($4, units),
				overbooking_factor = coalesce($5::numeric / 100, overbooking_factor)
			WHERE property_id = $1 AND code = $2
			RETURNING id, code, name, units, (overbooking_factor * 100)::int`, prop.ID, code, p.Name, p.Units, factor).
			Scan(&out.ID, &out.Code, &out.Name, &out.Units, &out.OverbookingFactor)
		if err != nil {
			return notFound(err, "pool %s does not exist in property %s", code, property)
		}
		if p.Units != nil || p.OverbookingFactor != nil {
			loc, err := prop.Location()
			if err != nil {
				return err
			}
			today := prop.Tonight(time.Now(), loc)
			end := today.AddDays(MaxRangeNights)
			w := &writer{}
			if err := newPoolValues(ctx, tx, w, prop.ID, out, p, today, end, by); err != nil {
				return err
			}
			var ob outboxColumns
			ob.availability(prop.ID, []poolRange{{Pool: out.ID, From: today, To: end}}, 0, true, time.Time{})
			ob.queue(w)
			if err := w.send(ctx, tx); err != nil {
				return err
			}
		}
		return audit(ctx, tx, prop.ID, by, "pool.update", "pool "+code, out)
	})
	return out, err
}

// newPoolValues gives pool's new units and factor (as p patches them) to its
// nights [from, to) that have none of their own, under their locks. Nights
// without a row would take them from the pool when first booked anyway, but
// every night of the range is locked (and so made): a booking committing
// meanwhile cannot make one from the pool's old values. Nights booked
// further ahead than to take them too.
func newPoolValues(ctx context.Context, tx pgx.Tx, w *writer, propID int64, pool Pool, p PoolPatch, from, to Date, by Actor) error {
	rows, _ := tx.Query(ctx, `SELECT night FROM nights WHERE property_id = $1 AND pool_id = $2 AND night >= $3 ORDER BY night`,
		propID, pool.ID, to)
	beyond, err := pgx.CollectRows(rows, pgx.RowTo[Date])
	if err != nil {
		return err
	}
	keys := make([]nightKey, 0, to.Sub(from)+len(beyond))
	for _, d := range append(Nights(from, to), beyond...) {
		keys = append(keys, nightKey{Pool: pool.ID, Night: d})
	}
	locked, err := lockNights(ctx, tx, keys, func(int64) int64 { return propID })
	if err != nil {
		return err
	}
	set := map[Date]nightFlags{}
	frows, _ := tx.Query(ctx, `SELECT night, units_set, factor_set FROM nights
		WHERE property_id = $1 AND pool_id = $2 AND night >= $3 AND night < $4 AND (units_set OR factor_set)`, propID, pool.ID, from, to)
	var night Date
	var f nightFlags
	if _, err := pgx.ForEachRow(frows, []any{&night, &f.units, &f.factor}, func() error { set[night] = f; return nil }); err != nil {
		return err
	}
	for _, n := range locked {
		units, factor := n.Units, n.Factor
		if p.Units != nil && !set[n.Night].units {
			units = *p.Units
		}
		if p.OverbookingFactor != nil && !set[n.Night].factor {
			factor = *p.OverbookingFactor
		}
		n.setLimit(units, factor)
	}
	w.saveNights(locked)
	w.raiseWentOver(locked, "pool's limit lowered by "+by.String(), pool.Code)
	return nil
}

// ChannelPatch changes a channel's settings; nil fields stay as they are.
type ChannelPatch struct {
	Name         *string
	Enabled      *bool
	HotelCode    *string
	Endpoint     *string
	RateLimit    *int
	HorizonDays  *int
	InboundAuth  *string
	Envelope     *string
	ARIMessage   *string
	ARILevel     *string
	PullURL      *string
	PullInterval *int
	// PullModifyURL sets the channel's modification queue
	// (OTASettings.PullModifyURL).
	PullModifyURL *string
}

// UpdateChannel changes a channel's settings (not its kind or code).
func (s *Store) UpdateChannel(ctx context.Context, property, code string, c ChannelPatch, by Actor) (Channel, error) {
	if c.RateLimit != nil && *c.RateLimit < 0 {
		return Channel{}, Errorf(EINVALID, "channel %s: rate limit must not be negative", code)
	}
	if c.HorizonDays != nil && (*c.HorizonDays < 1 || *c.HorizonDays > MaxRangeNights) {
		return Channel{}, Errorf(EINVALID, "channel %s: horizon must be 1–%d days", code, MaxRangeNights)
	}
	if c.Name != nil && *c.Name == "" {
		return Channel{}, Errorf(EINVALID, "channel %s: the name must not be empty", code)
	}
	var out Channel
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		prop, err := propertyByCode(ctx, tx, property)
		if err != nil {
			return err
		}
		cur, err := scanChannel(tx.QueryRow(ctx, `SELECT `+channelColumns+` FROM channels WHERE property_id = $1 AND code = $2 FOR UPDATE`, prop.ID, code))
		if err != nil {
			return notFound(err, "channel %s does not exist in property %s", code, property)
		}
		o := cur.OTASettings
		set(&o.InboundAuth, c.InboundAuth)
		set(&o.Envelope, c.Envelope)
		set(&o.ARIMessage, c.ARIMessage)
		set(&o.ARILevel, c.ARILevel)
		set(&o.PullURL, c.PullURL)
		set(&o.PullInterval, c.PullInterval)
		set(&o.PullModifyURL, c.PullModifyURL)
		if err := o.validate(code); err != nil {
			return err
		}
		if c.HotelCode != nil {
			if err := CheckHotelCode(Channel{Kind: cur.Kind, Code: code, HotelCode: *c.HotelCode}); err != nil {
				return err
			}
		}
		out, err = scanChannel(tx.QueryRow(ctx, `UPDATE channels SET name = coalesce($3, name), enabled = coalesce($4, enabled),
				enabled_at = CASE WHEN $4 AND NOT enabled THEN now() ELSE enabled_at END,
				hotel_code = coalesce($5, hotel_code), endpoint = coalesce($6, endpoint), rate_limit = coalesce($7, rate_limit),
				horizon_days = coalesce($8, horizon_days),
				inbound_auth = $9, envelope = $10, ari_message = $11, pull_url = $12, pull_interval_s = $13, pull_modify_url = $14,
				ari_level = $15
			WHERE property_id = $1 AND code = $2
			RETURNING `+channelColumns,
			prop.ID, code, c.Name, c.Enabled, c.HotelCode, c.Endpoint, c.RateLimit, c.HorizonDays,
			o.InboundAuth, o.Envelope, o.ARIMessage, o.PullURL, o.PullInterval, o.PullModifyURL, o.ARILevel))
		if err != nil {
			return err
		}
		if out.Kind == ChannelOTAPull && (out.PullURL != cur.PullURL || out.PullModifyURL != cur.PullModifyURL ||
			out.Enabled && !cur.Enabled || out.HotelCode != cur.HotelCode || out.Envelope != cur.Envelope) {
			if err := pollSoon(ctx, tx, prop.ID, out.ID); err != nil {
				return err
			}
		}
		return audit(ctx, tx, prop.ID, by, "channel.update", "channel "+code, out)
	})
	return out, err
}

// pollSoon makes the next poll of a pull-mode channel due at once, after a
// change to what its polls fetch or how (its pull URLs, credentials, hotel
// code, envelope, or the channel enabled): a poll that failed for a wrong
// setting, or left reservations unacknowledged for naming another hotel,
// is tried again with the corrected one, not a whole poll interval later
// (sync's scheduler polls a channel whose sync_channels.pulled_at is NULL
// first).
func pollSoon(ctx context.Context, tx pgx.Tx, property, channel int64) error {
	_, err := tx.Exec(ctx, `UPDATE sync_channels SET pulled_at = NULL WHERE property_id = $1 AND channel_id = $2`, property, channel)
	return err
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// DeleteMapping removes the mapping of a channel's room and rate codes.
// Bookings already taken keep their room type. It reports whether the
// item the mapping sent the channel is to be closed there (no mapping
// left sends it): the next delivery to the channel sends it 0.
func (s *Store) DeleteMapping(ctx context.Context, property, channel, room, rate string, by Actor) (closed bool, err error) {
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		prop, err := propertyByCode(ctx, tx, property)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM mappings m USING channels c
			WHERE m.property_id = $1 AND c.property_id = m.property_id AND c.id = m.channel_id AND c.code = $2
				AND m.channel_room = $3 AND m.channel_rate = $4`, prop.ID, channel, room, rate)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return Errorf(ENOTFOUND, "channel %s has no mapping for room %q rate %q", channel, room, rate)
		}
		// The item the mapping made the channel be sent — its room code, or
		// at the rate level its room and rate pair — is closed on the
		// channel if no mapping left sends it: a channel told nothing more
		// of a room goes on selling the last count it had (the next delivery
		// sends it 0 for its horizon, sync_closures). At the rate level, a
		// room code mapped only with the empty rate code was sent as an item
		// of its own only while no rate of it was mapped.
		tag, err = tx.Exec(ctx, `
			INSERT INTO sync_closures (property_id, channel_id, channel_room, channel_rate)
			SELECT c.property_id, c.id, $3, CASE WHEN c.ari_level = 'rate' THEN $4 ELSE '' END
			FROM channels c
			WHERE c.property_id = $1 AND c.code = $2 AND c.kind NOT IN ('pms', 'ical') -- not pushed availability
				AND NOT EXISTS (SELECT 1 FROM mappings m WHERE m.property_id = c.property_id AND m.channel_id = c.id
					AND m.channel_room = $3 AND (c.ari_level <> 'rate' OR $4 = '' OR m.channel_rate = $4))
			ON CONFLICT (property_id, channel_id, channel_room, channel_rate) DO UPDATE SET created_at = now()`,
			prop.ID, channel, room, rate)
		if err != nil {
			return err
		}
		closed = tag.RowsAffected() > 0
		return audit(ctx, tx, prop.ID, by, "mapping.delete", fmt.Sprintf("channel %s room %s rate %s", channel, room, strconv.Quote(rate)), nil)
	})
	return closed, err
}
