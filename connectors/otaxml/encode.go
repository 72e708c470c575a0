package otaxml

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/keyrack/keyrack/connectors"
	"github.com/keyrack/keyrack/inventory"
)

// wrapping is everything the envelope writer needs besides the OTA element.
// It is shared by every reply and every outbound message.
type wrapping struct {
	env                Envelope
	username, password string // wsse:Security/UsernameToken when username is set
	// WS-Addressing (SOAP 1.2).
	messageID, relatesTo, action, to string
	correlationID                    string // htnga:CorrelationID, echoed
}

// document puts ota in its envelope and writes the XML.
func (w wrapping) document(ota *etree.Element) []byte {
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	if w.env == Raw {
		doc.SetRoot(ota)
	} else {
		ns, p := nsSOAP11, "soap"
		if w.env == SOAP12 {
			ns, p = nsSOAP12, "env"
		}
		env := doc.CreateElement(p + ":Envelope")
		env.CreateAttr("xmlns:"+p, ns)
		hd := env.CreateElement(p + ":Header")
		if w.env == SOAP12 {
			hd.CreateAttr("xmlns:wsa", nsWSA)
			add := func(tag, v string) {
				if v != "" {
					hd.CreateElement("wsa:" + tag).SetText(v)
				}
			}
			add("MessageID", w.messageID)
			add("RelatesTo", w.relatesTo)
			add("Action", w.action)
			add("To", w.to)
			if w.correlationID != "" {
				c := hd.CreateElement("htnga:CorrelationID")
				c.CreateAttr("xmlns:htnga", nsHTNGA)
				c.SetText(w.correlationID)
			}
		}
		if w.username != "" {
			sec := hd.CreateElement("wsse:Security")
			sec.CreateAttr("xmlns:wsse", nsWSSE)
			tok := sec.CreateElement("wsse:UsernameToken")
			tok.CreateElement("wsse:Username").SetText(w.username)
			pw := tok.CreateElement("wsse:Password")
			pw.CreateAttr("Type", passwordText)
			pw.SetText(w.password)
		}
		env.CreateElement(p + ":Body").AddChild(ota)
	}
	b, err := doc.WriteToBytes()
	if err != nil { // writing to memory does not fail
		panic(err)
	}
	return b
}

// replyWrapping answers m in its own envelope.
func replyWrapping(m *Message, rs string) wrapping {
	if m == nil {
		return wrapping{}
	}
	w := wrapping{env: m.Envelope, relatesTo: m.MessageID, to: m.ReplyTo, correlationID: m.HTNGCorrelationID}
	if m.Envelope == SOAP12 {
		w.messageID = newMessageID()
		w.action = NS + "/" + rs
		if m.Action != "" {
			w.action = m.Action + "Response"
		}
	}
	return w
}

// outWrapping addresses a message keyrack sends.
func outWrapping(o Out, name string) wrapping {
	w := wrapping{env: o.Envelope, username: o.Username, password: o.Password}
	if o.Envelope == SOAP12 {
		w.messageID, w.to, w.action = o.MessageID, o.To, NS+"/"+name
		if w.messageID == "" {
			w.messageID = newMessageID()
		}
	}
	return w
}

// newMessageID is a random (version 4) UUID URN for wsa:MessageID.
func newMessageID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

var decimalRE = regexp.MustCompile(`^[+-]?(\d+(\.\d*)?|\.\d+)$`)

// otaRoot starts an OTA element with the namespace on it and the payload
// attributes: Version (the request's when it is a decimal, else 1.0), a
// new TimeStamp, the EchoToken echoed.
func otaRoot(name, version, echo string, now time.Time) *etree.Element {
	e := etree.NewElement(name)
	e.CreateAttr("xmlns", NS)
	if echo = clip(strings.TrimSpace(echo), 128); echo != "" {
		e.CreateAttr("EchoToken", echo)
	}
	if now.IsZero() {
		now = time.Now()
	}
	e.CreateAttr("TimeStamp", now.Format(time.RFC3339))
	if !decimalRE.MatchString(version) {
		version = "1.0"
	}
	e.CreateAttr("Version", version)
	return e
}

// echoTarget puts on a reply the Target its request named (Test or
// Production, whatever the case it came in; any other value is not one
// the schema allows, and is not echoed).
func echoTarget(rs *etree.Element, m *Message) {
	switch {
	case m.IsTest():
		rs.CreateAttr("Target", "Test")
	case strings.EqualFold(strings.TrimSpace(m.Target), "Production"):
		rs.CreateAttr("Target", "Production")
	}
}

