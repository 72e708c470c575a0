package sync

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	gosync "sync"
	"time"

	"github.com/keyrack/keyrack/connectors/otaxml"
	"github.com/keyrack/keyrack/inventory"
)

// OTAChannel is the channel an OTA message came from, once authenticated:
// what it sends can only create or change that channel's own reservations.
type OTAChannel struct {
	Property  string // the property's code
	Code      string // the channel's code
	HotelCode string // the channel's code for the property
	// Pulled is set for reservations keyrack fetched from the channel,
	// LastFetch then being when it last got the channel's pending
	// reservations before (zero for the first time): a reservation served
	// now was made since, or is older and says when (LastModifyDateTime).
	// It becomes the revision's ChannelSince.
	Pulled    bool
	LastFetch time.Time
	// ReceivedAt is when a pushed message reached keyrack.
	ReceivedAt time.Time
}

// since is when the channel may have made rec (see OTAChannel): for a
// pushed message when it arrived (zero when unknown: ApplyRevision then
// takes its own time), or earlier when the reservation says, with its time
// zone, that it was made or changed before — a channel that could not reach
// keyrack sends its bookings again later, and availability keyrack pushed
// meanwhile overwrote the channel's own decrement; for a pulled reservation
// when keyrack last fetched the channel's, or earlier when the reservation
// says it was made or changed before.
func (ch OTAChannel) since(rec otaxml.Reservation) time.Time {
	if !ch.Pulled {
		if s := rec.ChangedAt(); !s.IsZero() && (ch.ReceivedAt.IsZero() || s.Before(ch.ReceivedAt)) {
			return s
		}
		return ch.ReceivedAt
	}
	at := ch.LastFetch
	stamp := rec.LastModified
	if stamp.IsZero() {
		stamp = rec.Created
	}
	if !stamp.IsZero() && (at.IsZero() || stamp.Before(at)) {
		at = stamp
	}
	return at
}

// KeptMessage is what keyrack keeps of an inbound message that brought
// results: the message itself, unless one of its records names a
// reservation whose guest data keyrack erased (an OTA sending an old
// message again): the whole message is then left out, for it holds that
// guest's data.
func KeptMessage(raw string, results []otaxml.Result) string {
	for _, r := range results {
		if r.GuestErased {
			return inventory.ErasedMessageNote
		}
	}
	return raw
}

// maxRawPerRevision is the largest message kept whole on each of its
// reservations' revisions; a bigger one (a batch of many reservations) is
// kept once, with the inbound messages, and each revision says where.
const maxRawPerRevision = 64 << 10

// maxParallelRecords bounds how many reservations of one message are
// applied at once.
const maxParallelRecords = 32

