package web

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/sync"
)

// The alerts page: everything of a property that needs staff, grouped by
// what it is and newest first, each with the action that resolves it.
// Incidents come from the store; dead-lettered deliveries (asynq's archived
// tasks) from the fan-out.

// alertsView is the alerts page's data.
type alertsView struct {
	Count        int
	Restored     []alertItem // database_restored
	Overbookings []alertItem
	Unmapped     []alertItem
	Webhooks     []alertItem // webhook_failed
	Unacked      []alertItem // unacked_revision
	StaleFeeds   []alertItem
	StaleExports []alertItem
	StalePulls   []alertItem
	RefusedPulls []alertItem // pull_refused
	Other        []alertItem // a kind this page does not know yet
	DeadLetters  []sync.ArchivedTask
	// NotSent and NotFetched are the property's work keyrack's own
	// processes have left undone, and not even attempted, for too long
	// (sync.Fanout.Overdue): changes not going out to the channels, and
	// pull-mode channels not polled. No incident records them — the process
	// that would raise one may be the one not running —, so they are read at
	// each view, and go away by themselves once the work is done.
	NotSent    []notDoneItem
	NotFetched []notDoneItem
	// NotScheduled is set when no scheduler has led for too long: the
	// periodic work it does for every property is not done.
	NotScheduled *notDoneItem
	// NoRedis are the keyrack worker processes whose Redis does not answer
	// (sync.Overdue.RedisUnreachable), one item each.
	NoRedis []notDoneItem
	// QueueNote says why dead letters are not listed ("" when they are).
	QueueNote string
	// CanRetryWebhook is set when the fan-out is there to send a webhook again.
	CanRetryWebhook bool
	// Kind is the section shown alone ("" when all are) and Page its page:
	// the forms carry them, to come back to that page.
	Kind       string
	Page       int
	BackFields template.HTML // the hidden fields that say so
	// Pages says, by section (alertSections), which of its alerts are shown.
	Pages map[string]alertsPager
	// Refused says why the action just asked for did nothing.
	Refused string
}

// alertItem is an incident with what its details say, decoded for the page.
type alertItem struct {
	inventory.Incident
	Channel     string
	RoomType    string
	FeedID      int64
	RevisionSeq int64
	Attempts    int64
	LastError   string
	LastOKAt    string
	// Of an export calendar (stale_export): the start of its URL, and when
	// a platform last fetched it ("" when never).
	Prefix     string
	LastUsedAt string
	// Of a pull-mode channel keyrack cannot poll (stale_pull): since when.
	FailingSince string
	// Of a restore from a backup (database_restored): from when bookings
	// may be missing, and when the restore was readied.
	MissingSince, RestoredAt string
	// Of the reservations a pull-mode channel serves that keyrack refused
	// (pull_refused): how many its last poll got and refused, and those
	// the incident lists.
	Served, RefusedCount int64
	Refused              []refusedRecord
	// Booking is the reservation the incident is about (unmapped,
	// unacknowledged, webhook); nil when there is none or it is gone.
	Booking *inventory.Reservation
	// UnmappedRooms are the booking's channel room codes that are not mapped.
	UnmappedRooms []string
	// NoRoom: a stay of the booking named no room code, which no mapping
	// can match; staff record its room type on the booking instead.
	NoRoom bool
	// Bookings are the reservations that took an overbooked night past
	// its limit (Overbooked with their names); NightTo is the day after the
	// night (to search for every booking of that night).
	Bookings   []int64
	Overbooked []alertBooking
	NightTo    string
	// Now is the overbooked night as it stands (nil when it cannot be
	// read): the incident keeps its peak (Excess) until staff resolve it,
	// while a cancellation or an added room may have put the night within
	// its limit again — then nobody has to be moved.
	Now *inventory.Night
}

// NowOver is by how much the night is over its limit now (0: within it).
func (it alertItem) NowOver() int {
	if it.Now == nil {
		return it.Excess
	}
	return max(0, it.Now.Sold-it.Now.Limit)
}

// notDoneItem is overdue work, worded for staff: the channel it is about
// ("" when it is every channel's), since when it waits, what it means and
// what to check.
type notDoneItem struct {
	Channel string
	Since   time.Time
	Message string
}

