package web

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/sync"
)

// The channels pages: a list of the property's channels with how each is
// doing (enabled, last good delivery, lag, failed pushes in the last hour,
// last error, dead letters), and one channel's page where staff fix what
// keeps it out of sync — its settings, mappings (and the codes it booked
// without one), credentials, iCal feeds and export tokens, the delivery log,
// dead-lettered deliveries and a full resync. Every change is a POST form
// (CSRF token, editors only) answered by a redirect back with a message,
// except those that reveal a new secret: their answer shows it, once.

// channelDeliveries is how many pushes the channel page lists.
const channelDeliveries = 50

// routeUIChannels registers the channels pages under /admin/p/:property.
func (s *Server) routeUIChannels(p *gin.RouterGroup) {
	p.GET("/channels", s.uiChannels)
	p.GET("/channels/:channel", s.uiChannel)
	ch := p.Group("/channels/:channel", s.requireEditor)
	ch.POST("/enabled", s.uiChannelEnabled)
	ch.POST("/settings", s.uiChannelSettings)
	ch.POST("/mappings", s.uiChannelSetMapping)
	ch.POST("/mappings/delete", s.uiChannelDeleteMapping)
	ch.POST("/credentials/inbound", s.uiChannelRotateInbound)
	ch.POST("/credentials/outbound", s.uiChannelSetOutbound)
	ch.POST("/feeds", s.uiChannelSetFeed)
	ch.POST("/feeds/:id/sync", s.uiChannelSyncFeed)
	ch.POST("/export-tokens", s.uiChannelCreateToken)
	ch.POST("/export-tokens/:id/rotate", s.uiChannelRotateToken)
	ch.POST("/export-tokens/:id/revoke", s.uiChannelRevokeToken)
	ch.POST("/resync", s.uiChannelResync)
	ch.POST("/dead-letters/retry", s.uiChannelRetryDeadLetter)
}

// channelSync is what the fan-out knows of a channel, for the list and the
// channel's page.
type channelSync struct {
	Status *sync.ChannelStatus
	Lag    string // "in sync", "pending for 3m", …
	Behind bool   // changes wait to be delivered
	// NotSent says why keyrack sends the channel nothing at all (notSent);
	// it is shown instead of Lag, which would read "in sync".
	NotSent      string
	FailuresHour int // failed pushes in the last hour
	DeadLetters  int // dead-lettered deliveries waiting for staff
}

// channelsData is the channels list.
type channelsData struct {
	Property string // its code, for links
	Rows     []channelListRow
	// SyncKnown: the fan-out is connected, so the sync columns are filled;
	// SyncProblem says why they are not when it is but failed.
	SyncKnown   bool
	SyncProblem string
}

type channelListRow struct {
	inventory.Channel
	channelSync
	StaleFeeds   int // iCal feeds with an open stale-feed incident
	StaleExports int // export calendars with an open stale-export incident
	// Of an iCal channel: its live export calendars, and when a platform
	// last fetched one of them.
	LiveExports int
	LastFetched *time.Time
}

// uiChannels lists the property's channels with their sync state.
func (s *Server) uiChannels(c *gin.Context) {
	ctx := c.Request.Context()
	prop := uiProp(c)
	chans, err := s.store.Channels(ctx, prop.Code)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	d := channelsData{Property: prop.Code, SyncKnown: s.fanout != nil}
	syncs, _, problem := s.channelSyncs(c, prop.Code)
	d.SyncProblem = problem
	incidents, err := s.store.Incidents(ctx, prop.Code, true)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	stale, staleExports := map[string]int{}, map[string]int{}
	for _, in := range incidents {
		ch, ok := in.Details["channel"].(string)
		switch {
		case ok && in.Kind == "stale_feed":
			stale[ch]++
		case ok && in.Kind == "stale_export":
			staleExports[ch]++
		}
	}
	exports, err := s.liveExports(ctx, prop.Code)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	mapped, err := s.store.MappedChannels(ctx, prop.Code)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	for _, ch := range chans {
		row := channelListRow{Channel: ch, channelSync: syncs[ch.Code], StaleFeeds: stale[ch.Code], StaleExports: staleExports[ch.Code]}
		row.NotSent = s.notSent(ch, mapped[ch.Code])
		if ch.Kind == inventory.ChannelICal {
			e := exports[ch.Code]
			row.LiveExports, row.LastFetched = e.live, e.lastFetched
		}
		d.Rows = append(d.Rows, row)
	}
	if c.GetHeader("HX-Request") != "" && c.Query("fragment") == "channels-table" {
		s.renderFragment(c, http.StatusOK, "channels", "channels-table", d)
		return
	}
	s.render(c, http.StatusOK, "channels", "Channels", "channels", d)
}

// liveExports is, by channel, how many live export calendars each has and
// when a platform last fetched one of them.
type liveExports struct {
	live        int
	lastFetched *time.Time
}

// liveExports reads the live export calendars of every channel of a
// property in one query, not one per iCal channel. (The store has no such
// query; it reads the same table as Store.ExportTokens.)
func (s *Server) liveExports(ctx context.Context, property string) (map[string]liveExports, error) {
	rows, _ := s.store.DB().Query(ctx, `SELECT c.code, count(*)::int, max(t.last_used_at)
		FROM ical_export_tokens t
		JOIN properties p ON p.id = t.property_id
		JOIN channels c ON c.property_id = t.property_id AND c.id = t.channel_id
		WHERE p.code = $1 AND t.revoked_at IS NULL
		GROUP BY c.code`, property)
	out := map[string]liveExports{}
	var code string
	var e liveExports
	_, err := pgx.ForEachRow(rows, []any{&code, &e.live, &e.lastFetched}, func() error {
		out[code] = e
		e = liveExports{} // a new time for the next row, not this one's overwritten
		return nil
	})
	return out, err
}