// writeErrors adds Errors (or Warnings when warn) holding errs.
func writeErrors(parent *etree.Element, warn bool, errs []Error) {
	if len(errs) == 0 {
		return
	}
	list, item := "Errors", "Error"
	if warn {
		list, item = "Warnings", "Warning"
	}
	l := parent.CreateElement(list)
	for _, e := range errs {
		x := l.CreateElement(item)
		typ := e.Type
		if typ <= 0 {
			typ = TypeUnknown
		}
		x.CreateAttr("Type", strconv.Itoa(typ))
		if e.Code > 0 {
			x.CreateAttr("Code", strconv.Itoa(e.Code))
		}
		if e.Status != "" {
			x.CreateAttr("Status", e.Status)
		}
		if e.RecordID != "" {
			x.CreateAttr("RecordID", e.RecordID)
		}
		if e.Msg != "" {
			x.SetText(e.Msg)
		}
	}
}

// rsName is the RS answering the RQ called name.
func rsName(name string) string {
	switch name {
	case "OTA_HotelResRQ", "OTA_HotelResModifyNotifRQ", "OTA_CancelRQ", "OTA_HotelAvailNotifRQ",
		"OTA_HotelInvCountNotifRQ", "OTA_HotelRateAmountNotifRQ", "OTA_HotelResNotifRQ":
		return strings.TrimSuffix(name, "RQ") + "RS"
	}
	return "OTA_HotelResNotifRS"
}

// channelID is the record's own id and the type it came with.
func channelID(r Reservation) ResID {
	for _, id := range r.IDs {
		if id.Value == r.ID {
			if id.Type == "" {
				id.Type = "14"
			}
			return id
		}
	}
	return ResID{Type: "14", Value: r.ID}
}

// writeReservation adds a HotelReservation (or HotelResModify) naming the
// channel's id as UniqueID and both ids in HotelReservationIDs: the
// channel's with its own type (when it is not 14) and ours as Type 14.
func writeReservation(parent *etree.Element, tag string, res Result) *etree.Element {
	hr := parent.CreateElement(tag)
	ch := channelID(res.Record)
	if ch.Value != "" {
		u := hr.CreateElement("UniqueID")
		u.CreateAttr("Type", ch.Type)
		u.CreateAttr("ID", ch.Value)
	}
	if (ch.Value == "" || ch.Type == "14") && res.OurID == "" {
		return hr
	}
	global := hr.CreateElement("ResGlobalInfo")
	ids := global.CreateElement("HotelReservationIDs")
	if ch.Value != "" && ch.Type != "14" {
		h := ids.CreateElement("HotelReservationID")
		h.CreateAttr("ResID_Type", ch.Type)
		h.CreateAttr("ResID_Value", ch.Value)
		if ch.Source != "" {
			h.CreateAttr("ResID_Source", ch.Source)
		}
	}
	if res.OurID != "" {
		h := ids.CreateElement("HotelReservationID")
		h.CreateAttr("ResID_Type", "14")
		h.CreateAttr("ResID_Value", res.OurID)
	}
	propertyInfo(global, res.Record.HotelCode)
	return hr
}

// hotelResStatus is a record's outcome (Result.Status) as its
// HotelReservation's ResStatus, which the 2015B schema types
// HotelResStatusType (a PMS status such as Reserved or Cancelled, a
// transaction action, or a 1–2 letter code) where the root's
// ResResponseType takes a TransactionStatusType (Committed, Modified,
// Cancelled, Pending, Ignored…): the state the reservation is left in,
// Reserved for a booking made or changed and Cancelled for a cancellation;
// "" for Pending and Ignored, which no HotelResStatusType value says.
func hotelResStatus(status string) string {
	switch status {
	case "Committed", "Modified":
		return "Reserved"
	case "Cancelled":
		return "Cancelled"
	}
	return ""
}

// propertyInfo ends a ResGlobalInfo with the BasicPropertyInfo the 2015B
// schema requires there.
func propertyInfo(global *etree.Element, hotel string) {
	bpi := global.CreateElement("BasicPropertyInfo")
	if hotel != "" {
		bpi.CreateAttr("HotelCode", hotel)
	}
}