// notDone words the property's overdue work for the alerts page, its
// times in loc.
func notDone(o sync.Overdue, loc *time.Location) (notSent, notFetched []notDoneItem, notScheduled *notDoneItem) {
	if !o.SchedulerIdleSince.IsZero() {
		notScheduled = &notDoneItem{Since: o.SchedulerIdleSince, Message: "No keyrack scheduler has run since " +
			whenAgo(o.SchedulerIdleSince, loc) + ". It is the part of keyrack that does the regular work for every property, " +
			"and none of it is being done: the nightly resync, which sends every channel its availability again and is " +
			"how the nights that come into a channel's booking window reach it; fetching the bookings of pull-mode " +
			"channels; the checks that raise the alerts for calendar feeds that stopped updating, export calendars no " +
			"platform fetches, PMS revisions not acknowledged and channels keyrack cannot poll (so those alerts cannot " +
			"appear); and the clean-up of old records. Whoever runs keyrack should start a scheduler: " +
			"keyrack serve --roles scheduler (or keyrack serve with all its roles)."}
	}
	if !o.SchedulerStuckSince.IsZero() {
		notScheduled = &notDoneItem{Since: o.SchedulerStuckSince, Message: "keyrack's scheduler has not begun a round of " +
			"its work since " + whenAgo(o.SchedulerStuckSince, loc) + ": it still holds the lead, but its round does not end, " +
			"and no other scheduler has taken the lead from it (none runs beside it, or none may end its PostgreSQL session). Its rounds do the regular work for every property — the nightly resync, " +
			"which sends every channel its availability again and is how the nights that come into a channel's booking " +
			"window reach it; the checks that raise the alerts for calendar feeds that stopped updating, export calendars " +
			"no platform fetches, PMS revisions not acknowledged and channels keyrack cannot poll; the clean-up of old " +
			"records — and none of it is being done. Whoever runs keyrack should restart the process that runs the scheduler (keyrack serve " +
			"--roles scheduler, or keyrack serve), and may look in PostgreSQL (pg_stat_activity) for what it waits on."}
	}
	if o.Unrelayed > 0 {
		changes := "changes"
		if o.Unrelayed == 1 {
			changes = "change"
		}
		notSent = append(notSent, notDoneItem{Since: o.UnrelayedSince, Message: fmt.Sprintf(
			"%d %s (bookings, cancellations, staff edits) made since %s have not been passed on to any channel or PMS: "+
				"no keyrack worker has taken them. Until one does, the channels keep selling the rooms these bookings took. "+
				"Check that a keyrack worker process is running (keyrack serve --roles worker) and that PostgreSQL accepts writes.",
			o.Unrelayed, changes, whenAgo(o.UnrelayedSince, loc))})
	}
	for _, ch := range o.Undelivered {
		last := "no keyrack worker has ever delivered to it"
		if ch.LastDone != nil {
			last = "no keyrack worker has delivered to it since " + whenAgo(*ch.LastDone, loc)
		}
		notSent = append(notSent, notDoneItem{Channel: ch.Channel, Since: ch.Since, Message: fmt.Sprintf(
			"Availability changes for %s have waited since %s and %s: %s still shows the old availability. "+
				"Check that a keyrack worker process is running and reaches Redis.",
			ch.Channel, whenAgo(ch.Since, loc), last, ch.Channel)})
	}
	for _, ch := range o.Unpolled {
		msg := fmt.Sprintf("keyrack has not polled %s since %s (keyrack should poll it every %s): the bookings made there since then "+
			"have not reached keyrack, and the rooms they took are still for sale on the other channels. ",
			ch.Channel, whenAgo(ch.Since, loc), lagText(ch.PullInterval))
		switch {
		case !o.SchedulerIdleSince.IsZero():
			msg += "No keyrack scheduler is running: it is what polls pull-mode channels (see \"" + notScheduledTitle + "\" above)."
		case !o.SchedulerLeads:
			msg += "No keyrack scheduler is running: it is what polls pull-mode channels (keyrack serve --roles scheduler)."
		case !pollsAskedFor(ch):
			msg += "The keyrack scheduler that leads has not asked for a poll of it since then: its process hangs, or cannot " +
				"reach Redis (its log says \"scheduling channel polls failed\"). Whoever runs keyrack should restart that " +
				"process, or correct its REDIS_URL: no other scheduler has taken the lead from it (none runs beside it, or none " +
				"that reaches Redis)."
		case ch.PullError != "":
			msg += "Its last poll failed: " + ch.PullError
		case ch.PulledAt != nil && ch.PulledAt.After(ch.Since):
			msg += "keyrack asks for its polls, but no keyrack worker carries them out: check that a keyrack worker process is running and reaches Redis."
		default:
			msg += "Check that a keyrack scheduler and a keyrack worker process are running."
		}
		notFetched = append(notFetched, notDoneItem{Channel: ch.Channel, Since: ch.Since, Message: msg})
	}
	return notSent, notFetched, notScheduled
}

