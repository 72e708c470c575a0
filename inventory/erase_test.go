package inventory_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// A guest's personal data as channels send it: in the parsed guest and,
// with their address, special request and card holder, in the raw message.
var guestTraces = []string{"Zelie", "Quarnstrom", "zq@example.org", "+351 912 000 111", "Rua das Flores 12", "vegan breakfast", "ZELIE Q"}

func guestMessage(id string) []byte {
	return fmt.Appendf(nil, `<OTA_HotelResNotifRQ><HotelReservation><UniqueID Type="14" ID=%q/>`+
		`<Profile><Customer><PersonName><GivenName>Zelie</GivenName><Surname>Quarnstrom</Surname></PersonName>`+
		`<Telephone PhoneNumber="+351 912 000 111"/><Email>zq@example.org</Email><Address><AddressLine>Rua das Flores 12</AddressLine></Address>`+
		`</Customer></Profile><Comment>vegan breakfast</Comment><PaymentCard CardHolderName="ZELIE Q" CardNumber="xxxxxxxxxxxx1111"/>`+
		`</HotelReservation></OTA_HotelResNotifRQ>`, id)
}

func guestRevision(h *hotel, id string, kind inventory.RevisionKind, arrival inventory.Date, nights int) inventory.Revision {
	rev := h.booking("C0", id, kind, "R0", arrival.String(), nights, 1, inventory.MustAccept)
	rev.Guest = inventory.Guest{Name: "Zelie Quarnstrom", Email: "zq@example.org", Phone: "+351 912 000 111"}
	rev.Total, rev.Currency = "300.00", "EUR"
	rev.Raw, rev.ContentType = guestMessage(id), "application/xml"
	return rev
}