// Reply is the RS answering m (OTA_HotelResNotifRQ → OTA_HotelResNotifRS,
// OTA_HotelResModifyNotifRQ → OTA_HotelResModifyNotifRS, OTA_CancelRQ →
// OTA_CancelRS, OTA_HotelResRQ → OTA_HotelResRS), in m's envelope, with the
// EchoToken and Target echoed, a new TimeStamp and, for SOAP 1.2 with a
// MessageID, wsa:RelatesTo. Successful records are listed with the
// channel's id and ours (Type 14) and the state each is left in
// (hotelResStatus); the root's ResResponseType (an OTA_CancelRS's Status)
// is their outcome when every record had the same one. A successful
// record's warnings carry its RecordID and Status Complete. Failed records
// become Warnings with their RecordID and Status NotProcessed; when every record failed the
// reply is Errors, and so it is for a reservation message for a test
// system (Target Test) that holds no record (TestRefused).
func Reply(m *Message, results []Result, now time.Time) []byte {
	if m == nil {
		m = &Message{}
	}
	var done []Result
	var failed []Error
	var warns []Error
	for _, r := range results {
		if r.Err != nil {
			e := *r.Err
			if e.RecordID == "" && r.Record.Record > 0 {
				e.RecordID = strconv.Itoa(r.Record.Record)
			}
			if e.Status == "" {
				e.Status = "NotProcessed"
			}
			failed = append(failed, e)
			continue
		}
		done = append(done, r)
		for _, w := range r.Warnings {
			// A taken record's warning (parked, overbooked…) names its
			// record too, or a batch's sender cannot tell which it is
			// about; Complete says the record was taken all the same.
			if w.RecordID == "" && r.Record.Record > 0 {
				w.RecordID = strconv.Itoa(r.Record.Record)
			}
			if w.Status == "" {
				w.Status = "Complete"
			}
			warns = append(warns, w)
		}
	}
	if len(results) > 0 && len(done) == 0 {
		errs := make([]*Error, len(failed))
		for i := range failed {
			errs[i] = &failed[i]
		}
		return ErrorReply(m, errs, now)
	}
	if len(results) == 0 && m.IsTest() && m.IsReservation() {
		return ErrorReply(m, []*Error{TestRefused()}, now)
	}
	name := rsName(m.Name)
	rs := otaRoot(name, m.Version, m.EchoToken, now)
	echoTarget(rs, m)
	// The root speaks for every record only when they all had the same
	// outcome; otherwise each HotelReservation says its own.
	status := ""
	if len(failed) == 0 && len(done) > 0 {
		status = done[0].Status
		for _, r := range done[1:] {
			if r.Status != status {
				status = ""
				break
			}
		}
	}
	switch name {
	case "OTA_CancelRS":
		rs.CreateAttr("Status", first(status, "Cancelled"))
	case "OTA_HotelResNotifRS", "OTA_HotelResRS", "OTA_HotelResModifyNotifRS":
		if status != "" {
			rs.CreateAttr("ResResponseType", status)
		}
	}
	rs.CreateElement("Success")
	writeErrors(rs, true, append(failed, warns...))
	switch name {
	case "OTA_CancelRS":
		for _, r := range done {
			ch := channelID(r.Record)
			if ch.Value != "" {
				u := rs.CreateElement("UniqueID")
				u.CreateAttr("Type", ch.Type)
				u.CreateAttr("ID", ch.Value)
			}
		}
	case "OTA_HotelResNotifRS", "OTA_HotelResRS", "OTA_HotelResModifyNotifRS":
		if len(done) > 0 {
			list, item := "HotelReservations", "HotelReservation"
			if name == "OTA_HotelResModifyNotifRS" {
				list, item = "HotelResModifies", "HotelResModify"
			}
			l := rs.CreateElement(list)
			for _, r := range done {
				hr := writeReservation(l, item, r)
				if st := hotelResStatus(r.Status); st != "" {
					hr.CreateAttr("ResStatus", st)
				}
			}
		}
	}
	return replyWrapping(m, name).document(rs)
}

// ErrorReply answers a message that could not be processed at all (bad
// credentials, unreadable, unknown hotel) with Errors, in the RS matching
// m.Name (OTA_HotelResNotifRS when unknown) and m's envelope, its
// EchoToken and Target echoed; m may be nil.
func ErrorReply(m *Message, errs []*Error, now time.Time) []byte {
	if m == nil {
		m = &Message{}
	}
	name := rsName(m.Name)
	rs := otaRoot(name, m.Version, m.EchoToken, now)
	echoTarget(rs, m)
	if name == "OTA_CancelRS" {
		rs.CreateAttr("Status", "Unsuccessful")
	}
	list := make([]Error, 0, len(errs))
	for _, e := range errs {
		if e != nil {
			list = append(list, *e)
		}
	}
	if len(list) == 0 {
		list = append(list, Error{Type: TypeUnknown, Msg: "the message was not processed"})
	}
	writeErrors(rs, false, list)
	return replyWrapping(m, name).document(rs)
}