// channelSyncs reads the fan-out's state of every channel of a property;
// without a fan-out it is empty. A failure to read it is a message to show,
// not a failed page: the store's side of the page is still worth seeing.
func (s *Server) channelSyncs(c *gin.Context, property string) (map[string]channelSync, []sync.ArchivedTask, string) {
	out := map[string]channelSync{}
	if s.fanout == nil {
		return out, nil, ""
	}
	ctx := c.Request.Context()
	sts, err := s.fanout.Status(ctx, property)
	if err != nil {
		s.log.Error("ui: channel status", "property", property, "err", err)
		return out, nil, "The sync state could not be read just now; reload in a moment."
	}
	now := time.Now()
	for i := range sts {
		st := &sts[i]
		cs := channelSync{Status: st, Behind: !st.InSync}
		switch {
		case st.InSync:
			cs.Lag = "in sync"
		case st.DirtySince != nil:
			cs.Lag = "pending for " + lagText(now.Sub(*st.DirtySince))
		default:
			cs.Lag = "pending"
		}
		if st.Unrelayed > 0 && st.UnrelayedSince != nil {
			// Changes the channel is not marked dirty for yet (its dirty
			// nights do not count them): say why.
			changes := "changes"
			if st.Unrelayed == 1 {
				changes = "change"
			}
			cs.Lag += fmt.Sprintf(": %d %s not yet relayed (the fan-out's relay is behind or not running)", st.Unrelayed, changes)
			if !st.UnrelayedSince.Equal(*st.DirtySince) { // older marks wait too
				cs.Lag += " for " + lagText(now.Sub(*st.UnrelayedSince))
			}
		}
		if st.Closing > 0 {
			// No night is dirty: say what waits.
			rooms := "rooms"
			if st.Closing == 1 {
				rooms = "room"
			}
			cs.Lag += fmt.Sprintf(": %d %s to close on the channel (its last mapping deleted)", st.Closing, rooms)
		}
		out[st.Channel] = cs
	}
	problem := ""
	fails, err := s.fanout.DeliveryFailures(ctx, property, now.Add(-time.Hour))
	if err != nil {
		s.log.Error("ui: delivery failures", "property", property, "err", err)
		problem = "The delivery log could not be read just now; reload in a moment."
	}
	for code, n := range fails {
		cs := out[code]
		cs.FailuresHour = n
		out[code] = cs
	}
	archived, err := s.fanout.Archived(ctx)
	if err != nil {
		s.log.Error("ui: dead letters", "property", property, "err", err)
		problem = "The dead-lettered deliveries could not be read (is Redis up?)."
	}
	var mine []sync.ArchivedTask
	for _, a := range archived {
		if a.Property == property {
			cs := out[a.Channel]
			cs.DeadLetters++
			out[a.Channel] = cs
			mine = append(mine, a)
		}
	}
	return out, mine, problem
}

// pushes says whether ch is pushed availability (sync.Fanout.Pushes).
func (s *Server) pushes(ch inventory.Channel) bool {
	return s.fanout != nil && s.fanout.Pushes(ch.Kind)
}

// notSent says why keyrack pushes a channel of a pushed kind no
// availability at all, as the grid's marks do ("" when it pushes): the
// fan-out drops its changes, so it is always "in sync" without ever having
// been told a value. mapped says whether the channel has a mapping: one
// without sells no room of ours, so it is sent nothing either.
func (s *Server) notSent(ch inventory.Channel, mapped bool) string {
	switch {
	case !s.pushes(ch):
		return ""
	case !ch.Enabled:
		return "disabled"
	case ch.Endpoint == "":
		return "not pushed: no endpoint"
	case !mapped:
		return "not pushed: no room mapped"
	}
	return ""
}