// ApplyOTA applies the reservation records of m, which the channel ch sent,
// and says what became of each. Records of one reservation are applied in
// message order; different reservations at once, so that group commit can
// take them into one transaction. Bookings are must-accept (the channel
// has confirmed them to a guest), idempotent by content (a retransmission
// is answered like the first delivery) and kept even when their codes are
// not mapped (parked, with an alert). A record that asks for nothing to
// change (a cancellation quote, the first step of a two-phase booking) is
// only answered. A record is refused only when it cannot be read, names
// another hotel, comes in a message for a test system (Target Test), or the
// database fails; the channel then sends it again.
func ApplyOTA(ctx context.Context, store *inventory.Store, ch OTAChannel, m *otaxml.Message, raw []byte) []otaxml.Result {
	results := make([]otaxml.Result, len(m.Reservations))
	mappings, mapErr := store.Mappings(ctx, ch.Property, ch.Code)
	var ids []string
	byID := map[string][]int{}
	for i, rec := range m.Reservations {
		results[i].Record = rec
		switch {
		case rec.Problem != nil:
			results[i].Err = rec.Problem
			continue
		case m.IsTest():
			// An OTA's test booking must not take a live room.
			results[i].Err = otaxml.TestRefused()
			continue
		case rec.HotelCode != "" && ch.HotelCode != "" && rec.HotelCode != ch.HotelCode:
			results[i].Err = otaxml.Errorf(otaxml.TypeBizRule, otaxml.CodeInvalidHotel,
				"hotel code %q is not the one this channel has for the property (%q)", rec.HotelCode, ch.HotelCode)
			continue
		case rec.AnswerOnly != "" && rec.Kind != inventory.Cancel:
			// The first step of a two-phase booking (or its discarding):
			// nothing is held, and the channel is told so.
			results[i].Status = rec.AnswerOnly
			results[i].Warnings = []otaxml.Error{{Type: otaxml.TypeAdvisory, Msg: answerOnlyNotice(rec)}}
			continue
		case rec.AnswerOnly != "":
			// A quote is for a reservation keyrack holds; of one it does not
			// know, saying "pending" would tell the channel it was found.
			switch _, err := store.Reservation(ctx, ch.Property, ch.Code, rec.ID); {
			case inventory.ErrorCode(err) == inventory.ENOTFOUND:
				results[i].Err = otaxml.Errorf(otaxml.TypeBizRule, otaxml.CodeInvalidConfirmation,
					"reservation %s of this channel is not known to keyrack: nothing to quote or cancel", rec.ID)
			case err != nil:
				results[i].Err = retryLater(err)
			default:
				results[i].Status = rec.AnswerOnly
				results[i].Warnings = []otaxml.Error{{Type: otaxml.TypeAdvisory, Msg: answerOnlyNotice(rec)}}
			}
			continue
		case mapErr != nil:
			results[i].Err = retryLater(mapErr)
			continue
		}
		if _, ok := byID[rec.ID]; !ok {
			ids = append(ids, rec.ID)
		}
		byID[rec.ID] = append(byID[rec.ID], i)
	}
	// Kept as text: a windows-1252 or ISO-8859-1 message keeps its letters.
	raw = otaxml.AsUTF8(raw)
	keep := raw
	if len(raw) > maxRawPerRevision {
		keep = fmt.Appendf(nil, "(one of %d reservations in a %d-byte %s; the whole message is kept with the channel's inbound messages)",
			len(m.Reservations), len(raw), m.Name)
	}
	sem := make(chan struct{}, maxParallelRecords)
	var wg gosync.WaitGroup
	for _, id := range ids {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			for _, i := range byID[id] {
				applyRecord(ctx, store, ch, mappings, &results[i], keep)
			}
		})
	}
	wg.Wait()
	for i := range results {
		if results[i].Err != nil && results[i].Err.RecordID == "" {
			results[i].Err.RecordID = strconv.Itoa(results[i].Record.Record)
		}
	}
	return results
}