// tablesHolding names every table of the schema holding one of the
// traces, with how many rows (kept API answers read as text).
func tablesHolding(t *testing.T, db interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
	QueryRow(context.Context, string, ...any) pgx.Row
}, traces ...string) map[string]int {
	t.Helper()
	ctx := context.Background()
	rows, _ := db.Query(ctx, `SELECT table_name::text FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1`)
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Contains(t, tables, "reservation_revisions")
	like := make([]string, len(traces))
	for i, tr := range traces {
		like[i] = "%" + tr + "%"
	}
	out := map[string]int{}
	for _, table := range tables {
		var n int
		require.NoError(t, db.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM %s x WHERE to_jsonb(x)::text ILIKE ANY($1)`,
			pgx.Identifier{table}.Sanitize()), like).Scan(&n))
		if n > 0 {
			out[table] = n
		}
	}
	var n int
	require.NoError(t, db.QueryRow(ctx, `SELECT count(*) FROM idempotency_keys WHERE convert_from(response, 'UTF8') ILIKE ANY($1)`, like).Scan(&n))
	if n > 0 {
		out["idempotency_keys (answers)"] = n
	}
	return out
}

// keptAnswer keeps an API answer about reservation id, as the API's
// Idempotency-Key middleware does.
func keptAnswer(t *testing.T, h *hotel, key string, id int64, body string) {
	t.Helper()
	ctx := context.Background()
	k, _, err := h.st.CreateAPIKey(ctx, h.code, "pms "+key, inventory.System)
	require.NoError(t, err)
	req := inventory.IdempotentRequest{PropertyID: k.PropertyID, APIKeyID: k.ID, Key: key, Method: "PUT", Path: "/x", Body: []byte(key)}
	resp, err := h.st.ClaimIdempotencyKey(ctx, req)
	require.NoError(t, err)
	require.Nil(t, resp)
	require.NoError(t, h.st.CompleteIdempotencyKey(ctx, req, inventory.StoredResponse{Status: 200,
		ContentType: "application/json; charset=utf-8", Body: fmt.Appendf(nil, `{"reservation":{"id":%d,"guest":%s,"status":"confirmed"},"outcome":{"revision":2}}`, id, body)}))
}

// An erasure leaves no copy of the guest's data in any table — the
// reservation, its revisions' guests and raw messages, the inbound message
// that named it, the API's kept answer, the iCal event's summary — and
// keeps the booking: its status, stays, totals, the nights it held, its
// revisions with their content hashes; an audit entry says who erased it,
// and when, without the data. Another guest's data stays.
func TestErasingAGuestsDataLeavesNoCopyAndKeepsTheBooking(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "UTC", []int{5}, inventory.FactorOne, 1)
	ctx := context.Background()
	db := h.st.DB()
	today := inventory.LocalDate(time.Now(), time.UTC)
	arrival := today.AddDays(-10)

	out, err := h.st.ApplyRevision(ctx, guestRevision(h, "EXP-PAST-1", inventory.New, arrival, 3))
	require.NoError(t, err)
	id := out.ReservationID
	mod := guestRevision(h, "EXP-PAST-1", inventory.Modify, arrival, 2)
	mod.Version = 2
	_, err = h.st.ApplyRevision(ctx, mod)
	require.NoError(t, err)
	for _, raw := range [][]byte{guestMessage("EXP-PAST-1"), guestMessage("EXP-OTHER-9")} {
		_, err := h.st.RecordInbound(ctx, inventory.InboundMessage{Property: h.code, Channel: "C0", Direction: "push", Outcome: "ok", Raw: string(raw)})
		require.NoError(t, err)
	}
	keptAnswer(t, h, "k1", id, `{"name":"Zelie Quarnstrom","email":"zq@example.org"}`)
	keptAnswer(t, h, "k2", id+1000, `{"name":"Zelie Quarnstrom"}`) // another reservation's answer
	// Another guest's booking: left as it is.
	other := h.booking("C0", "EXP-OTHER-9", inventory.New, "R0", arrival.String(), 1, 1, inventory.MustAccept)
	other.Guest = inventory.Guest{Name: "Otto Keptmann"}
	_, err = h.st.ApplyRevision(ctx, other)
	require.NoError(t, err)

	before := tablesHolding(t, db, guestTraces...)
	require.Equal(t, map[string]int{"reservations": 1, "reservation_revisions": 2, "inbound_messages": 2, "idempotency_keys (answers)": 2}, before)
	type kept struct {
		Status, Stays, Total, Held string
		Revisions                  int
		Hashes                     string
	}
	read := func() kept {
		var k kept
		require.NoError(t, db.QueryRow(ctx, `SELECT r.status, r.stays::text, r.total::text, r.held::text, r.revisions,
				(SELECT string_agg(encode(content_hash, 'hex') || ' ' || kind || ' ' || (revision->'stays')::text, ',' ORDER BY seq)
				FROM reservation_revisions WHERE property_id = r.property_id AND reservation_id = r.id)
			FROM reservations r WHERE r.id = $1`, id).Scan(&k.Status, &k.Stays, &k.Total, &k.Held, &k.Revisions, &k.Hashes))
		return k
	}
	bookingBefore := read()
	nightsBefore := h.nights(t, arrival.String(), 3)

	e, err := h.st.EraseGuestData(ctx, h.code, id, inventory.Staff("anna"))
	require.NoError(t, err)
	require.False(t, e.AlreadyErased)
	require.Equal(t, int64(2), e.Revisions)
	require.Equal(t, int64(1), e.Messages, "the message naming the booking; not the other guest's")
	require.Equal(t, int64(1), e.KeptAnswers)

	require.Equal(t, map[string]int{"inbound_messages": 1, "idempotency_keys (answers)": 1}, tablesHolding(t, db, guestTraces...),
		"what is left is the other booking's message and the other reservation's answer")
	require.NotEmpty(t, tablesHolding(t, db, "Otto Keptmann"), "the other guest's data is not touched")
	require.Equal(t, bookingBefore, read(), "status, stays, total, nights held, revisions and their hashes stay")
	require.Equal(t, nightsBefore, h.nights(t, arrival.String(), 3), "the pool's nights stay")

	res, err := h.st.ReservationByID(ctx, h.code, id)
	require.NoError(t, err)
	require.Equal(t, inventory.ErasedGuest, res.Guest)
	require.NotNil(t, res.GuestErasedAt)
	require.Equal(t, inventory.Confirmed, res.Status)
	recs, err := h.st.Revisions(ctx, h.code, id)
	require.NoError(t, err)
	for _, r := range recs {
		require.Equal(t, inventory.ErasedGuest, r.Revision.Guest)
		require.Contains(t, r.Raw, "guest data erased")
		require.Contains(t, r.Raw, "by staff:anna")
		require.Len(t, r.Revision.Stays, 1)
	}
	var raw string
	require.NoError(t, db.QueryRow(ctx, `SELECT raw FROM inbound_messages WHERE raw NOT LIKE '%EXP-OTHER-9%'`).Scan(&raw))
	require.Contains(t, raw, "guest data erased")
	var answer []byte
	require.NoError(t, db.QueryRow(ctx, `SELECT response FROM idempotency_keys WHERE idem_key = 'k1'`).Scan(&answer))
	var replay map[string]map[string]any
	require.NoError(t, json.Unmarshal(answer, &replay))
	require.Equal(t, map[string]any{"erased": true}, replay["reservation"]["guest"])
	require.Equal(t, "confirmed", replay["reservation"]["status"], "the rest of the kept answer stays")

	audit, err := h.st.Audit(ctx, h.code, inventory.ReservationAuditSubject(id), 10)
	require.NoError(t, err)
	require.Equal(t, "reservation.erase_guest_data", audit[0].Action)
	require.Equal(t, "staff:anna", audit[0].Actor)
	b, _ := json.Marshal(audit[0].Details)
	for _, tr := range guestTraces {
		require.NotContains(t, string(b), tr)
	}

	again, err := h.st.EraseGuestData(ctx, h.code, id, inventory.Staff("anna"))
	require.NoError(t, err)
	require.True(t, again.AlreadyErased)
	require.WithinDuration(t, e.At, again.At, time.Millisecond)
}

// An OTA sending an old message again after the erasure is answered as
// the duplicate it is (recognised by its content hash) and changes
// nothing: no revision, no guest data back, the pool as it was.
func TestAMessageDeliveredAgainAfterAnErasureChangesNothing(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "UTC", []int{5}, inventory.FactorOne, 1)
	ctx := context.Background()
	arrival := inventory.LocalDate(time.Now(), time.UTC).AddDays(-5)
	rev := guestRevision(h, "EXP-DUP", inventory.New, arrival, 2)
	first, err := h.st.ApplyRevision(ctx, rev)
	require.NoError(t, err)
	cancel := guestRevision(h, "EXP-DUP", inventory.Cancel, arrival, 2)
	cancel.Stays = nil
	_, err = h.st.ApplyRevision(ctx, cancel)
	require.NoError(t, err)
	_, err = h.st.EraseGuestData(ctx, h.code, first.ReservationID, inventory.Staff("anna"))
	require.NoError(t, err)
	snapshot := func() string {
		var s string
		require.NoError(t, h.st.DB().QueryRow(ctx, `SELECT (SELECT to_jsonb(r)::text FROM reservations r WHERE id = $1) ||
			(SELECT string_agg(to_jsonb(v)::text, ',' ORDER BY seq) FROM reservation_revisions v WHERE reservation_id = $1) ||
			(SELECT count(*) FROM outbox)::text || (SELECT count(*) FROM audit_log)::text`, first.ReservationID).Scan(&s))
		return s
	}
	before, nights := snapshot(), h.nights(t, arrival.String(), 2)

	for _, again := range []inventory.Revision{rev, cancel} {
		out, err := h.st.ApplyRevision(ctx, again)
		require.NoError(t, err)
		require.True(t, out.Duplicate, "%s delivered again", again.Kind)
		require.True(t, out.GuestErased, "the caller is told not to keep the message")
		require.Equal(t, first.ReservationID, out.ReservationID)
	}
	require.Equal(t, before, snapshot())
	require.Equal(t, nights, h.nights(t, arrival.String(), 2))
	require.Empty(t, tablesHolding(t, h.st.DB(), guestTraces...))
}

// Erased stays erased: a later change of a stay that has ended keeps no
// guest data (the booking changes all the same: nothing is dropped). A
// cancelled booking erased and then reinstated by its channel for a stay
// to come is a booking the hotel needs its guest for: that revision is
// kept as it came, and the reservation is no longer erased.
func TestAChangeAfterAnErasureKeepsTheGuestErasedUnlessItReinstatesAStay(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "UTC", []int{5}, inventory.FactorOne, 1)
	ctx := context.Background()
	today := inventory.LocalDate(time.Now(), time.UTC)

	past := today.AddDays(-6)
	out, err := h.st.ApplyRevision(ctx, guestRevision(h, "EXP-LATE", inventory.New, past, 3))
	require.NoError(t, err)
	_, err = h.st.EraseGuestData(ctx, h.code, out.ReservationID, inventory.Staff("anna"))
	require.NoError(t, err)
	late := guestRevision(h, "EXP-LATE", inventory.Modify, past, 2) // a no-show night taken off afterwards
	late.Version = 2
	o, err := h.st.ApplyRevision(ctx, late)
	require.NoError(t, err)
	require.False(t, o.Duplicate)
	require.True(t, o.GuestErased)
	require.Equal(t, 0, h.nights(t, past.AddDays(2).String(), 1)["P0"][past.AddDays(2)].Sold, "the change applies")
	require.Empty(t, tablesHolding(t, h.st.DB(), guestTraces...))
	res, err := h.st.ReservationByID(ctx, h.code, out.ReservationID)
	require.NoError(t, err)
	require.Equal(t, inventory.ErasedGuest, res.Guest)
	require.NotNil(t, res.GuestErasedAt)
	again, err := h.st.ApplyRevision(ctx, late)
	require.NoError(t, err)
	require.True(t, again.Duplicate, "the late change delivered again is recognised")

	future := today.AddDays(30)
	out, err = h.st.ApplyRevision(ctx, guestRevision(h, "EXP-BACK", inventory.New, future, 2))
	require.NoError(t, err)
	cancel := guestRevision(h, "EXP-BACK", inventory.Cancel, future, 2)
	cancel.Stays, cancel.Version = nil, 2
	_, err = h.st.ApplyRevision(ctx, cancel)
	require.NoError(t, err)
	_, err = h.st.EraseGuestData(ctx, h.code, out.ReservationID, inventory.Staff("anna"))
	require.NoError(t, err, "a cancelled booking can be erased before its stay")
	back := guestRevision(h, "EXP-BACK", inventory.Modify, future, 2)
	back.Version = 3
	o, err = h.st.ApplyRevision(ctx, back)
	require.NoError(t, err)
	require.False(t, o.GuestErased)
	require.Equal(t, inventory.Confirmed, o.Status)
	res, err = h.st.ReservationByID(ctx, h.code, out.ReservationID)
	require.NoError(t, err)
	require.Equal(t, "Zelie Quarnstrom", res.Guest.Name, "the reinstated booking has its guest for check-in")
	require.Nil(t, res.GuestErasedAt)
	require.Equal(t, 1, h.nights(t, future.String(), 1)["P0"][future].Sold)
}

// A confirmed booking whose stay has not ended cannot be erased — nor on
// its check-out day —: the hotel needs its guest. The refusal says why and
// changes nothing. A pending one (only its cancellation came) can be.
func TestAGuestOfAStayNotEndedCannotBeErased(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "UTC", []int{5}, inventory.FactorOne, 1)
	ctx := context.Background()
	today := inventory.LocalDate(time.Now(), time.UTC)
	for _, c := range []struct {
		id      string
		arrival inventory.Date
		nights  int
	}{{"EXP-FUTURE", today.AddDays(20), 2}, {"EXP-NOW", today.AddDays(-1), 3}, {"EXP-CHECKOUT", today.AddDays(-2), 2}} {
		out, err := h.st.ApplyRevision(ctx, guestRevision(h, c.id, inventory.New, c.arrival, c.nights))
		require.NoError(t, err)
		_, err = h.st.EraseGuestData(ctx, h.code, out.ReservationID, inventory.Staff("anna"))
		require.Equal(t, inventory.ECONFLICT, inventory.ErrorCode(err), c.id)
		msg := inventory.ErrorMessage(err)
		require.Contains(t, msg, c.id)
		require.Contains(t, msg, "has not ended")
		require.Contains(t, msg, c.arrival.AddDays(c.nights).String()+" (check-out)")
		require.Contains(t, msg, "after check-out, or once the booking is cancelled")
	}
	require.Equal(t, map[string]int{"reservations": 3, "reservation_revisions": 3}, tablesHolding(t, h.st.DB(), guestTraces...))
	var audits int
	require.NoError(t, h.st.DB().QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'reservation.erase_guest_data'`).Scan(&audits))
	require.Zero(t, audits)

	cancel := guestRevision(h, "EXP-PENDING", inventory.Cancel, today, 1)
	cancel.Stays = nil
	out, err := h.st.ApplyRevision(ctx, cancel)
	require.NoError(t, err)
	require.Equal(t, inventory.Pending, out.Status)
	_, err = h.st.EraseGuestData(ctx, h.code, out.ReservationID, inventory.Staff("anna"))
	require.NoError(t, err)
	_, err = h.st.EraseGuestData(ctx, h.code, out.ReservationID+100, inventory.Staff("anna"))
	require.Equal(t, inventory.ENOTFOUND, inventory.ErrorCode(err))
}