// lagText says a duration the way staff read it: 45s, 3m, 2h 5m, 3d.
func lagText(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", max(0, int(d.Seconds())))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		h, m := int(d.Hours()), int(d.Minutes())%60
		if m == 0 {
			return fmt.Sprintf("%dh", h)
		}
		return fmt.Sprintf("%dh %dm", h, m)
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// channelData is one channel's page.
type channelData struct {
	Channel inventory.Channel
	channelSync
	SyncKnown   bool
	SyncProblem string
	IsICal      bool
	IsPull      bool
	// IsPMS: the channel gets reservations (Sent), not availability.
	IsPMS bool
	// Pushed: availability is pushed to channels of its kind (the fan-out
	// has a connector for it), so it has deliveries and can be resynced.
	Pushed bool

	Mappings  []inventory.Mapping
	RoomTypes []inventory.RoomType
	RatePlans []inventory.RatePlan
	// RatePlanCodes are the rate plans' codes, each once with the room
	// types that have it: a mapping names its rate plan by code, of the
	// room type chosen.
	RatePlanCodes []ratePlanCode
	Unmapped      []inventory.UnmappedCode
	// SplitRooms are the channel's room codes mapped (through different
	// rates) to room types of different pools: a channel holds one count
	// per room, and keyrack sends it one pool's (unless the channel takes
	// availability per room and rate).
	SplitRooms []splitRoom
	// BadCodes say which of the channel's codes stored before keyrack
	// checked them (inventory.CheckMappingCodes) it could not be sent.
	BadCodes []string

	Creds     inventory.CredentialState
	SecretsOK bool // KEYRACK_SECRET is set: credentials and feed URLs can be stored

	Feeds  []feedRow
	Tokens []inventory.ExportToken
	// StaleTokens are the export tokens no platform has fetched for too
	// long (an open stale-export incident), by id.
	StaleTokens map[int64]bool

	Deliveries []deliveryRow
	DeadTasks  []sync.ArchivedTask // the channel's dead-lettered deliveries
	Sent       []sync.SentRevision // a PMS's latest revisions, newest first
	SentLimit  int                 // how many of them at most (sync.RecentFeed): the page says when there may be more

	// Reveal is a secret shown on this answer only (a rotated inbound
	// secret, a new export URL).
	Reveal *reveal

	// Refused says why the form just sent changed nothing, at the top of
	// the page, linking to the form (RefusedAt, an anchor), which holds
	// what was typed: MapForm the add-a-mapping form's, Settings the
	// settings form's (nil: the channel's own).
	Refused, RefusedAt string
	MapForm            inventory.Mapping
	Settings           *channelSettings
	// FeedForm is the set-a-feed form's room type and interval as typed
	// (its URL is typed again: the page shows a feed's host only);
	// OutboundUser the outbound credentials form's user name (nil: the
	// channel's own).
	FeedForm     feedForm
	OutboundUser *string
	// TokenRoomType is the room type chosen in the new export calendar
	// form; RefusedLink the refusal's link words when no form holds what
	// was typed ("": the form below does).
	TokenRoomType string
	RefusedLink   string
}

// feedForm is the set-a-feed form's values kept after a refusal.
type feedForm struct{ RoomType, Interval string }

// ratePlanCode is a rate plan code and the room types having a plan of it.
type ratePlanCode struct {
	Code      string
	RoomTypes []string
}

// ratePlanCodes lists each code of plans once, in the order first seen.
func ratePlanCodes(plans []inventory.RatePlan) []ratePlanCode {
	var out []ratePlanCode
	for _, rp := range plans {
		i := slices.IndexFunc(out, func(c ratePlanCode) bool { return c.Code == rp.Code })
		if i < 0 {
			out = append(out, ratePlanCode{Code: rp.Code})
			i = len(out) - 1
		}
		out[i].RoomTypes = append(out[i].RoomTypes, rp.RoomType)
	}
	return out
}

// channelSettings are the settings form's values.
type channelSettings struct{ HotelCode, Endpoint string }

type reveal struct {
	Done  string // what was done
	What  string // what it is
	Value string // the secret itself
	Note  string // what to do with it
}

type feedRow struct {
	inventory.ICalFeed
	Stale        bool   // an open stale-feed incident
	StaleMessage string // its message
}

type deliveryRow struct {
	sync.Delivery
	Payload string // indented JSON
}

// uiChannel shows one channel.
func (s *Server) uiChannel(c *gin.Context) {
	d, ok := s.channelPage(c)
	if !ok {
		return
	}
	if c.GetHeader("HX-Request") != "" && c.Query("fragment") == "channel-status" {
		s.renderFragment(c, http.StatusOK, "channel", "channel-status", d)
		return
	}
	s.render(c, http.StatusOK, "channel", "Channel "+d.Channel.Code, "channels", d)
}

// channelPage gathers a channel's page, answering the request itself
// (false) when it cannot.
func (s *Server) channelPage(c *gin.Context) (*channelData, bool) {
	ctx := c.Request.Context()
	prop := uiProp(c)
	ch, ok := s.uiChannelOf(c)
	if !ok {
		return nil, false
	}
	d := &channelData{Channel: ch, SyncKnown: s.fanout != nil, SecretsOK: s.secrets != nil,
		IsICal: ch.Kind == inventory.ChannelICal, IsPull: ch.Kind == inventory.ChannelOTAPull,
		IsPMS: ch.Kind == inventory.ChannelPMS, Pushed: s.pushes(ch), SentLimit: sync.RecentFeed}
	if err := s.loadChannelStore(ctx, prop.Code, d); err != nil {
		s.uiFail(c, err)
		return nil, false
	}
	syncs, archived, problem := s.channelSyncs(c, prop.Code)
	d.channelSync, d.SyncProblem = syncs[ch.Code], problem
	d.NotSent = s.notSent(ch, len(d.Mappings) > 0)
	for _, a := range archived {
		if a.Channel == ch.Code {
			d.DeadTasks = append(d.DeadTasks, a)
		}
	}
	if s.fanout != nil && d.IsPMS {
		var err error
		if d.Sent, err = s.fanout.SentRevisions(ctx, prop.Code, ch.Code); err != nil {
			s.log.Error("ui: sent revisions", "property", prop.Code, "channel", ch.Code, "err", err)
			d.SyncProblem = "The reservations sent to this channel could not be read just now; reload in a moment."
		}
	} else if s.fanout != nil {
		log, err := s.fanout.Deliveries(ctx, prop.Code, ch.Code, channelDeliveries)
		if err != nil {
			s.log.Error("ui: delivery log", "property", prop.Code, "channel", ch.Code, "err", err)
			d.SyncProblem = "The delivery log could not be read just now; reload in a moment."
		}
		for _, l := range log {
			d.Deliveries = append(d.Deliveries, deliveryRow{Delivery: l, Payload: indentJSON(l.Payload)})
		}
	}
	return d, true
}

// loadChannelStore fills in what the store knows of the channel of d.
func (s *Server) loadChannelStore(ctx context.Context, property string, d *channelData) error {
	code := d.Channel.Code
	var err error
	if d.Mappings, err = s.store.Mappings(ctx, property, code); err != nil {
		return err
	}
	if d.RoomTypes, err = s.store.RoomTypes(ctx, property); err != nil {
		return err
	}
	if d.RatePlans, err = s.store.RatePlans(ctx, property); err != nil {
		return err
	}
	d.RatePlanCodes = ratePlanCodes(d.RatePlans)
	if d.Channel.ARILevel != "rate" { // per room and rate, each pair has a count of its own
		d.SplitRooms = splitRooms(d.Mappings, d.RoomTypes)
	}
	d.BadCodes = badCodes(d.Channel, d.Mappings)
	if d.Unmapped, err = s.store.UnmappedCodes(ctx, property, code); err != nil {
		return err
	}
	if d.Creds, err = s.store.ChannelCredentialState(ctx, property, code); err != nil {
		return err
	}
	if !d.IsICal {
		return nil
	}
	feeds, err := s.store.ICalFeeds(ctx, property, code)
	if err != nil {
		return err
	}
	incidents, err := s.store.Incidents(ctx, property, true)
	if err != nil {
		return err
	}
	stale := map[int64]string{} // feed id → the open stale-feed incident's message
	d.StaleTokens = map[int64]bool{}
	for _, in := range incidents {
		if id, ok := in.Details["feed_id"].(float64); ok && in.Kind == "stale_feed" {
			stale[int64(id)] = in.Message
		}
		if id, ok := in.Details["token_id"].(float64); ok && in.Kind == "stale_export" {
			d.StaleTokens[int64(id)] = true
		}
	}
	for _, f := range feeds {
		msg, isStale := stale[f.ID]
		d.Feeds = append(d.Feeds, feedRow{ICalFeed: f, Stale: isStale, StaleMessage: msg})
	}
	d.Tokens, err = s.store.ExportTokens(ctx, property, code)
	return err
}

// indentJSON is raw JSON made readable (or as it is, if it does not parse).
func indentJSON(raw []byte) string {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return string(raw)
	}
	return b.String()
}

