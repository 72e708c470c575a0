package web

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/sync"
)

// The inventory grid: pools × nights, each cell the night's sold / limit,
// what is still offered, stop-sell, overbooking, and whether every channel
// has acknowledged the value (the fan-out's night marks). A cell links to
// its detail — a page of its own without JavaScript, a side panel with
// htmx — showing each channel's last acknowledgement and quick open/close
// buttons. The edit form changes units, the overbooking factor and
// stop-sell on a range of nights through the same store method as the API
// (Store.EditNights), which writes the outbox in its transaction: the relay
// pushes the change at once.

// routeUIGrid registers the grid pages under /admin/p/:property.
func (s *Server) routeUIGrid(p *gin.RouterGroup) {
	p.GET("/grid", s.uiGrid)
	p.GET("/grid/cell", s.uiGridCell)
	p.POST("/grid/edit", s.requireEditor, s.uiGridEdit)
}

// gridSpans are the numbers of nights the grid shows at once.
var gridSpans = []int{30, 90}

// gridPage is the data of the grid's template set: the grid, or one
// cell's detail.
type gridPage struct {
	Grid *gridData
	Cell *cellData
}

// gridData is the grid page.
type gridData struct {
	From, To inventory.Date // the nights shown, [From, To)
	Days     int
	Today    inventory.Date
	Base     string // the grid's path
	Links    gridLinks
	Heads    []gridHead
	Rows     []gridRow
	Pools    []inventory.Pool
	// Sync: the channels' acknowledgements are shown (a fan-out is
	// configured and its marks could be read); SyncProblem says why not.
	Sync        bool
	SyncProblem string
	Channels    []sync.MarkChannel
	Pending     int // cells with a channel that has not acknowledged the current value
	Form        gridForm
	Message     string // the outcome of an edit made with htmx
	Error       string // why an edit was refused
	CanEdit     bool
}

// gridLinks are the grid's paging and span links.
type gridLinks struct {
	Back90, Back30, Today, Fwd30, Fwd90 string
	Span                                map[int]string
}

// gridHead is one night's column header.
type gridHead struct {
	Night   inventory.Date
	Day     int
	Weekday string
	Month   string // set on the first column and on the 1st of a month
	// Weekend is a hotel's: the nights of Friday and Saturday.
	Weekend bool
	Today   bool
}

// gridRow is one pool. Its cells are written in Go rather than by the
// template: at 20 pools × 90 nights, html/template's reflection and
// per-action escaping cost several times the rest of the page. Every value
// written into them is escaped with template.HTMLEscapeString.
type gridRow struct {
	Pool   inventory.Pool
	Factor string
	Cells  template.HTML
}

// gridForm is the edit form as typed; nights are [From, To] inclusive on
// the form (staff pick the first and the last night), [From, To+1) in the store.
type gridForm struct {
	Pool, From, To, Units, Factor, Status string
	BackFrom                              string
	BackDays                              int
	// Weekdays are the days of the week ticked (zero: every day); NoDays
	// says the form came with none ticked.
	Weekdays inventory.Weekdays
	NoDays   bool
}

// dayBox is one day-of-the-week box of the edit form.
type dayBox struct {
	Value, Label string
	Checked      bool
}

// DayBoxes are the form's days of the week, Monday first.
func (f gridForm) DayBoxes() []dayBox {
	var out []dayBox
	for _, d := range inventory.Weekdays(0).Days() {
		name := d.String()[:3]
		out = append(out, dayBox{Value: strings.ToLower(name), Label: name, Checked: !f.NoDays && f.Weekdays.Has(d)})
	}
	return out
}

// formWeekdays reads the edit form's ticked days. A form without the days'
// boxes (days_shown absent: an older page, a script) changes every night.
func formWeekdays(c *gin.Context) (w inventory.Weekdays, none bool, bad string) {
	ticked := c.PostFormArray("days")
	if c.PostForm("days_shown") == "" && len(ticked) == 0 {
		return 0, false, ""
	}
	if len(ticked) == 0 {
		return 0, true, ""
	}
	w, err := inventory.ParseWeekdays(strings.Join(ticked, ","))
	if err != nil {
		return 0, false, "Days of the week: " + inventory.ErrorMessage(err) + "."
	}
	return w, false, ""
}