// An iCal event's summary (a calendar platform may put the guest's name
// there) is erased with the booking, and a fetch of the calendar that
// still lists the event leaves it erased.
func TestAnErasedGuestsCalendarEventStaysErased(t *testing.T) {
	t.Parallel()
	h, feed := icalHotel(t)
	ctx := context.Background()
	loc, err := time.LoadLocation("Europe/Lisbon")
	require.NoError(t, err)
	now := time.Now()
	today := inventory.LocalDate(now, loc)
	event := inventory.CalendarEvent{UID: "hm123@vrbo", Arrival: today.AddDays(-15), Departure: today.AddDays(-12), Summary: "Zelie Quarnstrom (HM123)"}
	r, err := h.st.ImportCalendar(ctx, feed, []inventory.CalendarEvent{event}, nil, now.Add(-20*24*time.Hour))
	require.NoError(t, err)
	require.Equal(t, 1, r.New)
	require.Equal(t, map[string]int{"reservations": 1, "reservation_revisions": 1, "ical_events": 1}, tablesHolding(t, h.st.DB(), "Zelie"))
	var id int64
	require.NoError(t, h.st.DB().QueryRow(ctx, `SELECT id FROM reservations`).Scan(&id))

	e, err := h.st.EraseGuestData(ctx, h.code, id, inventory.Staff("anna"))
	require.NoError(t, err)
	require.Equal(t, int64(1), e.CalendarEvents)
	require.Empty(t, tablesHolding(t, h.st.DB(), "Zelie"))

	r, err = h.st.ImportCalendar(ctx, feed, []inventory.CalendarEvent{event}, nil, now)
	require.NoError(t, err)
	require.Equal(t, 1, r.Unchanged)
	require.Empty(t, tablesHolding(t, h.st.DB(), "Zelie"), "the fetch brings the summary back into no table")
}