func applyRecord(ctx context.Context, store *inventory.Store, ch OTAChannel, mappings []inventory.Mapping, res *otaxml.Result, raw []byte) {
	rec := res.Record
	rev := rec.Revision(ch.Property, ch.Code)
	rev.Raw, rev.ContentType = raw, "application/xml"
	rev.ChannelSince = ch.since(rec)
	inventory.MapStays(mappings, rev.Stays)
	out, err := store.ApplyRevision(ctx, rev)
	if err != nil {
		if inventory.ErrorCode(err) == inventory.EINTERNAL {
			res.Err = retryLater(err)
		} else {
			res.Err = otaxml.Errorf(otaxml.TypeBizRule, otaxml.CodeUnableToProcess, "%s", inventory.ErrorMessage(err))
		}
		return
	}
	res.OurID = strconv.FormatInt(out.ReservationID, 10)
	res.GuestErased = out.GuestErased
	switch {
	case out.Status == inventory.Pending:
		res.Status = "Pending"
		if rec.Kind != inventory.New {
			// Overtook its booking: kept, and applied when the booking
			// comes; the channel is told so, not left to guess.
			res.Warnings = append(res.Warnings, otaxml.Error{Type: otaxml.TypeAdvisory,
				Msg: "reservation " + rec.ID + ": its booking has not been received yet; this " + string(rec.Kind) +
					" is kept and applies when the booking comes"})
		}
	case rec.Kind == inventory.Cancel:
		res.Status = "Cancelled"
		if out.Status == inventory.Confirmed {
			// An older cancellation delivered late: taken, and superseded.
			res.Warnings = append(res.Warnings, otaxml.Error{Type: otaxml.TypeAdvisory,
				Msg: "reservation " + rec.ID + " stays confirmed: a modification made after this cancellation (by their timestamps) reinstated it"})
		}
	case out.Status == inventory.Cancelled:
		// A booking whose cancellation came first, or a modification
		// older than the cancellation (by their timestamps): taken, and
		// superseded. Answered Committed or Modified, the channel was
		// told the reservation Reserved while keyrack holds no room.
		res.Status = "Cancelled"
		res.Warnings = append(res.Warnings, otaxml.Error{Type: otaxml.TypeAdvisory,
			Msg: "reservation " + rec.ID + " stays cancelled: its cancellation, made after this " + string(rec.Kind) + " (by their timestamps) or received before its booking, stands"})
	case rec.Kind == inventory.Modify:
		res.Status = "Modified"
	default:
		res.Status = "Committed"
	}
	if out.Parked && rec.Kind != inventory.Cancel {
		// A cancellation releases what it cancels: no booking is "kept and
		// parked", whatever codes it names.
		var codes []string
		for _, st := range rev.Stays {
			if st.RoomType == "" {
				codes = append(codes, fmt.Sprintf("%s/%s", st.ChannelRoom, st.ChannelRate))
			}
		}
		res.Warnings = append(res.Warnings, otaxml.Error{Type: otaxml.TypeBizRule, Code: otaxml.CodeRoomRateNotFound,
			Msg: "room/rate " + strings.Join(codes, ", ") + " is not mapped: the booking is kept and parked for the hotel's staff"})
	}
	if len(out.Overbooked) > 0 {
		var nights []string
		for _, sh := range out.Overbooked {
			nights = append(nights, sh.Night.String())
		}
		res.Warnings = append(res.Warnings, otaxml.Error{Type: otaxml.TypeAdvisory,
			Msg: "the booking is kept but overbooks " + strings.Join(nights, ", ") + "; the hotel has been alerted"})
	}
	for _, w := range out.Warnings {
		res.Warnings = append(res.Warnings, otaxml.Error{Type: otaxml.TypeAdvisory, Msg: w})
	}
}

// answerOnlyNotice tells the channel why a record that asks keyrack to
// change nothing (otaxml.Reservation.AnswerOnly) changed nothing.
func answerOnlyNotice(rec otaxml.Reservation) string {
	switch {
	case rec.Kind == inventory.Cancel && rec.AnswerOnly == "Pending":
		return fmt.Sprintf("%s asks for the terms of a cancellation: reservation %s is not cancelled; "+
			"keyrack holds no cancellation terms (the hotel's apply). Send CancelType Commit to cancel it", rec.Action, rec.ID)
	case rec.Kind == inventory.Cancel:
		return fmt.Sprintf("%s: reservation %s is not cancelled", rec.Action, rec.ID)
	}
	which := "the reservation"
	if rec.ID != "" {
		which = "reservation " + rec.ID
	}
	if rec.AnswerOnly == "Pending" {
		return fmt.Sprintf("%s is the first step of a two-phase booking: %s is not booked and no room is held for it; "+
			"keyrack holds rooms only on Commit. Send ResStatus Commit to book it", rec.Action, which)
	}
	return fmt.Sprintf("%s: %s is not booked; keyrack holds rooms only on Commit, so nothing was held for it", rec.Action, which)
}

// retryLater is the record error for a failure on our side: the channel
// should send the record again; what went wrong stays in our logs.
func retryLater(err error) *otaxml.Error {
	slog.Error("ota: a reservation record could not be applied", "err", err)
	return otaxml.Errorf(otaxml.TypeProcessing, otaxml.CodeSystemError, "temporary failure at keyrack; please send the reservation again")
}