func gridPath(prop inventory.Property) string {
	return "/admin/p/" + url.PathEscape(prop.Code) + "/grid"
}

func gridURL(prop inventory.Property, from inventory.Date, days int) string {
	return gridPath(prop) + "?from=" + from.String() + "&days=" + strconv.Itoa(days)
}

// propertyToday is the property's local date.
func (s *Server) propertyToday(prop inventory.Property) inventory.Date {
	return inventory.LocalDate(s.now(), propertyZone(prop))
}

// propertyTonight is the first night the property sells: the grid starts
// there and its channels are sent no night before it (Property.Tonight).
func (s *Server) propertyTonight(prop inventory.Property) inventory.Date {
	return prop.Tonight(s.now(), propertyZone(prop))
}

// gridView reads ?from= and ?days= (or their form twins); it reports a
// message for staff when they are not valid.
func (s *Server) gridView(prop inventory.Property, fromText, daysText string) (inventory.Date, int, string) {
	from, days := s.propertyTonight(prop), 30
	if fromText != "" {
		d, err := inventory.ParseDate(fromText)
		if err != nil {
			return from, days, fmt.Sprintf("%q is not a date: use YYYY-MM-DD.", fromText)
		}
		from = d
	}
	if daysText != "" {
		n, err := strconv.Atoi(daysText)
		if err != nil || (n != 30 && n != 90) {
			return from, days, "The grid shows 30 or 90 nights."
		}
		days = n
	}
	return from, days, ""
}

// uiGrid shows the grid.
func (s *Server) uiGrid(c *gin.Context) {
	prop := uiProp(c)
	from, days, bad := s.gridView(prop, c.Query("from"), c.Query("days"))
	if bad != "" {
		s.renderError(c, http.StatusBadRequest, bad)
		return
	}
	form := gridForm{Pool: c.Query("pool"), From: c.Query("edit_from"), To: c.Query("edit_to"), Status: "leave"}
	if form.From == "" {
		form.From = from.String()
	}
	if form.To == "" {
		form.To = form.From
	}
	d, err := s.gridData(c, prop, from, days, form)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	s.render(c, http.StatusOK, "grid", "Inventory", "grid", gridPage{Grid: d})
}