// noRedis words for staff the worker processes whose Redis does not
// answer, its times in loc.
func noRedis(o sync.Overdue, loc *time.Location) []notDoneItem {
	var out []notDoneItem
	for _, p := range o.RedisUnreachable {
		out = append(out, notDoneItem{Since: p.Since, Message: fmt.Sprintf("The keyrack worker process %q (connecting "+
			"from %s) has not reached Redis since %s. It delivers nothing to the channels and PMS itself and "+
			"hands the changes it takes to the other keyrack workers; if none of them reaches Redis either, the changes "+
			"wait. Whoever runs keyrack should check that process's REDIS_URL (its log says \"Redis does not answer\") "+
			"and restart it; if every keyrack process is listed here, Redis itself is down.", p.Name, p.Client, whenAgo(p.Since, loc))})
	}
	return out
}

// pollsAskedFor reports whether the leading scheduler still asks for polls
// of an unpolled pull-mode channel: it asks each PullInterval (within a
// second), so none asked for over two of them and a minute means its pull
// loop is not running — its process hangs, alive, or it cannot reach Redis,
// where a poll it cannot enqueue stays due —, whatever the channel's last
// poll error says (it may be from before the channel's pull URL changed).
func pollsAskedFor(ch sync.OverdueChannel) bool {
	return ch.PulledAt != nil && time.Since(*ch.PulledAt) <= 2*ch.PullInterval+time.Minute
}

// notScheduledTitle is the heading of the alert that no scheduler leads.
const notScheduledTitle = "keyrack's regular work is not being done"

// NotScheduledTitle is notScheduledTitle, for the page.
func (alertsView) NotScheduledTitle() string { return notScheduledTitle }

// whenAgo says a past time the way the pages do: when (in loc), and how
// long ago.
func whenAgo(t time.Time, loc *time.Location) string {
	return staffTime(t, loc) + " (" + lagText(time.Since(t)) + " ago)"
}

// refusedRecord is a reservation record a pull-mode channel serves that
// keyrack refused (pull_refused's details, sync's refusedRecord).
type refusedRecord struct {
	ID     string
	Record int64
	Queue  string
	Reason string
}

// Label names the record as the channel does: by its reservation id, or its
// place in the message when it has none.
func (r refusedRecord) Label() string {
	s := "record " + strconv.FormatInt(r.Record, 10)
	if r.ID != "" {
		s = r.ID
	}
	if r.Queue != "" {
		s += " (" + r.Queue + " queue)"
	}
	return s
}

// alertBooking names a booking to link to.
type alertBooking struct {
	ID    int64
	Label string
}

// routeUIAlerts registers the alerts pages under /admin/p/:property.
func (s *Server) routeUIAlerts(p *gin.RouterGroup) {
	p.GET("/alerts", s.alertsPage)
	p.POST("/alerts/incidents/:id/resolve", s.requireEditor, s.alertResolve)
	p.POST("/alerts/incidents/:id/sync", s.requireEditor, s.alertSyncFeed)
	p.POST("/alerts/incidents/:id/retry", s.requireEditor, s.alertRetryWebhook)
	p.POST("/alerts/dead-letters/retry", s.requireEditor, s.alertRetryDeadLetter)
}