// DefaultMaxMessage is the largest availability message keyrack sends when
// the connector sets no other: 1 MiB, envelope included. SiteMinder's
// pmsXchange refuses messages over 2 MB with a SOAP fault, and a full
// resync of a large hotel is several times that.
const DefaultMaxMessage = 1 << 20

// ARIMessage is one message of an availability push: Count items of the
// update from index First, encoded as Name.
type ARIMessage struct {
	Name  string
	First int
	Count int
	Body  []byte
}

// ariShape is what tells the two availability messages apart: the RQ's
// name, the element listing the items and one item's element, given its
// 1-based position in the message.
type ariShape struct {
	name, list string
	item       func(it connectors.Availability, n int) *etree.Element
}

var (
	availNotif      = ariShape{"OTA_HotelAvailNotifRQ", "AvailStatusMessages", availStatusMessage}
	availLimitNotif = ariShape{"OTA_HotelAvailNotifRQ", "AvailStatusMessages", bookingLimitMessage}
	invCountNotif   = ariShape{"OTA_HotelInvCountNotifRQ", "Inventories", inventoryElement}
)

// EncodeAvailNotif encodes items as an OTA_HotelAvailNotifRQ: one
// AvailStatusMessage per item with BookingLimit (SetLimit), its 1-based
// position as LocatorID and RestrictionStatus Open, or Close when nothing
// can be sold; StatusApplicationControl Start/End inclusive (End =
// item.To - 1 day), InvTypeCode, and RatePlanCode when the item names a
// rate.
func EncodeAvailNotif(o Out, items []connectors.Availability) []byte {
	return availNotif.encode(o, items)
}

// EncodeInvCountNotif encodes items as an OTA_HotelInvCountNotifRQ with
// CountType 2 (definitive availability) and inclusive End.
func EncodeInvCountNotif(o Out, items []connectors.Availability) []byte {
	return invCountNotif.encode(o, items)
}

// EncodeARI encodes items as OTA_HotelAvailNotifRQ (message "avail", or
// "avail_limit" for BookingLimit without RestrictionStatus) or
// OTA_HotelInvCountNotifRQ ("invcount") in as many messages as it takes
// for each, envelope included, to be at most limit bytes
// (DefaultMaxMessage when limit <= 0). The messages take the items in
// order, so a room's ranges go out in the order given; a message holds at
// least one item, however long. When there are several, each has its own
// EchoToken: o's followed by "-" and the message's position.
func EncodeARI(o Out, message string, items []connectors.Availability, limit int) ([]ARIMessage, error) {
	s, err := ariShapeOf(message)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = DefaultMaxMessage
	}
	if body := s.encode(o, items); len(body) <= limit || len(items) < 2 {
		return []ARIMessage{{Name: s.name, Count: len(items), Body: body}}, nil
	}
	// Without indentation, a message is its envelope and list (the same
	// for every message of the push, but for the EchoToken) followed by
	// each item's element: sizes add up. An item's size is taken at the
	// largest position it can have (its LocatorID's digits), so a message
	// is never larger than its sizes say.
	sizes := make([]int, len(items))
	var buf bytes.Buffer
	for i, it := range items {
		buf.Reset()
		s.item(it, len(items)).WriteTo(&buf, &etree.WriteSettings{})
		sizes[i] = buf.Len()
	}
	var msgs []ARIMessage
	for first := 0; first < len(items); {
		mo := o
		if o.EchoToken != "" {
			mo.EchoToken = o.EchoToken + "-" + strconv.Itoa(len(msgs)+1)
		}
		size := len(s.encode(mo, items[first:first+1]))
		n := 1
		for first+n < len(items) && size+sizes[first+n] <= limit {
			size += sizes[first+n]
			n++
		}
		body := s.encode(mo, items[first:first+n])
		for len(body) > limit && n > 1 { // the sizes did not add up after all
			n--
			body = s.encode(mo, items[first:first+n])
		}
		msgs = append(msgs, ARIMessage{Name: s.name, First: first, Count: n, Body: body})
		first += n
	}
	return msgs, nil
}