// gridData reads everything the grid shows: the pools, their nights and,
// with a fan-out, the channels' acknowledgements.
func (s *Server) gridData(c *gin.Context, prop inventory.Property, from inventory.Date, days int, form gridForm) (*gridData, error) {
	ctx := c.Request.Context()
	to := from.AddDays(days)
	d := &gridData{From: from, To: to, Days: days, Today: s.propertyTonight(prop), Base: gridPath(prop), Form: form, CanEdit: staff(c).CanEdit()}
	d.Form.BackFrom, d.Form.BackDays = from.String(), days
	d.Links = gridLinks{
		Back90: gridURL(prop, from.AddDays(-90), days), Back30: gridURL(prop, from.AddDays(-30), days),
		Today: gridURL(prop, d.Today, days),
		Fwd30: gridURL(prop, from.AddDays(30), days), Fwd90: gridURL(prop, from.AddDays(90), days),
		Span: map[int]string{},
	}
	for _, n := range gridSpans {
		d.Links.Span[n] = gridURL(prop, from, n)
	}

	// The marks come from their own round trip; read them meanwhile.
	type marksResult struct {
		m   *sync.NightMarks
		err error
	}
	var marksDone chan marksResult
	if s.fanout != nil {
		marksDone = make(chan marksResult, 1)
		go func() {
			m, err := s.fanout.NightMarks(ctx, prop.Code, from, to)
			marksDone <- marksResult{m, err}
		}()
	}
	var pools []inventory.Pool
	poolsErr := make(chan error, 1)
	go func() {
		var err error
		pools, err = s.store.Pools(ctx, prop.Code)
		poolsErr <- err
	}()
	nights, err := s.store.Availability(ctx, prop.Code, from, to)
	if perr := <-poolsErr; err == nil {
		err = perr
	}
	if err != nil {
		return nil, err
	}
	var marks *sync.NightMarks
	if marksDone != nil {
		r := <-marksDone
		if r.err != nil {
			s.log.Warn("ui: night marks failed", "property", prop.Code, "err", r.err)
			d.SyncProblem = "The channels' acknowledgements could not be read just now; the grid shows the pool only."
		} else {
			marks, d.Sync, d.Channels = r.m, true, r.m.Channels
		}
	} else {
		d.SyncProblem = "No fan-out is configured in this process: the channels' acknowledgements are not shown."
	}
	d.Pools = pools
	if d.Form.Pool == "" && len(pools) > 0 {
		d.Form.Pool = pools[0].Code
	}

	d.Heads = make([]gridHead, days)
	for i := range days {
		n := from.AddDays(i)
		wd := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, time.UTC).Weekday()
		h := gridHead{Night: n, Day: n.Day(), Weekday: wd.String()[:3], Weekend: wd == time.Friday || wd == time.Saturday, Today: n == d.Today}
		if i == 0 || n.Day() == 1 {
			h.Month = n.Month().String()[:3]
		}
		d.Heads[i] = h
	}
	// Availability orders the nights by pool, then night: each pool's
	// nights are one run of the slice.
	byPool := make(map[string][]inventory.Night, len(pools))
	for i := 0; i < len(nights); {
		j := i
		for j < len(nights) && nights[j].Pool == nights[i].Pool {
			j++
		}
		byPool[nights[i].Pool] = nights[i:j:j]
		i = j
	}
	w := gridWriter{d: d, marks: marks, cellBase: template.HTMLEscapeString(d.Base + "/cell?pool="), times: map[time.Time]string{}, zone: propertyZone(prop)}
	d.Rows = make([]gridRow, 0, len(pools))
	for _, p := range pools {
		d.Rows = append(d.Rows, w.row(p, byPool[p.Code]))
	}
	return d, nil
}

// gridWriter writes the grid's cells.
type gridWriter struct {
	d            *gridData
	marks        *sync.NightMarks // nil without a fan-out
	cellBase     string           // the cell detail's URL up to the pool, HTML-escaped
	title, cells strings.Builder
	times        map[time.Time]string // formatted acknowledgement times
	zone         *time.Location       // the property's, for those times
}