func alertsPath(prop inventory.Property) string { return "/admin/p/" + prop.Code + "/alerts" }

func (s *Server) alertsPage(c *gin.Context) {
	page := 1
	k := c.Query("kind")
	if k != "" {
		if !slices.Contains(alertSections, k) {
			s.renderError(c, http.StatusNotFound, "There is no kind of alert "+k+".")
			return
		}
		if p := c.Query("page"); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil || n < 1 || n > 100000 {
				s.renderError(c, http.StatusNotFound, "Page "+p+" of these alerts does not exist.")
				return
			}
			page = n
		}
	}
	s.showAlerts(c, http.StatusOK, k, page, "")
}

// refuseOnAlertsPage answers an action of the alerts page that did
// nothing with the page it came from (the kind and page its form carries),
// why at its top — not with an error page, which lost the alerts.
func (s *Server) refuseOnAlertsPage(c *gin.Context, status int, why string) {
	k, page := alertsFrom(c)
	s.showAlerts(c, status, k, page, why)
}

// showAlerts answers with the alerts page: every section, or section k
// alone at page; refused, when set, says why an action did nothing.
func (s *Server) showAlerts(c *gin.Context, status int, k string, page int, refused string) {
	ctx := c.Request.Context()
	prop := uiProp(c)
	v := alertsView{CanRetryWebhook: s.fanout != nil, Pages: map[string]alertsPager{}, Refused: refused}
	if k != "" {
		v.Kind, v.Page = k, page
		v.BackFields = template.HTML(`<input type="hidden" name="kind" value="` + template.HTMLEscapeString(k) +
			`"><input type="hidden" name="page" value="` + strconv.Itoa(page) + `">`)
	}
	incs, err := s.store.Incidents(ctx, prop.Code, true)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	// Each section shows a page of its own alerts, newest first (the
	// store's order), so that thousands of parked bookings push no
	// overbooked night out of sight; its count is of all of them.
	bySection := map[string][]inventory.Incident{}
	for _, inc := range incs {
		sec := alertSection(inc.Kind)
		bySection[sec] = append(bySection[sec], inc)
	}
	var shown []inventory.Incident
	for _, sec := range alertSections {
		if sec == "dead_letter" {
			continue // from the task queue, below
		}
		from, to := v.paginate(prop, sec, len(bySection[sec]), page)
		shown = append(shown, bySection[sec][from:to]...)
		v.Count += len(bySection[sec])
	}
	// Every booking the shown alerts name, and every overbooked night,
	// read at once rather than one query per alert.
	var ids []int64
	var first, last inventory.Date
	for _, inc := range shown {
		it := decodeIncident(inc, pageZone(c))
		if inc.Kind == "overbooking" {
			ids = append(ids, it.Bookings...)
			if inc.Night != nil {
				if first.IsZero() || inc.Night.Before(first) {
					first = *inc.Night
				}
				if last.IsZero() || last.Before(*inc.Night) {
					last = *inc.Night
				}
			}
		} else if inc.ReservationID != nil {
			ids = append(ids, *inc.ReservationID)
		}
	}
	found, err := s.store.ReservationsByID(ctx, prop.Code, ids)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	// booking is a reservation an alert names; nil when it is gone.
	booking := func(id int64) (*inventory.Reservation, error) {
		if r, ok := found[id]; ok {
			return &r, nil
		}
		return nil, nil
	}
	nights := map[inventory.Date][]inventory.Night{}
	if !first.IsZero() {
		ns, err := s.store.Availability(ctx, prop.Code, first, last.AddDays(1))
		if err != nil {
			s.uiFail(c, err)
			return
		}
		for _, n := range ns {
			nights[n.Night] = append(nights[n.Night], n)
		}
	}
	for _, inc := range shown {
		it := decodeIncident(inc, pageZone(c))
		if inc.Kind == "overbooking" {
			if inc.Night != nil {
				ns, seen := nights[*inc.Night]
				if !seen {
					if ns, err = s.store.Availability(ctx, prop.Code, *inc.Night, inc.Night.AddDays(1)); err != nil {
						s.uiFail(c, err)
						return
					}
					nights[*inc.Night] = ns
				}
				if i := slices.IndexFunc(ns, func(n inventory.Night) bool { return n.Pool == inc.Pool }); i >= 0 {
					it.Now = &ns[i]
				}
			}
			for _, id := range it.Bookings {
				r, err := booking(id)
				if err != nil {
					s.uiFail(c, err)
					return
				}
				b := alertBooking{ID: id, Label: "#" + strconv.FormatInt(id, 10)}
				if r != nil {
					b.Label = r.ExternalID + " (" + r.Channel + ")"
				}
				it.Overbooked = append(it.Overbooked, b)
			}
		} else if inc.ReservationID != nil {
			r, err := booking(*inc.ReservationID)
			if err != nil {
				s.uiFail(c, err)
				return
			}
			it.Booking = r
			if it.Booking != nil && it.Channel == "" {
				it.Channel = it.Booking.Channel
			}
		}
		if inc.Kind == "unmapped_booking" && it.Booking != nil {
			for _, st := range it.Booking.Stays {
				if st.RoomType == "" && st.ChannelRoom == "" {
					it.NoRoom = true
				}
				if st.RoomType == "" && st.ChannelRoom != "" && !slices.Contains(it.UnmappedRooms, st.ChannelRoom) {
					it.UnmappedRooms = append(it.UnmappedRooms, st.ChannelRoom)
				}
			}
		}
		switch inc.Kind {
		case "database_restored":
			v.Restored = append(v.Restored, it)
		case "overbooking":
			v.Overbookings = append(v.Overbookings, it)
		case "unmapped_booking":
			v.Unmapped = append(v.Unmapped, it)
		case "webhook_failed":
			v.Webhooks = append(v.Webhooks, it)
		case "unacked_revision":
			v.Unacked = append(v.Unacked, it)
		case "stale_feed":
			v.StaleFeeds = append(v.StaleFeeds, it)
		case "stale_export":
			v.StaleExports = append(v.StaleExports, it)
		case "stale_pull":
			v.StalePulls = append(v.StalePulls, it)
		case "pull_refused":
			v.RefusedPulls = append(v.RefusedPulls, it)
		default:
			v.Other = append(v.Other, it)
		}
	}
	if s.fanout != nil && v.Kind == "" {
		// From PostgreSQL, by this process: it must not depend on the
		// worker or scheduler it is about.
		if o, err := s.fanout.Overdue(ctx, prop.Code); err != nil {
			s.log.Warn("alerts: overdue work is not listed", "property", prop.Code, "err", err)
		} else {
			v.NotSent, v.NotFetched, v.NotScheduled = notDone(o, pageZone(c))
			v.NoRedis = noRedis(o, pageZone(c))
			v.Count += len(v.NotSent) + len(v.NotFetched) + len(v.NoRedis)
			if v.NotScheduled != nil {
				v.Count++
			}
		}
	}
	if s.fanout == nil {
		v.QueueNote = "The task queue is not connected to this server, so dead-lettered deliveries cannot be listed here."
	} else {
		archived, err := s.archivedWithin(ctx, alertsQueueWait)
		if err != nil {
			s.log.Warn("alerts: dead letters are not listed", "property", prop.Code, "err", err)
			v.QueueNote = "The task queue (Redis) did not answer, so dead-lettered deliveries cannot be listed right now. Reload in a moment."
		}
		for _, a := range archived {
			if a.Property == prop.Code {
				v.DeadLetters = append(v.DeadLetters, a)
			}
		}
		slices.SortStableFunc(v.DeadLetters, func(a, b sync.ArchivedTask) int { return b.LastFailedAt.Compare(a.LastFailedAt) })
		v.Count += len(v.DeadLetters)
		from, to := v.paginate(prop, "dead_letter", len(v.DeadLetters), page)
		v.DeadLetters = v.DeadLetters[from:to]
	}
	title := "Alerts"
	if v.Count > 0 {
		title = fmt.Sprintf("Alerts (%d)", v.Count)
	}
	s.render(c, status, "alerts", title, "alerts", v)
}

