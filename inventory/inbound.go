package inventory

import (
	"context"
	"crypto/hmac"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// InboundMessage is a raw message a channel sent (pushed to us, or fetched
// by a pull-mode poller) with what became of it.
type InboundMessage struct {
	ID         int64     `json:"id"`
	Property   string    `json:"property,omitempty"` // "" when it could not be told
	Channel    string    `json:"channel"`            // the code the message was addressed to
	ReceivedAt time.Time `json:"received_at"`
	Direction  string    `json:"direction"` // push or pull
	Remote     string    `json:"remote,omitempty"`
	Message    string    `json:"message,omitempty"` // e.g. OTA_HotelResNotifRQ
	EchoToken  string    `json:"echo_token,omitempty"`
	Records    int       `json:"records"`
	// Outcome: ok, partial (some records were not applied), failed (none
	// was, or the message could not be read), unauthenticated.
	Outcome    string `json:"outcome"`
	HTTPStatus int    `json:"http_status"`
	Detail     string `json:"detail,omitempty"` // errors and warnings, for staff
	// Raw and Reply are stored with card data masked, Raw capped at
	// MaxStoredMessage bytes.
	Raw   string `json:"raw"`
	Reply string `json:"reply,omitempty"`
}

// MaxStoredMessage is the most of a raw inbound message that is kept.
const MaxStoredMessage = 4 << 20

// Unauthenticated messages are kept so that staff and operators can see why
// a sender is refused, but at most UnauthenticatedPerSender from one address
// and UnauthenticatedPerWindow from all within UnauthenticatedWindow:
// anyone can send them, and kept without a bound they could fill the disk.
const (
	UnauthenticatedWindow    = 10 * time.Minute
	UnauthenticatedPerSender = 20
	UnauthenticatedPerWindow = 200
)

// RecordInbound keeps a raw inbound message and its outcome. Card numbers
// and CVV are masked in the message, the reply and the detail (errors can
// quote what was sent) before they are stored. A pulled message that
// carried no record and was read (a poll that found the queue empty)
// replaces the channel's previous one of that kind: polls come every
// minute, and kept each they filled the channel's messages with identical
// empty answers, the ones that brought bookings out of sight.
// It returns the message's id, or 0 for an unauthenticated message beyond
// the bounds above, which is not kept. A message of no property (its sender
// did not authenticate, or named no property keyrack has) is kept under
// none, apart, with ids of its own.
func (s *Store) RecordInbound(ctx context.Context, m InboundMessage) (int64, error) {
	raw := MaskAndCut(m.Raw, MaxStoredMessage)
	if m.HTTPStatus == 0 {
		m.HTTPStatus = 200
	}
	// The message is a log of what arrived, not the booking (which its
	// revision keeps, durably): it is written without waiting for the WAL
	// flush, in one round trip.
	var id int64
	err := s.pipelinedTx(ctx, func(c dbtx) error {
		b := &pgx.Batch{}
		b.Queue("BEGIN")
		b.Queue("SET LOCAL synchronous_commit = off")
		// A message keyrack cannot attribute to a property — its sender
		// did not authenticate — is kept apart, so that inbound_messages
		// is keyed by property like every table growing with traffic.
		b.Queue(`WITH target AS (
				SELECT p.id AS property_id, c.id AS channel_id
				FROM (SELECT 1) one
				LEFT JOIN properties p ON p.code = $1 AND $8 <> 'unauthenticated'
				LEFT JOIN channels c ON c.property_id = p.id AND c.code = $2
			), attributed AS (
				INSERT INTO inbound_messages (property_id, channel_id, channel_code, direction, remote,
					message, echo_token, records, outcome, http_status, detail, raw, reply)
				SELECT property_id, channel_id, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12
				FROM target WHERE property_id IS NOT NULL
				RETURNING id
			), emptied AS (
				DELETE FROM inbound_messages m USING target t
				WHERE $16 AND m.property_id = t.property_id AND m.channel_id = t.channel_id
					AND m.direction = 'pull' AND m.records = 0 AND m.outcome = 'ok' AND m.message = $5
			), unattributed AS (
				INSERT INTO inbound_unattributed (channel_code, direction, remote,
					message, echo_token, records, outcome, http_status, detail, raw, reply)
				SELECT $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12
				FROM target WHERE property_id IS NULL AND ($8 <> 'unauthenticated' OR (
					(SELECT count(*) FROM (SELECT FROM inbound_unattributed u WHERE u.outcome = 'unauthenticated'
						AND u.received_at > now() - $13::interval AND u.remote = $4 LIMIT $14) AS sender) < $14
					AND (SELECT count(*) FROM (SELECT FROM inbound_unattributed u WHERE u.outcome = 'unauthenticated'
						AND u.received_at > now() - $13::interval LIMIT $15) AS every) < $15))
				RETURNING id
			)
			SELECT id FROM attributed UNION ALL SELECT id FROM unattributed`,
			m.Property, m.Channel, m.Direction, cleanText(m.Remote), cleanText(m.Message), cleanText(m.EchoToken), m.Records,
			m.Outcome, m.HTTPStatus, cleanText(MaskCardString(m.Detail)), cleanText(raw), cleanText(MaskCardString(m.Reply)),
			UnauthenticatedWindow, UnauthenticatedPerSender, UnauthenticatedPerWindow,
			m.Direction == "pull" && m.Records == 0 && m.Outcome == "ok").
			QueryRow(func(r pgx.Row) error {
				if err := r.Scan(&id); !errors.Is(err, pgx.ErrNoRows) {
					return err
				}
				return nil // not kept
			})
		b.Queue("COMMIT")
		return c.SendBatch(ctx, b).Close()
	})
	return id, err
}

// InboundMessages lists the latest raw messages of a property's channel
// (every channel when channel is ""), newest first.
func (s *Store) InboundMessages(ctx context.Context, property, channel string, limit int) ([]InboundMessage, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, _ := s.db.Query(ctx, `SELECT m.id, p.code, m.channel_code, m.received_at, m.direction, m.remote, m.message,
			m.echo_token, m.records, m.outcome, m.http_status, m.detail, m.raw, m.reply
		FROM inbound_messages m JOIN properties p ON p.id = m.property_id
		WHERE p.code = $1 AND ($2 = '' OR m.channel_code = $2)
		ORDER BY m.id DESC LIMIT $3`, property, channel, limit)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (InboundMessage, error) {
		var m InboundMessage
		err := r.Scan(&m.ID, &m.Property, &m.Channel, &m.ReceivedAt, &m.Direction, &m.Remote, &m.Message,
			&m.EchoToken, &m.Records, &m.Outcome, &m.HTTPStatus, &m.Detail, &m.Raw, &m.Reply)
		return m, err
	})
}