// row writes pool p's cells for its nights, counting the pending ones.
// It writes piece by piece rather than concatenating: at 1,800 cells a page
// the temporary strings are most of the page's garbage.
func (w *gridWriter) row(p inventory.Pool, nights []inventory.Night) gridRow {
	href := w.cellBase + template.HTMLEscapeString(url.QueryEscape(p.Code)) + "&amp;night="
	cells, title := &w.cells, &w.title
	cells.Reset()
	cells.Grow(len(nights) * 300)
	var num [24]byte
	itoa := func(b *strings.Builder, n int) { b.Write(strconv.AppendInt(num[:0], int64(n), 10)) }
	for _, n := range nights {
		night := n.Night.String()
		over := n.Sold > n.Limit
		title.Reset()
		title.WriteString(p.Code)
		title.WriteString(" ")
		title.WriteString(night)
		title.WriteString(": sold ")
		itoa(title, n.Sold)
		title.WriteString(" of ")
		itoa(title, n.Limit)
		title.WriteString(", ")
		itoa(title, n.Available)
		title.WriteString(" offered")
		if n.Units != p.Units || n.Factor != p.OverbookingFactor {
			title.WriteString(" (")
			itoa(title, n.Units)
			title.WriteString(" units × " + n.Factor.String() + ")")
		}
		if n.Closed {
			title.WriteString("; closed (stop-sell)")
		}
		if over {
			title.WriteString("; overbooked by ")
			itoa(title, n.Sold-n.Limit)
		}
		mark, markText := cellMarks(w.marks.Night(p.Code, n.Night), title, w.times, w.zone)
		if mark == "pending" {
			w.d.Pending++
		}

		cells.WriteString("<td")
		sep := ` class="`
		for _, c := range [...]struct {
			on   bool
			name string
		}{{n.Closed, "closed"}, {over, "over"}, {n.Available == 0 && !n.Closed, "full"}, {mark != "", mark},
			{w.d.Heads[n.Night.Sub(w.d.From)].Weekend, "we"}} {
			if c.on {
				cells.WriteString(sep)
				cells.WriteString(c.name)
				sep = " "
			}
		}
		if sep == " " {
			cells.WriteString(`"`)
		}
		// The table boosts the links (hx-boost): with htmx they open in the drawer.
		cells.WriteString(` title="`)
		template.HTMLEscape(cells, []byte(title.String()))
		cells.WriteString(`"><a href="`)
		cells.WriteString(href)
		cells.WriteString(night)
		cells.WriteString(`">`)
		itoa(cells, n.Sold)
		cells.WriteString("/")
		itoa(cells, n.Limit)
		cells.WriteString(`<span class="av">`)
		switch {
		case n.Closed:
			cells.WriteString("closed")
		case over:
			cells.WriteString("over")
		default:
			itoa(cells, n.Available)
			cells.WriteString(" left")
		}
		cells.WriteString("</span>")
		if mark != "" {
			sym := "○"
			if mark == "pending" {
				sym = "●"
			}
			cells.WriteString(`<span class="mark" aria-hidden="true">` + sym + `</span><span class="sr-only">`)
			template.HTMLEscape(cells, []byte(markText))
			cells.WriteString("</span>")
		}
		cells.WriteString("</a></td>")
	}
	return gridRow{Pool: p, Factor: p.OverbookingFactor.String(), Cells: template.HTML(cells.String())}
}

// cellMarks sums up where the channels stand on a night: the cell's mark
// and its words, and in the title which channels are not in sync, why,
// and what they last acknowledged (channels in the same state share a line,
// so a 90-night grid stays light). times caches formatted timestamps: a
// delivery acknowledges many nights at once; they are written in loc.
func cellMarks(cns []sync.ChannelNight, title *strings.Builder, times map[time.Time]string, loc *time.Location) (mark, text string) {
	if len(cns) == 0 {
		return "", ""
	}
	allSynced := true
	for i := range cns {
		allSynced = allSynced && cns[i].State == sync.MarkSynced
	}
	if allSynced {
		title.WriteString("\nevery channel acknowledged it")
		return "", ""
	}
	type group struct {
		state sync.MarkState
		line  string // the state in words, after the channels' codes
		codes []string
	}
	var groups [4]group
	used := groups[:0]
	var pending, unconfirmed int
	for _, cn := range cns {
		var line string
		switch cn.State {
		case sync.MarkPending:
			pending++
			line = "pending — " + cn.Why
			if cn.Acked != nil {
				at, ok := times[*cn.AckedAt]
				if !ok {
					at = staffTime(*cn.AckedAt, loc)
					times[*cn.AckedAt] = at
				}
				if strings.HasPrefix(cn.Why, "acknowledged ") {
					line += " (at " + at + ")"
				} else {
					line += "; last acknowledged " + strconv.Itoa(*cn.Acked) + " at " + at
				}
			}
		case sync.MarkUnconfirmed:
			unconfirmed++
			line = "never acknowledged"
		case sync.MarkSynced:
			line = "acknowledged"
		default:
			continue // not sent: nothing to say on the grid
		}
		found := false
		for i := range used {
			if used[i].line == line {
				used[i].codes = append(used[i].codes, cn.Channel.Code)
				found = true
				break
			}
		}
		if !found {
			used = append(used, group{state: cn.State, line: line, codes: []string{cn.Channel.Code}})
		}
	}
	var marked []string
	for _, g := range used {
		title.WriteString("\n" + strings.Join(g.codes, ", ") + ": " + g.line)
		if (pending > 0 && g.state == sync.MarkPending) || (pending == 0 && g.state == sync.MarkUnconfirmed) {
			marked = append(marked, g.codes...)
		}
	}
	switch {
	case pending > 0:
		return "pending", "not yet acknowledged by " + strings.Join(marked, ", ")
	case unconfirmed > 0:
		return "unconfirmed", "never acknowledged by " + strings.Join(marked, ", ")
	}
	return "", ""
}