// uiChannelOf loads the channel named in the path, answering 404 itself.
func (s *Server) uiChannelOf(c *gin.Context) (inventory.Channel, bool) {
	prop := uiProp(c)
	chans, err := s.store.Channels(c.Request.Context(), prop.Code)
	if err != nil {
		s.uiFail(c, err)
		return inventory.Channel{}, false
	}
	code := c.Param("channel")
	i := slices.IndexFunc(chans, func(ch inventory.Channel) bool { return ch.Code == code })
	if i < 0 {
		s.renderError(c, http.StatusNotFound, "Property "+prop.Code+" has no channel "+code+".")
		return inventory.Channel{}, false
	}
	return chans[i], true
}

// channelPath is the channel's page.
func channelPath(c *gin.Context) string {
	return "/admin/p/" + url.PathEscape(uiProp(c).Code) + "/channels/" + url.PathEscape(c.Param("channel"))
}

// showRevealed answers a change that created a secret with the channel's
// page showing it, this once (it is in no URL and no log).
func (s *Server) showRevealed(c *gin.Context, flash string, r *reveal) {
	d, ok := s.channelPage(c)
	if !ok {
		return
	}
	r.Done = flash
	d.Reveal = r
	s.render(c, http.StatusOK, "channel", "Channel "+d.Channel.Code, "channels", d)
}

func (s *Server) uiChannelEnabled(c *gin.Context) {
	ch, ok := s.uiChannelOf(c)
	if !ok {
		return
	}
	var on bool
	switch c.PostForm("enabled") {
	case "true", "on", "1":
		on = true
	case "false", "off", "0":
	default:
		s.renderError(c, http.StatusBadRequest, "Say whether the channel is to be enabled (enabled=true or false).")
		return
	}
	if _, err := s.store.UpdateChannel(c.Request.Context(), uiProp(c).Code, ch.Code, inventory.ChannelPatch{Enabled: &on}, staff(c).Actor()); err != nil {
		s.uiFail(c, err)
		return
	}
	msg := "Channel " + ch.Code + " is enabled: it is sent every value of its horizon, and changes from now on."
	if !s.pushes(ch) {
		msg = "Channel " + ch.Code + " is enabled."
	}
	if on {
		s.catchUp(c.Request.Context(), uiProp(c).Code, ch.Code)
	} else {
		msg = "Channel " + ch.Code + " is disabled: nothing is sent to it until it is enabled again."
		if s.pushes(ch) {
			// Disabling stops keyrack's updates, not the channel's sales
			// (its bookings are still taken, as overbookings if need be).
			msg += " It goes on selling the availability it was last sent: if it is to stop selling, close the rooms at the channel."
		}
	}
	redirectFlash(c, channelPath(c), msg)
}

func (s *Server) uiChannelSettings(c *gin.Context) {
	ch, ok := s.uiChannelOf(c)
	if !ok {
		return
	}
	var patch inventory.ChannelPatch
	if v, ok := c.GetPostForm("hotel_code"); ok {
		v = strings.TrimSpace(v)
		patch.HotelCode = &v
	}
	if v, ok := c.GetPostForm("endpoint"); ok {
		v = strings.TrimSpace(v)
		patch.Endpoint = &v
	}
	typed := channelSettings{HotelCode: ch.HotelCode, Endpoint: ch.Endpoint}
	if patch.HotelCode != nil {
		typed.HotelCode = *patch.HotelCode
	}
	if patch.Endpoint != nil {
		typed.Endpoint = *patch.Endpoint
	}
	refuse := func(status int, why string) {
		s.refuseOnChannelPage(c, status, "The settings of "+ch.Code+" were not saved: "+why, "settings-title",
			func(d *channelData) { d.Settings = &typed })
	}
	if typed.Endpoint != "" && !isEndpointURL(typed.Endpoint) {
		refuse(http.StatusBadRequest, "the endpoint must be an absolute http(s) URL, or empty to send nothing.")
		return
	}
	if _, err := s.store.UpdateChannel(c.Request.Context(), uiProp(c).Code, ch.Code, patch, staff(c).Actor()); err != nil {
		s.refuseOrFail(c, err, refuse)
		return
	}
	// A new hotel code is another hotel at the channel, told nothing yet
	// (what the channel acknowledged was the old one's): it is sent the
	// whole horizon, as a new endpoint is.
	newHotel := patch.HotelCode != nil && *patch.HotelCode != ch.HotelCode
	if (patch.Endpoint != nil && *patch.Endpoint != "") || newHotel {
		s.catchUp(c.Request.Context(), uiProp(c).Code, ch.Code)
	}
	msg := "The settings of " + ch.Code + " are saved."
	if newHotel && s.pushes(ch) {
		// keyrack cannot tell a typo corrected from a hotel moved, and
		// closing a hotel id that may be someone else's is not its call.
		old := "hotel " + ch.HotelCode
		if ch.HotelCode == "" {
			old = "the hotel it was sent without a hotel code"
		}
		msg += " Availability now goes to hotel " + *patch.HotelCode + " at the channel, every night of its horizon at once. " +
			"keyrack tells " + old + " nothing more: if the channel still sells it, it goes on selling the availability it was last sent — close its rooms at the channel."
	}
	redirectFlash(c, channelPath(c), msg)
}