// Erasing a booking whose id is a short number ("1") rewrites the messages
// that name it as a reservation id, not another booking's message in which
// the same value stands for something else (a count of rooms or guests):
// the other guest's message is kept whole.
func TestErasingABookingLeavesAnotherBookingsMessageThatMerelyHoldsItsId(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "UTC", []int{5}, inventory.FactorOne, 1)
	ctx := context.Background()
	arrival := inventory.LocalDate(time.Now(), time.UTC).AddDays(-10)
	out, err := h.st.ApplyRevision(ctx, guestRevision(h, "1", inventory.New, arrival, 2))
	require.NoError(t, err)
	other := []byte(`<OTA_HotelResNotifRQ><HotelReservation><UniqueID Type="14" ID="EXP-OTHER-9"/>` +
		`<RoomType RoomTypeCode="R0" NumberOfUnits="1"/><GuestCount Count="1"/><Count>1</Count><RatePlan RatePlanCode='1'/>` +
		`<PersonName><GivenName>Otto</GivenName><Surname>Keptmann</Surname></PersonName></HotelReservation></OTA_HotelResNotifRQ>`)
	for _, raw := range [][]byte{guestMessage("1"), other} {
		_, err := h.st.RecordInbound(ctx, inventory.InboundMessage{Property: h.code, Channel: "C0", Direction: "push", Outcome: "ok", Raw: string(raw)})
		require.NoError(t, err)
	}

	e, err := h.st.EraseGuestData(ctx, h.code, out.ReservationID, inventory.Staff("anna"))
	require.NoError(t, err)
	require.Equal(t, int64(1), e.Messages, "the message of booking 1, not the other one")
	require.Empty(t, tablesHolding(t, h.st.DB(), guestTraces...))
	require.Equal(t, map[string]int{"inbound_messages": 1}, tablesHolding(t, h.st.DB(), "Keptmann"), "the other guest's message is kept")
}