// cellData is a cell's detail.
type cellData struct {
	Pool        inventory.Pool
	Night       inventory.Night
	Weekday     string
	Over        int
	Sync        bool
	SyncProblem string
	Channels    []sync.ChannelNight
	Grid        string // the grid around the night
	EditURL     string // the grid with the edit form filled in for the night
	Base        string
	CanEdit     bool
	BackFrom    string
	BackDays    int
	Panel       bool // shown in the grid's drawer (htmx), not as a page
}

// uiGridCell shows one pool-night: the pool's numbers and, per channel,
// what it last acknowledged, when, and whether a delivery is pending.
func (s *Server) uiGridCell(c *gin.Context) {
	prop := uiProp(c)
	ctx := c.Request.Context()
	if c.Query("close") != "" {
		c.Data(http.StatusOK, "text/html; charset=utf-8", nil) // the drawer's close button: an empty drawer hides
		return
	}
	night, err := inventory.ParseDate(c.Query("night"))
	if err != nil {
		s.renderError(c, http.StatusBadRequest, fmt.Sprintf("%q is not a night: use YYYY-MM-DD.", c.Query("night")))
		return
	}
	pools, err := s.store.Pools(ctx, prop.Code)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	d := cellData{Base: gridPath(prop), CanEdit: staff(c).CanEdit()}
	found := false
	for _, p := range pools {
		if p.Code == c.Query("pool") {
			d.Pool, found = p, true
		}
	}
	if !found {
		s.renderError(c, http.StatusNotFound, fmt.Sprintf("There is no pool %q in %s.", c.Query("pool"), prop.Name))
		return
	}
	nights, err := s.store.Availability(ctx, prop.Code, night, night.AddDays(1))
	if err != nil {
		s.uiFail(c, err)
		return
	}
	for _, n := range nights {
		if n.Pool == d.Pool.Code {
			d.Night = n
		}
	}
	d.Over = max(0, d.Night.Sold-d.Night.Limit)
	d.Weekday = time.Date(night.Year(), night.Month(), night.Day(), 0, 0, 0, 0, time.UTC).Weekday().String()
	if s.fanout != nil {
		if m, err := s.fanout.NightMarks(ctx, prop.Code, night, night.AddDays(1)); err != nil {
			s.log.Warn("ui: night marks failed", "property", prop.Code, "err", err)
			d.SyncProblem = "The channels' acknowledgements could not be read just now."
		} else {
			d.Sync, d.Channels = true, m.Night(d.Pool.Code, night)
		}
	}
	// Back to the grid the cell was opened from (htmx says which), or to
	// one around the night.
	back, days := night.AddDays(-3), 30
	if u, err := url.Parse(c.GetHeader("HX-Current-URL")); err == nil && u.Query().Get("from") != "" {
		if f, n, bad := s.gridView(prop, u.Query().Get("from"), u.Query().Get("days")); bad == "" {
			back, days = f, n
		}
	}
	d.BackFrom, d.BackDays = back.String(), days
	d.Grid = gridURL(prop, back, days)
	d.EditURL = d.Grid + "&pool=" + url.QueryEscape(d.Pool.Code) + "&edit_from=" + night.String() + "&edit_to=" + night.String() + "#edit"
	if c.GetHeader("HX-Request") != "" {
		d.Panel = true
		s.renderFragment(c, http.StatusOK, "grid", "cell", gridPage{Cell: &d})
		return
	}
	s.render(c, http.StatusOK, "grid", d.Pool.Code+" "+night.String(), "grid", gridPage{Cell: &d})
}