// ariShapeOf is the shape of the channel's availability message: "avail"
// (or ""), "avail_limit" or "invcount".
func ariShapeOf(message string) (ariShape, error) {
	switch message {
	case "", "avail":
		return availNotif, nil
	case "avail_limit":
		return availLimitNotif, nil
	case "invcount":
		return invCountNotif, nil
	}
	return ariShape{}, fmt.Errorf("message %q: want avail, avail_limit or invcount", message)
}

func (s ariShape) encode(o Out, items []connectors.Availability) []byte {
	rq := otaRoot(s.name, "1.0", o.EchoToken, o.TimeStamp)
	list := rq.CreateElement(s.list)
	if o.HotelCode != "" {
		list.CreateAttr("HotelCode", o.HotelCode)
	}
	for i, it := range items {
		list.AddChild(s.item(it, i+1))
	}
	return outWrapping(o, s.name).document(rq)
}

// availStatusMessage is item it at position pos: its LocatorID, which a
// channel's RS names in RecordID to refuse the item.
func availStatusMessage(it connectors.Availability, pos int) *etree.Element {
	a := bookingLimitMessage(it, pos)
	status := "Open"
	if it.Available <= 0 {
		status = "Close"
	}
	a.CreateElement("RestrictionStatus").CreateAttr("Status", status)
	return a
}

// bookingLimitMessage is availStatusMessage without its RestrictionStatus:
// the rooms to sell only ("avail_limit"), 0 for a closed or full night.
func bookingLimitMessage(it connectors.Availability, pos int) *etree.Element {
	a := etree.NewElement("AvailStatusMessage")
	a.CreateAttr("BookingLimit", strconv.Itoa(max(it.Available, 0)))
	a.CreateAttr("BookingLimitMessageType", "SetLimit")
	a.CreateAttr("LocatorID", strconv.Itoa(pos))
	writeControl(a, it)
	return a
}

// inventoryElement is item it; an Inventory has no LocatorID (a channel's
// RecordID names its position all the same).
func inventoryElement(it connectors.Availability, _ int) *etree.Element {
	inv := etree.NewElement("Inventory")
	writeControl(inv, it)
	c := inv.CreateElement("InvCounts").CreateElement("InvCount")
	c.CreateAttr("Count", strconv.Itoa(max(it.Available, 0)))
	c.CreateAttr("CountType", "2")
	return inv
}

func writeControl(parent *etree.Element, it connectors.Availability) {
	sac := parent.CreateElement("StatusApplicationControl")
	end := it.To.AddDays(-1)
	if end.Before(it.From) {
		end = it.From
	}
	sac.CreateAttr("Start", it.From.String())
	sac.CreateAttr("End", end.String())
	sac.CreateAttr("InvTypeCode", it.Room)
	if it.Rate != "" {
		sac.CreateAttr("RatePlanCode", it.Rate)
	}
}

// EncodeResNotif encodes reservations as the OTA_HotelResNotifRQ a channel
// sends, in o's envelope with o's credentials: UniqueID Type 14, and when
// every record is of one kind, root ResStatus Commit, Modify or Cancel with
// HotelReservation ResStatus Reserved or Cancelled. A batch of mixed kinds
// (a pull queue serving new bookings, changes and cancellations together)
// has no root ResStatus, since one transaction action cannot speak for all
// of them, and each HotelReservation says its own: Reserved, Modify or
// Cancelled.
//
// A record's CreateDateTime and LastModifyDateTime carry milliseconds (as
// many channels' do): keyrack orders a reservation's changes by them, and
// a channel can change a booking twice within a second.
func EncodeResNotif(o Out, rs []Reservation) []byte {
	const name = "OTA_HotelResNotifRQ"
	rq := otaRoot(name, "1.0", o.EchoToken, o.TimeStamp)
	mixed := slices.ContainsFunc(rs, func(r Reservation) bool { return r.Kind != rs[0].Kind })
	if !mixed {
		root := "Commit"
		if len(rs) > 0 {
			switch rs[0].Kind {
			case inventory.Modify:
				root = "Modify"
			case inventory.Cancel:
				root = "Cancel"
			}
		}
		rq.CreateAttr("ResStatus", root)
	}
	list := rq.CreateElement("HotelReservations")
	for _, r := range rs {
		hr := list.CreateElement("HotelReservation")
		if !r.Created.IsZero() {
			hr.CreateAttr("CreateDateTime", r.Created.Format(stampLayout))
		}
		if !r.LastModified.IsZero() {
			hr.CreateAttr("LastModifyDateTime", r.LastModified.Format(stampLayout))
		}
		status := "Reserved"
		switch {
		case r.Kind == inventory.Cancel:
			status = "Cancelled"
		case r.Kind == inventory.Modify && mixed:
			status = "Modify"
		}
		hr.CreateAttr("ResStatus", status)
		u := hr.CreateElement("UniqueID")
		u.CreateAttr("Type", "14")
		u.CreateAttr("ID", r.ID)
		if len(r.Stays) > 0 {
			stays := hr.CreateElement("RoomStays")
			for _, s := range r.Stays {
				writeStay(stays.CreateElement("RoomStay"), s, first(s.HotelCode, r.HotelCode, o.HotelCode))
			}
		}
		if r.Guest.Name != "" {
			writeGuest(hr, r.Guest)
		}
		if r.Total != "" {
			global := hr.CreateElement("ResGlobalInfo")
			t := global.CreateElement("Total")
			t.CreateAttr("AmountAfterTax", r.Total)
			if r.Currency != "" {
				t.CreateAttr("CurrencyCode", r.Currency)
			}
			propertyInfo(global, first(r.HotelCode, o.HotelCode))
		}
	}
	return outWrapping(o, name).document(rq)
}

