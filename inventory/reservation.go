package inventory

import (
	"cmp"
	"crypto/sha256"
	"encoding/json"
	"slices"
	"time"
)

// RevisionKind is what a revision does to a reservation.
type RevisionKind string

// Revision kinds.
const (
	New    RevisionKind = "new"
	Modify RevisionKind = "modify"
	Cancel RevisionKind = "cancel"
)

func (k RevisionKind) rank() int {
	switch k {
	case New:
		return 0
	case Modify:
		return 1
	}
	return 2
}

// Mode is how a booking that does not fit the limit is treated.
type Mode string

// Acceptance modes (PRODUCT.md invariants 1 and 2).
const (
	// MustAccept is for bookings a channel has already confirmed to a guest:
	// they are always recorded; past the limit an overbooking incident is
	// raised and the night shows 0 everywhere.
	MustAccept Mode = "must_accept"
	// MayReject is for callers that can still say no (direct and PMS reserve
	// calls): past the limit the revision fails with a Conflict and nothing
	// is written.
	MayReject Mode = "may_reject"
)

// Status of a reservation.
type Status string

// Reservation statuses.
const (
	// Pending: only a cancellation has arrived; the booking it cancels has
	// not, so nothing is held (a modification states the whole booking and
	// holds its stays however early it comes).
	Pending   Status = "pending"
	Confirmed Status = "confirmed"
	Cancelled Status = "cancelled"
)

// RoomStay is one booked room (or several identical ones) for a stay.
type RoomStay struct {
	// RoomType is our room type code, filled in by the connector's mapping;
	// "" when the channel's room code is not mapped (the booking is then
	// kept but parked, and an alert raised).
	RoomType    string `json:"room_type,omitempty"`
	RatePlan    string `json:"rate_plan,omitempty"`
	ChannelRoom string `json:"channel_room,omitempty"`
	ChannelRate string `json:"channel_rate,omitempty"`
	Arrival     Date   `json:"arrival"`
	Departure   Date   `json:"departure"` // exclusive: the check-out day
	Rooms       int    `json:"rooms"`     // number of rooms of this kind, ≥ 1
	Adults      int    `json:"adults,omitempty"`
	Children    int    `json:"children,omitempty"`
}

// Guest is the lead guest of a reservation.
type Guest struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
	// Erased marks a guest whose personal data keyrack erased
	// (Store.EraseGuestData): it is all that is left of them. Only the
	// store sets it; a revision's own is ignored.
	Erased bool `json:"erased,omitempty"`
}

// Revision is one version of a reservation as a channel sent it. Modify
// revisions carry the whole reservation as it now stands, as OTA and PMS
// messages do; a Cancel needs no stays.
type Revision struct {
	Property   string       `json:"property"`
	Channel    string       `json:"channel"`
	ExternalID string       `json:"external_id"` // the channel's reservation id
	Kind       RevisionKind `json:"kind"`
	// Version is the channel's own revision number when it sends one;
	// SentAt its timestamp. They order revisions that arrive out of order:
	// by Version, then SentAt, then kind (new, modify, cancel), then arrival.
	Version  int64      `json:"version,omitempty"`
	SentAt   time.Time  `json:"sent_at,omitzero"`
	Stays    []RoomStay `json:"stays,omitempty"`
	Guest    Guest      `json:"guest,omitzero"`
	Total    string     `json:"total,omitempty"` // decimal amount, e.g. "280.00"
	Currency string     `json:"currency,omitempty"`

	Mode Mode `json:"-"`
	// ChannelSince is the earliest the channel may have made this change:
	// when keyrack received it (ApplyRevision sets that when it is unset or
	// later), or earlier — a pull-mode channel's sale can wait on the
	// channel until the next poll. The fan-out then does not count on the
	// channel's own count for the nights it changed if a delivery landed on
	// the channel after that time. It is not when the revision's group ran:
	// a group can wait for others under load, and a delivery that landed
	// while it waited landed after the channel sold. Not part of the
	// revision's content (Hash).
	ChannelSince time.Time `json:"-"`
	// Raw is the payload as received; card numbers and CVV are masked
	// before it is stored.
	Raw         []byte `json:"-"`
	ContentType string `json:"-"`
	Actor       Actor  `json:"-"`
}

// Hash identifies a revision's content: the same channel, reservation id and
// content is the same revision, however often it is delivered.
func (r Revision) Hash() []byte {
	b, _ := json.Marshal(r)
	h := sha256.Sum256(b)
	return h[:]
}

// Outcome is the result of applying a revision. Applying the same revision
// again returns the first outcome with Duplicate set.
type Outcome struct {
	ReservationID int64  `json:"reservation_id"`
	Revision      int    `json:"revision"` // sequence number of this revision on the reservation
	Status        Status `json:"status"`
	Duplicate     bool   `json:"duplicate,omitempty"`
	// Parked is set when a room stay's code is not mapped: the booking is
	// kept, holds no nights for that stay, and an alert is open.
	Parked bool `json:"parked,omitempty"`
	// Overbooked lists nights this revision pushed past their limit.
	Overbooked []Shortage `json:"overbooked,omitempty"`
	// Warnings are for the channel's reply (e.g. booking on a closed night).
	Warnings []string `json:"warnings,omitempty"`
	// GuestErased is set when the reservation's guest data is erased and
	// stays so: the revision, delivered again or a change after the
	// erasure, kept none of it. The message it came in must not be kept
	// either. Not stored: it is the reservation's state, not the
	// revision's.
	GuestErased bool `json:"-"`
}