// uiGridEdit changes units, the overbooking factor and/or stop-sell on a
// pool's nights, audited as the staff user. Bad input is answered with the
// grid and the message (400), nothing changed; success goes back to the
// grid with a flash (with htmx: the grid's fragment, re-rendered).
func (s *Server) uiGridEdit(c *gin.Context) {
	prop := uiProp(c)
	form := gridForm{Pool: c.PostForm("pool"), From: strings.TrimSpace(c.PostForm("from")), To: strings.TrimSpace(c.PostForm("to")),
		Units: strings.TrimSpace(c.PostForm("units")), Factor: strings.TrimSpace(c.PostForm("factor")), Status: c.PostForm("status")}
	if form.Status == "" {
		form.Status = "leave"
	}
	var badDays string
	form.Weekdays, form.NoDays, badDays = formWeekdays(c)
	viewFrom, days, bad := s.gridView(prop, c.PostForm("back_from"), c.PostForm("back_days"))
	if bad != "" {
		viewFrom, days = s.propertyTonight(prop), 30
	}
	htmx := c.GetHeader("HX-Request") != ""
	refuse := func(msg string) {
		d, err := s.gridData(c, prop, viewFrom, days, form)
		if err != nil {
			s.uiFail(c, err)
			return
		}
		d.Error = msg
		if htmx {
			// htmx swaps only successful answers: the refusal is shown in
			// the fragment it swaps in.
			s.renderFragment(c, http.StatusOK, "grid", "grid-area", gridPage{Grid: d})
			return
		}
		s.render(c, http.StatusBadRequest, "grid", "Inventory", "grid", gridPage{Grid: d})
	}
	pools, err := s.store.Pools(c.Request.Context(), prop.Code)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	r, e, msg := parseGridEdit(prop, pools, form)
	if badDays != "" {
		msg = badDays
	}
	if msg != "" {
		refuse(msg)
		return
	}
	if err := s.store.EditNights(c.Request.Context(), r, e, staff(c).Actor()); err != nil {
		if code := inventory.ErrorCode(err); code == inventory.EINVALID || code == inventory.ENOTFOUND {
			refuse(inventory.ErrorMessage(err))
			return
		}
		s.uiFail(c, err)
		return
	}
	done := describeEdit(r, e, s.propertyTonight(prop), s.sellersOf(c, r))
	if e.Units != nil || e.Factor != nil {
		done += s.overAfterEdit(c, r)
	}
	if htmx {
		// The nights and days stay, for another change of them; what was
		// changed does not, so that a second click does not make it again.
		form.Units, form.Factor, form.Status = "", "", "leave"
		d, err := s.gridData(c, prop, viewFrom, days, form)
		if err != nil {
			s.uiFail(c, err)
			return
		}
		d.Message = done
		s.renderFragment(c, http.StatusOK, "grid", "grid-area", gridPage{Grid: d})
		return
	}
	redirectFlash(c, gridURL(prop, viewFrom, days), done)
}

// overAfterEdit says which nights of an edited range sell more than their
// limit now ("" when none does): lowering units (rooms out of order) below
// what is sold is allowed — the bookings stay — but it overbooks the night,
// and staff must hear it where they made the change, not find it later
// under Alerts.
func (s *Server) overAfterEdit(c *gin.Context, r inventory.NightRange) string {
	nights, err := s.store.Availability(c.Request.Context(), r.Property, r.From, r.To)
	if err != nil {
		s.log.Warn("ui: nights after an edit", "property", r.Property, "err", err) // the edit is made: say what is known
		return ""
	}
	var over []string
	for _, n := range nights {
		if n.Pool == r.Pool && r.Days.Has(n.Night.Weekday()) && n.Sold > n.Limit {
			over = append(over, fmt.Sprintf("%s (%d sold, limit %d)", n.Night, n.Sold, n.Limit))
		}
	}
	if len(over) == 0 {
		return ""
	}
	const listed = 5
	what := strings.Join(over[:min(len(over), listed)], ", ")
	if len(over) > listed {
		what += fmt.Sprintf(" and %d more", len(over)-listed)
	}
	nights1 := "nights are"
	if len(over) == 1 {
		nights1 = "night is"
	}
	return fmt.Sprintf(" Overbooked: %d %s sold past the new limit, %s; the bookings stay, so relocate guests or raise the units (see Alerts).",
		len(over), nights1, what)
}