func (s *Server) uiChannelSetMapping(c *gin.Context) {
	ch, ok := s.uiChannelOf(c)
	if !ok {
		return
	}
	m := inventory.Mapping{
		ChannelRoom: strings.TrimSpace(c.PostForm("room")),
		ChannelRate: strings.TrimSpace(c.PostForm("rate")),
		RoomType:    strings.TrimSpace(c.PostForm("room_type")),
		RatePlan:    strings.TrimSpace(c.PostForm("rate_plan")),
	}
	what := "room " + m.ChannelRoom
	if m.ChannelRate != "" {
		what += " rate " + m.ChannelRate
	}
	refuse := func(status int, why string, err error) {
		s.refuseOnChannelPage(c, status, why, "add-mapping", func(d *channelData) {
			if err != nil && slices.Contains(d.Mappings, m) { // stored: what failed came after (placing the parked bookings)
				s.uiFail(c, err)
				return
			}
			d.MapForm = m
		})
	}
	if m.RoomType == "" {
		refuse(http.StatusBadRequest, "Choose the room type the channel's room "+m.ChannelRoom+" is.", nil)
		return
	}
	placed, err := s.store.MapRoom(c.Request.Context(), uiProp(c).Code, ch.Code, m, staff(c).Actor())
	if err != nil {
		if status, ok := refusedStatus(err); ok {
			refuse(status, upperFirst(what)+" of "+ch.Code+" was not mapped: "+inventory.ErrorMessage(err), err)
			return
		}
		s.uiFail(c, err)
		return
	}
	s.catchUp(c.Request.Context(), uiProp(c).Code, ch.Code)
	msg := fmt.Sprintf("%s of %s is mapped to %s", what, ch.Code, m.RoomType)
	if m.RatePlan != "" {
		msg += " / " + m.RatePlan
	}
	msg += "." + parkedPlaced(placed)
	if s.pushes(ch) {
		msg += " A full resync sends the channel this room's availability."
	}
	redirectFlash(c, channelPath(c), upperFirst(msg))
}

// upperFirst is s with its first letter a capital (s starts with ASCII).
func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// refuseOrFail answers err, an error of the store: with refuse — the page
// staff were on, the store's reason at its top — when staff can act on it
// (refusedStatus), with a logged 500 otherwise.
func (s *Server) refuseOrFail(c *gin.Context, err error, refuse func(status int, why string)) {
	if status, ok := refusedStatus(err); ok {
		refuse(status, inventory.ErrorMessage(err))
		return
	}
	s.uiFail(c, err)
}

// refusedStatus is the status of an error of the store that staff can act
// on (bad input, something that does not exist, a conflict), and whether
// it is one.
func refusedStatus(err error) (int, bool) {
	switch inventory.ErrorCode(err) {
	case inventory.EINVALID:
		return http.StatusBadRequest, true
	case inventory.ENOTFOUND:
		return http.StatusNotFound, true
	case inventory.ECONFLICT:
		return http.StatusConflict, true
	}
	return 0, false
}

// refuseOnChannelPage answers a form of the channel's page that changed
// nothing with the page itself, why at its top linking to the form (the
// anchor at), and fill putting back into the form what was typed — not
// with an error page, which lost the channel and what was typed.
func (s *Server) refuseOnChannelPage(c *gin.Context, status int, why, at string, fill func(*channelData)) {
	d, ok := s.channelPage(c)
	if !ok {
		return
	}
	d.Refused, d.RefusedAt = strings.TrimSuffix(why, ".")+".", at
	if fill(d); c.IsAborted() {
		return
	}
	s.render(c, status, "channel", "Channel "+d.Channel.Code, "channels", d)
}

// parkedPlaced says what a mapping did to the channel's parked bookings:
// staff must know whether the guests they were parked with now hold rooms.
func parkedPlaced(r inventory.Remapped) string {
	switch r.Bookings {
	case 0:
		return " No parked booking of this channel waited for it."
	case 1:
		msg := " 1 parked booking took its rooms"
		if r.Overbooked > 0 {
			msg += ", past the limit: see the overbooking under Alerts"
		}
		if r.StillParked > 0 {
			msg += "; it stays parked for another room code not mapped yet"
		}
		return msg + "."
	}
	msg := fmt.Sprintf(" %d parked bookings took their rooms", r.Bookings)
	if r.Overbooked > 0 {
		msg += fmt.Sprintf(", %d of them past the limit: see the overbooking under Alerts", r.Overbooked)
	}
	if r.StillParked > 0 {
		msg += fmt.Sprintf("; %d stay parked for another room code not mapped yet", r.StillParked)
	}
	return msg + "."
}

func (s *Server) uiChannelDeleteMapping(c *gin.Context) {
	ch, ok := s.uiChannelOf(c)
	if !ok {
		return
	}
	room, rate := c.PostForm("room"), c.PostForm("rate")
	if c.PostForm("confirm") != "yes" {
		s.confirmDeleteMapping(c, ch, room, rate)
		return
	}
	closed, err := s.store.DeleteMapping(c.Request.Context(), uiProp(c).Code, ch.Code, room, rate, staff(c).Actor())
	if inventory.ErrorCode(err) == inventory.ENOTFOUND {
		s.refuseMappingGone(c, ch, room, rate)
		return
	}
	if err != nil {
		s.uiFail(c, err)
		return
	}
	s.catchUp(c.Request.Context(), uiProp(c).Code, ch.Code)
	what := "room " + room
	if rate != "" {
		what += " rate " + rate
	}
	msg := "The mapping of " + what + " is deleted; bookings of it from now on are parked unless another mapping takes them."
	if closed && s.pushes(ch) {
		item := what
		if ch.ARILevel != "rate" { // the channel keeps one count per room code
			item = "room " + room
		}
		msg += " keyrack no longer sends " + ch.Code + " the availability of " + item +
			": it is sent 0 for every night of its horizon once, so that the channel stops selling it (close it at the channel too, or map it again)."
	}
	redirectFlash(c, channelPath(c), msg)
}