// alertsPageSize is how many alerts of a kind the alerts page shows at once.
const alertsPageSize = 50

// alertSections are the alerts page's sections, as its ?kind= names them:
// the incident kinds it knows, dead-lettered deliveries, and the rest.
var alertSections = []string{"database_restored", "overbooking", "unmapped_booking", "dead_letter", "webhook_failed", "unacked_revision",
	"stale_feed", "stale_export", "stale_pull", "pull_refused", "other"}

// alertSection is the section an incident of kind is listed in.
func alertSection(kind string) string {
	if kind != "dead_letter" && slices.Contains(alertSections, kind) {
		return kind
	}
	return "other"
}

// alertsPager is where a section's alerts shown are among all of its.
type alertsPager struct {
	Total       int
	First, Last int    // the numbers of the first and last shown, 1-based (0 when none is)
	Page        int    // 1-based
	Prev, Next  string // the previous and next pages' URLs ("" when none)
	Alone       string // the section alone, when it is shown among the others and has more
}

// alertsQuery is the query string of a section's page.
func alertsQuery(kind string, page int) string {
	q := url.Values{"kind": {kind}}
	if page > 1 {
		q.Set("page", strconv.Itoa(page))
	}
	return q.Encode()
}

// paginate says which of a section's total alerts are shown, [from, to),
// and records its pager; a section not shown (another is shown alone)
// shows none.
func (v *alertsView) paginate(prop inventory.Property, sec string, total, page int) (from, to int) {
	if v.Kind != "" && v.Kind != sec {
		return 0, 0
	}
	if v.Kind == "" {
		page = 1
	}
	from = min(total, (page-1)*alertsPageSize)
	to = min(total, from+alertsPageSize)
	pg := alertsPager{Total: total, Page: page}
	if to > from {
		pg.First, pg.Last = from+1, to
	}
	base := alertsPath(prop) + "?"
	switch {
	case v.Kind == "" && to < total:
		pg.Alone = base + alertsQuery(sec, 1)
		pg.Next = base + alertsQuery(sec, 2)
	case v.Kind != "":
		if page > 1 {
			pg.Prev = base + alertsQuery(sec, page-1)
		}
		if to < total {
			pg.Next = base + alertsQuery(sec, page+1)
		}
	}
	v.Pages[sec] = pg
	return from, to
}