// prefixed qualifies each column of a comma-separated list with p.
func prefixed(p, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// InboundChannel is a channel that messages addressed to its code may come
// from, with what authenticates them.
type InboundChannel struct {
	Channel
	Property string // the property's code
	// InboundUser is the user name (or RequestorID) the channel presents.
	InboundUser string
	secretHash  []byte
}

// InboundChannels lists the channels of the given kinds that have this
// code, in every property, enabled or not: disabling a channel stops what
// keyrack sends it, while the bookings it has already confirmed to guests
// must still be recorded. One channel account at an OTA can serve
// several hotels, which the message's hotel code then tells apart. Only the
// channels whose inbound user name is one of users come back (all when users
// is nil): a channel code like "booking" is every property's, and a request
// presents one account.
func (s *Store) InboundChannels(ctx context.Context, code string, users []string, kinds ...ChannelKind) ([]InboundChannel, error) {
	ks := make([]string, len(kinds))
	for i, k := range kinds {
		ks[i] = string(k)
	}
	rows, _ := s.db.Query(ctx, `SELECT `+prefixed("c.", channelColumns)+`, p.code, c.inbound_username, c.inbound_secret_hash
		FROM channels c JOIN properties p ON p.id = c.property_id
		WHERE c.code = $1 AND c.kind = ANY($2) AND ($3::text[] IS NULL OR c.inbound_username = ANY($3))
		ORDER BY p.code`, code, ks, users)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (InboundChannel, error) {
		var ic InboundChannel
		var err error
		ic.Channel, err = scanChannel(r, &ic.Property, &ic.InboundUser, &ic.secretHash)
		return ic, err
	})
}

// Authenticates reports whether user and secret are the channel's inbound
// credentials, comparing in constant time. A channel without an inbound
// secret authenticates nobody.
func (ic InboundChannel) Authenticates(sec *Secrets, user, secret string) bool {
	if sec == nil || ic.secretHash == nil {
		return false
	}
	okUser := hmac.Equal([]byte(user), []byte(ic.InboundUser))
	okSecret := hmac.Equal(sec.Hash(secret), ic.secretHash)
	return okUser && okSecret
}

// MapStays fills in the room type and rate plan of each stay from a
// channel's mappings (Store.Mappings) of its ChannelRoom and ChannelRate:
// the mapping of both codes, else the room's mapping for any rate. A stay
// whose codes are not mapped keeps an empty room type, so the booking is
// parked.
func MapStays(ms []Mapping, stays []RoomStay) {
	for i := range stays {
		st := &stays[i]
		var room *Mapping
		for j := range ms {
			m := &ms[j]
			if m.ChannelRoom != st.ChannelRoom {
				continue
			}
			if m.ChannelRate == st.ChannelRate {
				room = m
				break
			}
			if m.ChannelRate == "" {
				room = m
			}
		}
		if room != nil {
			st.RoomType, st.RatePlan = room.RoomType, room.RatePlan
		}
	}
}