// parseGridEdit checks the form; it returns a message for staff when
// something is wrong.
func parseGridEdit(prop inventory.Property, pools []inventory.Pool, f gridForm) (inventory.NightRange, inventory.NightEdit, string) {
	var e inventory.NightEdit
	r := inventory.NightRange{Property: prop.Code, Pool: f.Pool}
	known := false
	for _, p := range pools {
		known = known || p.Code == f.Pool
	}
	if !known {
		return r, e, fmt.Sprintf("There is no pool %q: pick one from the list.", f.Pool)
	}
	from, err := inventory.ParseDate(f.From)
	if err != nil {
		return r, e, fmt.Sprintf("First night %q is not a date: use YYYY-MM-DD.", f.From)
	}
	last, err := inventory.ParseDate(f.To)
	if err != nil {
		return r, e, fmt.Sprintf("Last night %q is not a date: use YYYY-MM-DD.", f.To)
	}
	if last.Before(from) {
		return r, e, fmt.Sprintf("The last night (%s) is before the first night (%s).", last, from)
	}
	if n := last.Sub(from) + 1; n > inventory.MaxRangeNights {
		return r, e, fmt.Sprintf("%d nights is too many for one change: at most %d.", n, inventory.MaxRangeNights)
	}
	r.From, r.To = from, last.AddDays(1)
	if f.NoDays {
		return r, e, "Tick at least one day of the week: the nights on the days ticked change."
	}
	r.Days = f.Weekdays
	if len(r.Selected()) == 0 {
		return r, e, fmt.Sprintf("No night from %s to %s falls on %s: widen the nights or tick other days.", from, last, r.Days)
	}
	r = r.Trimmed() // from the first night that changes to the last
	if f.Units != "" {
		u, err := strconv.Atoi(f.Units)
		if err != nil || u < 0 || u > 100000 {
			return r, e, fmt.Sprintf("Units %q: give a whole number between 0 and 100000.", f.Units)
		}
		e.Units = &u
	}
	if f.Factor != "" {
		fa, err := inventory.ParseFactor(f.Factor)
		if err != nil {
			return r, e, fmt.Sprintf("Overbooking factor %q: give a number such as 1.10 (at most two decimals), between 1.00 and 9.99.", f.Factor)
		}
		if fa < inventory.FactorOne {
			// A factor below 1 would hide rooms without saying so: staff
			// lower the units or close nights for that.
			return r, e, fmt.Sprintf("Overbooking factor %s: it must be at least 1.00 — to sell fewer rooms, lower the units or close the nights.", fa)
		}
		e.Factor = &fa
	}
	switch f.Status {
	case "leave":
	case "open", "close":
		closed := f.Status == "close"
		e.Closed = &closed
	default:
		return r, e, "Choose whether to open, close or leave the nights as they are."
	}
	if e.Units == nil && e.Factor == nil && e.Closed == nil {
		return r, e, "Nothing to change: give units, an overbooking factor, or open or close the nights."
	}
	return r, e, ""
}

// sellers are the channels that are sent a pool's availability, with how
// far ahead; known is false when they could not be read (no fan-out in this
// process, or the read failed).
type sellers struct {
	known    bool
	horizons []int    // of each channel selling the pool that is sent it, in nights
	unsent   []string // the channels selling the pool that are sent nothing, each with why ("expedia: the channel has no endpoint")
}