// Shortage is a night that a booking did not fit.
type Shortage struct {
	Pool      string `json:"pool"`
	Night     Date   `json:"night"`
	Wanted    int    `json:"wanted"`
	Available int    `json:"available"`
}

// Reservation is the current state of a booking, folded from its revisions.
type Reservation struct {
	ID         int64      `json:"id"`
	Property   string     `json:"property"`
	Channel    string     `json:"channel"`
	ExternalID string     `json:"external_id"`
	Status     Status     `json:"status"`
	Parked     bool       `json:"parked"`
	Arrival    Date       `json:"arrival,omitzero"`
	Departure  Date       `json:"departure,omitzero"`
	Stays      []RoomStay `json:"stays"`
	Guest      Guest      `json:"guest"`
	Total      string     `json:"total,omitempty"`
	Currency   string     `json:"currency,omitempty"`
	Revisions  int        `json:"revisions"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	// GuestErasedAt is when the guest's personal data was erased; nil
	// while keyrack holds it.
	GuestErasedAt *time.Time `json:"guest_erased_at,omitempty"`
}

// RevisionRecord is a stored revision with its masked raw payload.
type RevisionRecord struct {
	Seq        int       `json:"seq"`
	Revision   Revision  `json:"revision"`
	ReceivedAt time.Time `json:"received_at"`
	Outcome    Outcome   `json:"outcome"`
	Raw        string    `json:"raw,omitempty"`
	Actor      string    `json:"actor"`
	// ContentHash is the revision's Hash as it was received: what a
	// delivery of the same content again is recognised by, also once the
	// guest's data in Revision is erased.
	ContentHash []byte `json:"-"`
}

// effective is the state a reservation is in after all its revisions are
// applied in the channel's order. It depends only on the set of revisions, so
// duplicates and out-of-order delivery end in the same state.
type effective struct {
	Status Status
	Stays  []RoomStay
	Guest  Guest
	Total  string
	Curr   string
}

// orderRevisions sorts revisions into the channel's order: by Version, then
// SentAt, then kind (new, modify, cancel), then arrival (seq).
//
// A change — a Modify or a Cancel — that carries no SentAt (an OTA_CancelRQ
// never does, nor do some channels' modifications) is not taken for older
// than every dated revision: it comes after the reservation's dated
// bookings and after every dated revision that arrived before it, and among
// changes so placed, modifications before cancellations, then by arrival.
// (Taken for the oldest, a cancellation received after a booking dated by
// its CreateDateTime was ordered before it and changed nothing, while the
// channel was told it was cancelled.) It is placed among the dated ones by
// their own timestamps, never by keyrack's clock: a channel's timestamps
// may be hours off keyrack's (a local time sent without its zone). A New
// without a SentAt stays the oldest: a booking comes before its changes.
func orderRevisions(revs []RevisionRecord) {
	type placed struct {
		rec  RevisionRecord
		at   time.Time
		rank int
	}
	ps := make([]placed, len(revs))
	for i, r := range revs {
		ps[i] = placed{rec: r, at: r.Revision.SentAt, rank: r.Revision.Kind.rank()}
		if !r.Revision.SentAt.IsZero() || r.Revision.Kind == New {
			continue
		}
		ps[i].rank += undatedChange
		for _, q := range revs {
			if !q.Revision.SentAt.IsZero() && (q.Seq < r.Seq || q.Revision.Kind == New) && q.Revision.SentAt.After(ps[i].at) {
				ps[i].at = q.Revision.SentAt
			}
		}
	}
	slices.SortStableFunc(ps, func(a, b placed) int {
		return cmp.Or(cmp.Compare(a.rec.Revision.Version, b.rec.Revision.Version), a.at.Compare(b.at),
			cmp.Compare(a.rank, b.rank), cmp.Compare(a.rec.Seq, b.rec.Seq))
	})
	for i := range ps {
		revs[i] = ps[i].rec
	}
}

// undatedChange ranks a change without a SentAt after the dated revisions
// it is placed with (orderRevisions).
const undatedChange = 3

// fold applies revisions in the channel's order. A New or a Modify states
// the whole booking (a Modify reinstates a cancelled one, as channels do), so
// a modification that arrives before its booking holds its stays at once: the
// channel has confirmed them to a guest, and the booking, when it comes, is
// older and changes nothing. A Cancel releases the booking; until a New or a
// Modify has arrived the reservation is Pending and holds nothing (only its
// cancellation is known).
func fold(revs []RevisionRecord) effective {
	orderRevisions(revs)
	e := effective{Status: Pending}
	for _, r := range revs {
		rv := r.Revision
		switch rv.Kind {
		case New, Modify:
			e = effective{Status: Confirmed, Stays: rv.Stays, Guest: rv.Guest, Total: rv.Total, Curr: rv.Currency}
		case Cancel:
			if e.Status != Pending {
				e.Status = Cancelled
			}
		}
	}
	return e
}