// confirmPage asks staff to confirm a change that is hard to take back:
// Says are its paragraphs, the form posts Fields and confirm=yes to Action.
type confirmPage struct {
	Says            []string
	Action, Button  string
	Fields          []confirmField
	Back, BackLabel string
}

type confirmField struct{ Name, Value string }

// confirmDeleteMapping asks before a mapping is deleted: one tap of the
// row's button would have the channel sent 0 for the room on every night of
// its horizon, and its bookings of it parked.
func (s *Server) confirmDeleteMapping(c *gin.Context, ch inventory.Channel, room, rate string) {
	ms, err := s.store.Mappings(c.Request.Context(), uiProp(c).Code, ch.Code)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	i := slices.IndexFunc(ms, func(m inventory.Mapping) bool { return m.ChannelRoom == room && m.ChannelRate == rate })
	what := "room " + room
	if rate != "" {
		what += " rate " + rate
	}
	if i < 0 {
		s.refuseMappingGone(c, ch, room, rate)
		return
	}
	says := []string{"Delete the mapping of " + ch.Code + "'s " + what + " to room type " + ms[i].RoomType + "?",
		"Bookings of it from " + ch.Code + " are then parked — kept, holding no room — unless another mapping takes them."}
	if s.pushes(ch) {
		says = append(says, "If no other mapping covers it, keyrack stops sending "+ch.Code+" its availability and sends it 0 for every night of its horizon once, so that the channel stops selling it.")
	}
	s.render(c, http.StatusOK, "confirm", "Delete a mapping", "channels", confirmPage{Says: says,
		Action: channelPath(c) + "/mappings/delete", Button: "Delete the mapping of " + what,
		Fields: []confirmField{{"room", room}, {"rate", rate}}, Back: channelPath(c), BackLabel: "Channel " + ch.Code})
}

// refuseMappingGone answers the deletion of a mapping that is not there
// (deleted meanwhile, from a page left open) with the channel's page.
func (s *Server) refuseMappingGone(c *gin.Context, ch inventory.Channel, room, rate string) {
	what := "room " + room
	if rate != "" {
		what += " rate " + rate
	}
	s.refuseOnChannelPage(c, http.StatusNotFound, ch.Code+" has no mapping of "+what+": someone may have deleted it already.", "mappings-title",
		func(d *channelData) { d.RefusedLink = "See its mappings below" })
}

// newSecret is a random secret of 192 bits, URL-safe.
func newSecret() (string, error) {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// uiChannelRotateInbound gives the channel a new random inbound secret (and
// a user name, if one is typed): the old secret stops working at once.
func (s *Server) uiChannelRotateInbound(c *gin.Context) {
	ch, ok := s.uiChannelOf(c)
	if !ok {
		return
	}
	if s.secrets == nil {
		s.renderError(c, http.StatusConflict, "Credentials cannot be stored: this server runs without KEYRACK_SECRET.")
		return
	}
	secret, err := newSecret()
	if err != nil {
		s.uiFail(c, err)
		return
	}
	user := strings.TrimSpace(c.PostForm("username"))
	ctx := c.Request.Context()
	if err := s.store.SetChannelCredentials(ctx, s.secrets, uiProp(c).Code, ch.Code,
		inventory.Credentials{InboundUser: user, InboundSecret: secret}, staff(c).Actor()); err != nil {
		s.uiFail(c, err)
		return
	}
	cur, _ := s.store.ChannelCredentialState(ctx, uiProp(c).Code, ch.Code)
	s.showRevealed(c, "The inbound secret of "+ch.Code+" is rotated: the old one no longer works.", &reveal{
		What:  "New inbound secret of " + ch.Code + " (user " + cmp.Or(cur.InboundUser, "not set") + ")",
		Value: secret,
		Note:  "Copy it into the channel's extranet now: it is shown this once and keyrack keeps only its hash.",
	})
}

// uiChannelSetOutbound sets what keyrack presents to the channel.
func (s *Server) uiChannelSetOutbound(c *gin.Context) {
	ch, ok := s.uiChannelOf(c)
	if !ok {
		return
	}
	if s.secrets == nil {
		s.renderError(c, http.StatusConflict, "Credentials cannot be stored: this server runs without KEYRACK_SECRET.")
		return
	}
	user, secret := strings.TrimSpace(c.PostForm("username")), c.PostForm("secret")
	refuse := func(status int, why string) {
		s.refuseOnChannelPage(c, status, "The credentials keyrack presents to "+ch.Code+" were not saved: "+why, "set-outbound",
			func(d *channelData) { d.OutboundUser = &user })
	}
	if user == "" && secret == "" {
		refuse(http.StatusBadRequest, "type the user name, the secret, or both.")
		return
	}
	if err := s.store.SetChannelCredentials(c.Request.Context(), s.secrets, uiProp(c).Code, ch.Code,
		inventory.Credentials{OutboundUser: user, OutboundSecret: secret}, staff(c).Actor()); err != nil {
		s.refuseOrFail(c, err, refuse)
		return
	}
	s.retryDeadLetters(c.Request.Context(), uiProp(c).Code, ch.Code)
	redirectFlash(c, channelPath(c), "The credentials keyrack presents to "+ch.Code+" are saved; the next delivery uses them.")
}

// formID reads a numeric id from the path.
func (s *Server) formID(c *gin.Context, what string) (int64, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		s.renderError(c, http.StatusNotFound, "There is no "+what+" "+c.Param("id")+".")
		return 0, false
	}
	return id, true
}