// alertsBack is the alerts page an action's form came from (the form
// carries its kind and page), to go back to after the action.
func alertsBack(c *gin.Context, prop inventory.Property) string {
	k, page := alertsFrom(c)
	if k == "" {
		return alertsPath(prop)
	}
	return alertsPath(prop) + "?" + alertsQuery(k, page)
}

// alertsFrom is the section an action's form came from and its page
// ("" and 1: every section).
func alertsFrom(c *gin.Context) (kind string, page int) {
	k := c.PostForm("kind")
	if !slices.Contains(alertSections, k) {
		return "", 1
	}
	page, err := strconv.Atoi(c.PostForm("page"))
	if err != nil || page < 1 || page > 100000 {
		page = 1
	}
	return k, page
}

// alertsQueueWait bounds how long the alerts page waits for Redis: a Redis
// that hangs must not keep staff from the incidents.
const alertsQueueWait = 2 * time.Second

// archivedWithin lists the dead-lettered deliveries, giving up after wait
// (asynq's inspector takes no context).
func (s *Server) archivedWithin(ctx context.Context, wait time.Duration) ([]sync.ArchivedTask, error) {
	type result struct {
		tasks []sync.ArchivedTask
		err   error
	}
	done := make(chan result, 1)
	go func() {
		tasks, err := s.fanout.Archived(ctx)
		done <- result{tasks, err}
	}()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case r := <-done:
		return r.tasks, r.err
	case <-t.C:
		return nil, fmt.Errorf("the task queue did not answer within %s", wait)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// decodeIncident reads what the details of each kind of incident carry
// (see the INSERTs into incidents in inventory and sync).
func decodeIncident(inc inventory.Incident, loc *time.Location) alertItem {
	d := inc.Details
	it := alertItem{Incident: inc,
		Channel:      detailString(d, "channel"),
		RoomType:     detailString(d, "room_type"),
		FeedID:       detailInt(d, "feed_id"),
		RevisionSeq:  detailInt(d, "revision_seq"),
		Attempts:     detailInt(d, "attempts"),
		LastError:    detailString(d, "last_error"),
		LastOKAt:     detailString(d, "last_ok_at"),
		Prefix:       detailString(d, "prefix"),
		LastUsedAt:   detailString(d, "last_used_at"),
		FailingSince: detailString(d, "failing_since"),
		MissingSince: detailString(d, "missing_since"),
		RestoredAt:   detailString(d, "restored_at"),
	}
	for _, at := range []*string{&it.LastOKAt, &it.LastUsedAt, &it.FailingSince, &it.MissingSince, &it.RestoredAt} {
		if t, err := time.Parse(time.RFC3339Nano, *at); err == nil {
			*at = staffTime(t, loc)
		}
	}
	if inc.Kind == "pull_refused" {
		it.Served, it.RefusedCount = detailInt(d, "served"), detailInt(d, "refused")
		rs, _ := d["records"].([]any)
		for _, r := range rs {
			if m, ok := r.(map[string]any); ok {
				it.Refused = append(it.Refused, refusedRecord{ID: detailString(m, "id"), Record: detailInt(m, "record"),
					Queue: detailString(m, "queue"), Reason: detailString(m, "reason")})
			}
		}
	}
	if rs, ok := d["reservations"].([]any); ok {
		for _, r := range rs {
			if id := anyInt(r); id > 0 && !slices.Contains(it.Bookings, id) {
				it.Bookings = append(it.Bookings, id)
			}
		}
	}
	if len(it.Bookings) == 0 && inc.Kind == "overbooking" && inc.ReservationID != nil {
		it.Bookings = []int64{*inc.ReservationID}
	}
	if inc.Night != nil {
		it.NightTo = inc.Night.AddDays(1).String()
	}
	return it
}

func detailString(d map[string]any, key string) string {
	switch v := d[key].(type) {
	case string:
		return v
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

func detailInt(d map[string]any, key string) int64 { return anyInt(d[key]) }

// anyInt reads a JSON number however it was decoded.
func anyInt(v any) int64 {
	switch n := v.(type) {
	case float64:
		return int64(n)
	case int64:
		return n
	case int:
		return int64(n)
	case json.Number:
		i, _ := n.Int64()
		return i
	case string:
		i, _ := strconv.ParseInt(n, 10, 64)
		return i
	}
	return 0
}

// openIncident finds an open incident of the page's property by the id in
// the path; it answers with the alerts page, saying why, when there is none.
func (s *Server) openIncident(c *gin.Context) (alertItem, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		s.refuseOnAlertsPage(c, http.StatusNotFound, "There is no alert "+c.Param("id")+".")
		return alertItem{}, false
	}
	incs, err := s.store.Incidents(c.Request.Context(), uiProp(c).Code, true)
	if err != nil {
		s.uiFail(c, err)
		return alertItem{}, false
	}
	for _, inc := range incs {
		if inc.ID == id {
			return decodeIncident(inc, pageZone(c)), true
		}
	}
	s.refuseOnAlertsPage(c, http.StatusNotFound, "Alert "+c.Param("id")+" is no longer open: someone may have resolved it already.")
	return alertItem{}, false
}

// alertFail answers an error of an alert's action: on the alerts page
// when staff can act on it (the alert went meanwhile, …), a logged 500
// otherwise.
func (s *Server) alertFail(c *gin.Context, err error) {
	s.refuseOrFail(c, err, func(status int, why string) { s.refuseOnAlertsPage(c, status, upperFirst(why)) })
}

// alertResolve closes an incident by hand: an overbooking once the guest
// has been relocated, an unmapped booking once its room is mapped and the
// booking put right, a revision the PMS will never acknowledge, a webhook
// given up on, a restore from a backup once the bookings made since are
// entered.
func (s *Server) alertResolve(c *gin.Context) {
	prop := uiProp(c)
	it, ok := s.openIncident(c)
	if !ok {
		return
	}
	if err := s.store.ResolveIncident(c.Request.Context(), prop.Code, it.ID, staff(c).Actor()); err != nil {
		s.alertFail(c, err)
		return
	}
	what := "The alert"
	switch it.Kind {
	case "overbooking":
		what = "The overbooking of pool " + it.Pool
		if it.Night != nil {
			what += " on " + it.Night.String()
		}
	case "unmapped_booking":
		what = "The unmapped booking alert"
	case "unacked_revision":
		what = "The unacknowledged revision alert"
	case "webhook_failed":
		what = "The failed webhook alert"
	case "stale_feed":
		what = "The stale feed alert"
	case "stale_export":
		what = "The unfetched export calendar alert"
	case "stale_pull":
		what = "The alert of a channel keyrack cannot poll"
	case "pull_refused":
		what = "The alert of the reservations keyrack refused from a channel"
	case "database_restored":
		what = "The alert of the restore from a backup"
	}
	redirectFlash(c, alertsBack(c, prop), what+" is resolved.")
}

// alertSyncFeed makes the feed of a stale-feed incident due for a fetch
// now; a good fetch resolves the incident.
func (s *Server) alertSyncFeed(c *gin.Context) {
	prop := uiProp(c)
	it, ok := s.openIncident(c)
	if !ok {
		return
	}
	if it.Kind != "stale_feed" || it.Channel == "" || it.FeedID == 0 {
		s.refuseOnAlertsPage(c, http.StatusBadRequest, "Alert "+strconv.FormatInt(it.ID, 10)+" is not about an iCal feed: nothing was fetched.")
		return
	}
	if err := s.store.FetchICalFeedNow(c.Request.Context(), prop.Code, it.Channel, it.FeedID); err != nil {
		s.alertFail(c, err)
		return
	}
	redirectFlash(c, alertsBack(c, prop), fmt.Sprintf("The iCal feed of %s for %s is fetched at the next poll; the alert closes after a good fetch.",
		it.Channel, cmp.Or(it.RoomType, "its room type")))
}

// alertRetryWebhook sends the feed entry of a webhook_failed incident
// again; its delivery resolves the incident.
func (s *Server) alertRetryWebhook(c *gin.Context) {
	prop := uiProp(c)
	it, ok := s.openIncident(c)
	if !ok {
		return
	}
	if it.Kind != "webhook_failed" || it.Channel == "" || it.FeedID == 0 {
		s.refuseOnAlertsPage(c, http.StatusBadRequest, "Alert "+strconv.FormatInt(it.ID, 10)+" is not about a failed webhook: nothing was sent.")
		return
	}
	if s.fanout == nil {
		s.refuseOnAlertsPage(c, http.StatusServiceUnavailable, "The task queue is not connected to this server: the webhook cannot be sent again from here.")
		return
	}
	if err := s.fanout.RetryWebhook(c.Request.Context(), prop.Code, it.Channel, it.FeedID); err != nil {
		s.alertFail(c, err)
		return
	}
	redirectFlash(c, alertsBack(c, prop), "The webhook to "+it.Channel+" is queued again; the alert closes when it is delivered.")
}

// alertRetryDeadLetter runs a dead-lettered delivery of this property again.
func (s *Server) alertRetryDeadLetter(c *gin.Context) {
	prop := uiProp(c)
	if s.fanout == nil {
		s.refuseOnAlertsPage(c, http.StatusServiceUnavailable, "The task queue is not connected to this server: the delivery cannot be retried from here.")
		return
	}
	ctx := c.Request.Context()
	queue, task := c.PostForm("queue"), c.PostForm("task")
	archived, err := s.fanout.Archived(ctx)
	if err != nil {
		s.alertFail(c, err)
		return
	}
	// Only a delivery of this property: the form names any task.
	i := slices.IndexFunc(archived, func(a sync.ArchivedTask) bool {
		return a.Queue == queue && a.ID == task && a.Property == prop.Code
	})
	if i < 0 {
		s.refuseOnAlertsPage(c, http.StatusNotFound, "That delivery is no longer dead-lettered: it may have been retried already.")
		return
	}
	if err := s.fanout.RetryArchived(ctx, queue, task); err != nil {
		s.alertFail(c, err)
		return
	}
	redirectFlash(c, alertsBack(c, prop), "The delivery to "+archived[i].Channel+" is queued again.")
}