// sellersOf reads the channels that sell r's pool: every enabled channel
// but a PMS (sent reservations, not availability) with one of its room
// types mapped — those sent nothing (an OTA without an endpoint) apart.
func (s *Server) sellersOf(c *gin.Context, r inventory.NightRange) sellers {
	if s.fanout == nil {
		return sellers{}
	}
	m, err := s.fanout.NightMarks(c.Request.Context(), r.Property, r.From, r.From.AddDays(1))
	if err != nil {
		s.log.Warn("ui: channels selling an edited pool", "property", r.Property, "err", err) // the edit is made: say what is known
		return sellers{}
	}
	out := sellers{known: true}
	for _, ch := range m.Channels {
		switch {
		case ch.Kind == inventory.ChannelPMS || !slices.Contains(ch.Pools, r.Pool):
		case ch.Pushed || ch.Kind == inventory.ChannelICal: // a calendar platform fetches the export, which has the change
			out.horizons = append(out.horizons, ch.HorizonDays)
		default:
			out.unsent = append(out.unsent, ch.Code+": "+ch.NotPushed)
		}
	}
	return out
}

// describeEdit says what an edit did, for the flash, and what the
// channels are sent of it: nights before today never are, nor nights
// beyond every horizon of the channels selling the pool (sent as they come
// into one, by the nightly resync), nor anything when no channel sells it.
func describeEdit(r inventory.NightRange, e inventory.NightEdit, today inventory.Date, sold sellers) string {
	var what []string
	if e.Closed != nil {
		if *e.Closed {
			what = append(what, "closed (stop-sell)")
		} else {
			what = append(what, "opened")
		}
	}
	if e.Units != nil {
		what = append(what, fmt.Sprintf("units set to %d", *e.Units))
	}
	if e.Factor != nil {
		what = append(what, "overbooking factor set to "+e.Factor.String())
	}
	n := len(r.Selected())
	nights := fmt.Sprintf("%d nights, %s to %s", n, r.From, r.To.AddDays(-1))
	if !r.Days.Every() {
		nights = fmt.Sprintf("%d nights (%s only), %s to %s", n, r.Days, r.From, r.To.AddDays(-1))
	}
	if n == 1 {
		nights = "1 night, " + r.From.String()
	}
	from, to := r.From, r.To
	if from.Before(today) {
		from = today
	}
	var beyond string
	if sold.known && len(sold.horizons) > 0 {
		end := today.AddDays(slices.Max(sold.horizons)) // the first night no channel is sent
		if to.After(end) {
			to = end
			beyond = fmt.Sprintf(" The nights from %s on are beyond the horizon of every channel selling pool %s (the longest is %d nights): each channel is sent them as they come into its horizon.",
				end, r.Pool, slices.Max(sold.horizons))
		}
	}
	var sent string
	switch {
	case !r.To.After(today):
		sent = "These nights are past: no channel is sent them."
	case sold.known && len(sold.horizons) == 0 && len(sold.unsent) > 0:
		sent = "No channel is sent these nights (" + strings.Join(sold.unsent, "; ") + ")."
	case sold.known && len(sold.horizons) == 0:
		// Enabled: NightMarks reads those alone, and a pool whose channel is
		// switched off has a room type mapped all the same.
		sent = "No enabled channel has a room type of pool " + r.Pool + " mapped: no channel is sent these nights."
	case !to.After(from):
		sent = strings.TrimPrefix(beyond, " ")
	case r.From.Before(today):
		sent = "The channels are being updated from " + today.String() + " on; the past nights are not sent." + beyond
	case beyond != "":
		sent = "The channels are being updated up to " + to.AddDays(-1).String() + "." + beyond
	default:
		sent = "The channels are being updated."
	}
	if len(sold.horizons) > 0 && len(sold.unsent) > 0 && r.To.After(today) {
		sent += " Not sent to " + strings.Join(sold.unsent, "; ") + "."
	}
	return fmt.Sprintf("Pool %s, %s: %s. %s", r.Pool, nights, strings.Join(what, ", "), sent)
}