func (s *Server) uiChannelSetFeed(c *gin.Context) {
	ch, ok := s.uiChannelOf(c)
	if !ok {
		return
	}
	roomType, feedURL := strings.TrimSpace(c.PostForm("room_type")), strings.TrimSpace(c.PostForm("url"))
	typed := feedForm{RoomType: roomType, Interval: strings.TrimSpace(c.PostForm("poll_interval"))}
	refuse := func(status int, why string) {
		s.refuseOnChannelPage(c, status, "The feed of "+ch.Code+" was not saved: "+strings.TrimSuffix(why, ".")+"; type its URL again", "set-feed",
			func(d *channelData) { d.FeedForm = typed })
	}
	interval := 0
	if v := typed.Interval; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			refuse(http.StatusBadRequest, "the poll interval is a number of seconds.")
			return
		}
		interval = n
	}
	if roomType == "" {
		refuse(http.StatusBadRequest, "choose the room type whose calendar this feed is.")
		return
	}
	f, err := s.store.SetICalFeed(c.Request.Context(), s.secrets, uiProp(c).Code, ch.Code, roomType, feedURL, interval, staff(c).Actor())
	if err != nil {
		s.refuseOrFail(c, err, refuse)
		return
	}
	redirectFlash(c, channelPath(c), fmt.Sprintf("The feed of %s for %s (%s) is saved and fetched at the next poll.", ch.Code, roomType, f.Host))
}

func (s *Server) uiChannelSyncFeed(c *gin.Context) {
	ch, ok := s.uiChannelOf(c)
	if !ok {
		return
	}
	id, ok := s.formID(c, "iCal feed")
	if !ok {
		return
	}
	ctx := c.Request.Context()
	prop := uiProp(c)
	if err := s.store.FetchICalFeedNow(ctx, prop.Code, ch.Code, id); err != nil {
		if status, ok := refusedStatus(err); ok {
			s.refuseOnChannelPage(c, status, "Nothing was fetched: "+inventory.ErrorMessage(err), "feeds-title",
				func(d *channelData) { d.RefusedLink = "See its feeds below" })
			return
		}
		s.uiFail(c, err)
		return
	}
	if err := s.store.AuditAction(ctx, prop.Code, staff(c).Actor(), "ical_feed.sync_now", "ical feed "+strconv.FormatInt(id, 10), nil); err != nil {
		s.log.Warn("ui: audit sync now", "err", err)
	}
	redirectFlash(c, channelPath(c), "The feed is fetched at the next poll (within seconds when the workers run).")
}

// exportURL is the full address of an export calendar, as the browser
// reached keyrack (https behind a TLS-terminating proxy too).
func (s *Server) exportURL(c *gin.Context, token string) string {
	scheme := "http"
	if s.isHTTPS(c.Request) {
		scheme = "https"
	}
	return scheme + "://" + c.Request.Host + "/ical/" + token + ".ics"
}

func (s *Server) uiChannelCreateToken(c *gin.Context) {
	ch, ok := s.uiChannelOf(c)
	if !ok {
		return
	}
	roomType := strings.TrimSpace(c.PostForm("room_type"))
	refuse := func(status int, why string) {
		s.refuseOnChannelPage(c, status, "No export calendar was created: "+why, "new-token",
			func(d *channelData) { d.TokenRoomType = roomType })
	}
	if ch.Kind != inventory.ChannelICal {
		s.refuseOnChannelPage(c, http.StatusBadRequest, "No export calendar was created: "+ch.Code+" is not a calendar platform (iCal), which alone fetches export calendars.", "", func(*channelData) {})
		return
	}
	if roomType == "" {
		refuse(http.StatusBadRequest, "choose the room type whose calendar to export.")
		return
	}
	t, token, err := s.store.CreateExportToken(c.Request.Context(), uiProp(c).Code, ch.Code, roomType, staff(c).Actor())
	if err != nil {
		s.refuseOrFail(c, err, refuse)
		return
	}
	s.showRevealed(c, "An export calendar of "+t.RoomType+" is created.", &reveal{
		What:  "Export URL of " + t.RoomType + " on " + ch.Code,
		Value: s.exportURL(c, token),
		Note:  "Paste it into the platform's calendar import now: it is shown this once.",
	})
}

// uiExportToken finds the export calendar a rotate or revoke form names,
// answering with the channel's page, why at its top, when there is none
// (or, with live set, when it is revoked already).
func (s *Server) uiExportToken(c *gin.Context, ch inventory.Channel, verb string, live bool) (inventory.ExportToken, bool) {
	at := "tokens-title"
	if ch.Kind != inventory.ChannelICal {
		at = "" // no export calendars on its page
	}
	refuse := func(status int, why string) {
		s.refuseOnChannelPage(c, status, why, at, func(d *channelData) { d.RefusedLink = "See the export calendars below" })
	}
	tokens, err := s.store.ExportTokens(c.Request.Context(), uiProp(c).Code, ch.Code)
	if err != nil {
		s.uiFail(c, err)
		return inventory.ExportToken{}, false
	}
	id, _ := strconv.ParseInt(c.Param("id"), 10, 64)
	i := slices.IndexFunc(tokens, func(t inventory.ExportToken) bool { return t.ID == id })
	if i < 0 {
		refuse(http.StatusNotFound, "There is no export URL "+c.Param("id")+" of "+ch.Code+": nothing was "+verb+".")
		return inventory.ExportToken{}, false
	}
	t := tokens[i]
	if live && t.RevokedAt != nil {
		refuse(http.StatusNotFound, "The export URL "+t.Prefix+"… of "+t.RoomType+" was not "+verb+": it is revoked already; create a new one for "+t.RoomType+" instead.")
		return inventory.ExportToken{}, false
	}
	return t, true
}