// The log entry of a message naming an erased booking keeps none of the
// guest's data: not the message, nor the errors found in it or keyrack's
// reply, which can quote what was sent.
func TestErasingAGuestsDataErasesWhatTheMessageLogQuotesOfIt(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "UTC", []int{5}, inventory.FactorOne, 1)
	ctx := context.Background()
	out, err := h.st.ApplyRevision(ctx, guestRevision(h, "EXP-Q-1", inventory.New, inventory.LocalDate(time.Now(), time.UTC).AddDays(-10), 2))
	require.NoError(t, err)
	_, err = h.st.RecordInbound(ctx, inventory.InboundMessage{Property: h.code, Channel: "C0", Direction: "push", Outcome: "partial",
		Raw: string(guestMessage("EXP-Q-1")), Detail: "record 1 (EXP-Q-1): Surname \"Quarnstrom\" is not a name keyrack takes",
		Reply: `<OTA_HotelResNotifRS><Warnings><Warning>Surname "Quarnstrom"</Warning></Warnings></OTA_HotelResNotifRS>`})
	require.NoError(t, err)
	_, err = h.st.EraseGuestData(ctx, h.code, out.ReservationID, inventory.Staff("anna"))
	require.NoError(t, err)
	require.Empty(t, tablesHolding(t, h.st.DB(), guestTraces...))
	var outcome, detail string
	require.NoError(t, h.st.DB().QueryRow(ctx, `SELECT outcome, detail FROM inbound_messages`).Scan(&outcome, &detail))
	require.Equal(t, "partial", outcome, "what became of it stays")
	require.Contains(t, detail, "guest data erased")
}