func writeStay(rs *etree.Element, s Stay, hotel string) {
	if s.RoomType != "" {
		rs.CreateElement("RoomTypes").CreateElement("RoomType").CreateAttr("RoomTypeCode", s.RoomType)
	}
	if s.RatePlan != "" {
		rs.CreateElement("RatePlans").CreateElement("RatePlan").CreateAttr("RatePlanCode", s.RatePlan)
	}
	rr := rs.CreateElement("RoomRates").CreateElement("RoomRate")
	if s.RoomType != "" {
		rr.CreateAttr("RoomTypeCode", s.RoomType)
	}
	if s.RatePlan != "" {
		rr.CreateAttr("RatePlanCode", s.RatePlan)
	}
	rr.CreateAttr("NumberOfUnits", strconv.Itoa(max(s.Units, 1)))
	if s.Adults > 0 || s.Children > 0 {
		gcs := rs.CreateElement("GuestCounts")
		for _, g := range []struct {
			aqc string
			n   int
		}{{"10", s.Adults}, {"8", s.Children}} {
			if g.n > 0 {
				gc := gcs.CreateElement("GuestCount")
				gc.CreateAttr("AgeQualifyingCode", g.aqc)
				gc.CreateAttr("Count", strconv.Itoa(g.n))
			}
		}
	}
	ts := rs.CreateElement("TimeSpan")
	ts.CreateAttr("Start", s.Arrival.String())
	ts.CreateAttr("End", s.Departure.String())
	if hotel != "" {
		rs.CreateElement("BasicPropertyInfo").CreateAttr("HotelCode", hotel)
	}
}

func writeGuest(hr *etree.Element, g inventory.Guest) {
	c := hr.CreateElement("ResGuests").CreateElement("ResGuest").CreateElement("Profiles").
		CreateElement("ProfileInfo").CreateElement("Profile").CreateElement("Customer")
	pn := c.CreateElement("PersonName")
	words := strings.Fields(g.Name)
	if len(words) > 1 {
		pn.CreateElement("GivenName").SetText(strings.Join(words[:len(words)-1], " "))
	}
	pn.CreateElement("Surname").SetText(words[len(words)-1])
	if g.Phone != "" {
		c.CreateElement("Telephone").CreateAttr("PhoneNumber", g.Phone)
	}
	if g.Email != "" {
		c.CreateElement("Email").SetText(g.Email)
	}
}

// stampLayout is xs:dateTime with milliseconds.
const stampLayout = "2006-01-02T15:04:05.000Z07:00"

// EncodeResNotifRS is the acknowledgement keyrack sends a pull-mode channel
// for the reservations it committed: an OTA_HotelResNotifRS with Success and
// one HotelReservation per record naming the channel's id and ours.
func EncodeResNotifRS(o Out, results []Result) []byte {
	const name = "OTA_HotelResNotifRS"
	rs := otaRoot(name, "1.0", o.EchoToken, o.TimeStamp)
	rs.CreateElement("Success")
	var done []Result
	for _, r := range results {
		if r.Err == nil {
			done = append(done, r)
		}
	}
	if len(done) > 0 {
		l := rs.CreateElement("HotelReservations")
		for _, r := range done {
			writeReservation(l, "HotelReservation", r)
		}
	}
	return outWrapping(o, name).document(rs)
}