func (s *Server) uiChannelRotateToken(c *gin.Context) {
	ch, ok := s.uiChannelOf(c)
	if !ok {
		return
	}
	old, ok := s.uiExportToken(c, ch, "rotated", true)
	if !ok {
		return
	}
	t, token, err := s.store.RotateExportToken(c.Request.Context(), uiProp(c).Code, ch.Code, old.ID, staff(c).Actor())
	if err != nil {
		s.uiFail(c, err)
		return
	}
	s.showRevealed(c, "The export URL of "+t.RoomType+" is rotated: the old one no longer answers.", &reveal{
		What:  "New export URL of " + t.RoomType + " on " + ch.Code,
		Value: s.exportURL(c, token),
		Note:  "Replace the old URL in the platform's calendar import now: it is shown this once.",
	})
}

func (s *Server) uiChannelRevokeToken(c *gin.Context) {
	ch, ok := s.uiChannelOf(c)
	if !ok {
		return
	}
	old, ok := s.uiExportToken(c, ch, "revoked", false)
	if !ok {
		return
	}
	t, err := s.store.RevokeExportToken(c.Request.Context(), uiProp(c).Code, ch.Code, old.ID, staff(c).Actor())
	if err != nil {
		s.uiFail(c, err)
		return
	}
	redirectFlash(c, channelPath(c), "The export URL "+t.Prefix+"… of "+t.RoomType+" is revoked: it no longer answers.")
}

func (s *Server) uiChannelResync(c *gin.Context) {
	ch, ok := s.uiChannelOf(c)
	if !ok {
		return
	}
	if s.fanout == nil {
		s.renderError(c, http.StatusServiceUnavailable, "The task queue is not connected to this server: a full resync cannot be started from here.")
		return
	}
	if !ch.Enabled {
		s.renderError(c, http.StatusConflict, "Channel "+ch.Code+" is disabled: enable it first, then resync.")
		return
	}
	ctx := c.Request.Context()
	prop := uiProp(c)
	if err := s.fanout.Resync(ctx, prop.Code, ch.Code); err != nil {
		s.uiFail(c, err)
		return
	}
	if err := s.store.AuditAction(ctx, prop.Code, staff(c).Actor(), "channel.resync", "channel "+ch.Code, nil); err != nil {
		s.log.Warn("ui: audit resync", "err", err)
	}
	redirectFlash(c, channelPath(c), "A full resync of "+ch.Code+" is queued: every night of its horizon is sent again.")
}

// uiChannelRetryDeadLetter runs a dead-lettered delivery to this channel again.
func (s *Server) uiChannelRetryDeadLetter(c *gin.Context) {
	ch, ok := s.uiChannelOf(c)
	if !ok {
		return
	}
	if s.fanout == nil {
		s.renderError(c, http.StatusServiceUnavailable, "The task queue is not connected to this server: the delivery cannot be retried from here.")
		return
	}
	ctx := c.Request.Context()
	prop := uiProp(c)
	queue, task := c.PostForm("queue"), c.PostForm("task")
	archived, err := s.fanout.Archived(ctx)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	// Only a delivery to this channel: the form could name any task.
	if !slices.ContainsFunc(archived, func(a sync.ArchivedTask) bool {
		return a.Queue == queue && a.ID == task && a.Property == prop.Code && a.Channel == ch.Code
	}) {
		s.renderError(c, http.StatusNotFound, "That delivery to "+ch.Code+" is no longer dead-lettered: it may have been retried already.")
		return
	}
	if err := s.fanout.RetryArchived(ctx, queue, task); err != nil {
		s.uiFail(c, err)
		return
	}
	if err := s.store.AuditAction(ctx, prop.Code, staff(c).Actor(), "delivery.retry", "channel "+ch.Code, map[string]any{"queue": queue, "task": task}); err != nil {
		s.log.Warn("ui: audit retry", "err", err)
	}
	redirectFlash(c, channelPath(c), "The delivery to "+ch.Code+" is queued again.")
}

// splitRoom is a channel room code whose mappings draw on several pools.
type splitRoom struct {
	Room  string
	Pools []string // sorted
}

// splitRooms lists the room codes of mappings whose room types are in
// different pools. The delivery sends such a room one of them (the pool
// created first): a mapping mistake staff should see, since the channel
// sells the room on the other pool's nights too.
func splitRooms(ms []inventory.Mapping, rts []inventory.RoomType) []splitRoom {
	poolOf := map[string]string{}
	for _, rt := range rts {
		poolOf[rt.Code] = rt.Pool
	}
	pools := map[string]map[string]bool{}
	var rooms []string
	for _, m := range ms {
		if pools[m.ChannelRoom] == nil {
			pools[m.ChannelRoom] = map[string]bool{}
			rooms = append(rooms, m.ChannelRoom)
		}
		pools[m.ChannelRoom][poolOf[m.RoomType]] = true
	}
	var out []splitRoom
	for _, r := range rooms {
		if len(pools[r]) > 1 {
			out = append(out, splitRoom{Room: r, Pools: slices.Sorted(maps.Keys(pools[r]))})
		}
	}
	return out
}

// badCodes lists what is wrong with the channel's hotel code and mapped
// codes, as setting them now would say.
func badCodes(ch inventory.Channel, ms []inventory.Mapping) []string {
	var out []string
	if err := inventory.CheckHotelCode(ch); err != nil {
		out = append(out, inventory.ErrorMessage(err))
	}
	for _, m := range ms {
		if err := inventory.CheckMappingCodes(ch.Kind, ch.Code, m); err != nil {
			out = append(out, inventory.ErrorMessage(err))
		}
	}
	return out
}
