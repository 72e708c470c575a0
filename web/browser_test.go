package web_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	gosync "sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/keyrack/keyrack/connectors"
	"github.com/keyrack/keyrack/connectors/otaxml"
	"github.com/keyrack/keyrack/fixtures"
	"github.com/keyrack/keyrack/fixtures/otachannel"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/inventory/inventorytest"
	"github.com/keyrack/keyrack/sync"
	"github.com/keyrack/keyrack/sync/synctest"
	"github.com/keyrack/keyrack/web"
	"github.com/stretchr/testify/require"
)

// Browser tests drive Debian's headless Chromium (installed by .ci/run)
// through the admin UI of a full keyrack: PostgreSQL, Redis, the fan-out's
// worker and scheduler, the demo hotel. Without Chromium they are skipped
// on a developer's machine and fail in CI.

// chromium finds the browser.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("Chromium is needed for the browser tests: apt-get install -y chromium (.ci/run does)")
	}
	t.Skip("no Chromium: apt-get install -y chromium to run the browser tests")
	return ""
}

// stack is keyrack with the demo hotel, staff users anna (admin) and
// victor (viewer), and the fan-out running.
type stack struct {
	t   *testing.T
	st  *inventory.Store
	ts  *httptest.Server
	fan *sync.Fanout
	sec *inventory.Secrets
	// redisURL and prefix are the fan-out's queues.
	redisURL, prefix string
}

func newStack(t *testing.T) *stack {
	t.Helper()
	ctx := context.Background()
	st := inventorytest.New(t)
	sec, err := inventory.NewSecrets("test secret of keyrack's browser tests")
	require.NoError(t, err)
	_, err = fixtures.SeedDemo(ctx, st)
	require.NoError(t, err)
	for name, role := range map[string]string{"anna": inventory.RoleAdmin, "victor": inventory.RoleViewer} {
		_, err := st.CreateStaffUser(ctx, name, role, uiPassword, inventory.System)
		require.NoError(t, err)
	}
	redisURL := synctest.RedisURL(t)
	prefix := synctest.QueuePrefix(t, redisURL)
	q := openQueue(t, redisURL)
	ota := &otaxml.Connector{}
	f, err := sync.New(sync.Config{DB: st.DB(), Queue: q, QueuePrefix: prefix, Secrets: sec, Store: st,
		Logger: slog.New(slog.DiscardHandler), ScheduleInterval: 100 * time.Millisecond, ResyncAt: "off",
		Connectors: connectors.Registry{inventory.ChannelOTAPush: ota, inventory.ChannelOTAPull: ota, inventory.ChannelGDS: ota}})
	require.NoError(t, err)
	ts := newTestServer(t, web.New(web.Config{Store: st, Queue: q, Fanout: f, Secrets: sec, Logger: slog.New(slog.DiscardHandler)}))
	rctx, cancel := context.WithCancel(ctx)
	var roles gosync.WaitGroup
	roles.Go(func() { _ = f.RunWorker(rctx) })
	roles.Go(func() { _ = f.RunScheduler(rctx) })
	t.Cleanup(func() { cancel(); roles.Wait() })
	return &stack{t: t, st: st, ts: ts, fan: f, sec: sec, redisURL: redisURL, prefix: prefix}
}

// browser opens a headless Chromium tab for the test, closed at its end.
// Actions run under a deadline derived from it.
func (s *stack) browser() context.Context {
	s.t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(s.t)),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.WindowSize(1366, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelCtx := chromedp.NewContext(actx)
	s.t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	// The first run starts the browser; it must not carry the deadline.
	require.NoError(s.t, chromedp.Do(bctx), "start Chromium")
	ctx, cancel := context.WithTimeout(bctx, 2*time.Minute)
	s.t.Cleanup(cancel)
	return ctx
}

// do runs browser steps and fails the test with the page's address and
// text when one fails.
func (s *stack) do(ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	s.t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		// The deadline may have passed: look without it.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		url, _ := chromedp.Run(dctx, chromedp.Location())
		body, _ := chromedp.Run(dctx, chromedp.Text(chromedp.CSS("body")))
		s.t.Fatalf("%s: %v\nat %s:\n%s", what, err, url, body)
	}
}

// text is the text of the first element matching the CSS selector sel.
func (s *stack) text(ctx context.Context, sel string) string {
	s.t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	require.NoError(s.t, err, "read %s", sel)
	return v
}

// eval runs JavaScript in the page.
func (s *stack) eval(ctx context.Context, js string) {
	s.t.Helper()
	_, err := chromedp.Run(ctx, chromedp.Evaluate[any](js))
	require.NoError(s.t, err, "evaluate %s", js)
}

// login logs in through the login form as name.
func (s *stack) login(ctx context.Context, name string) {
	s.t.Helper()
	s.do(ctx, "log in as "+name,
		chromedp.Navigate(s.ts.URL+"/admin/login"),
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), name),
		chromedp.SendKeys(chromedp.CSS("#password"), uiPassword),
		chromedp.Click(chromedp.CSS(`form[action="/admin/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("header.top .who")),
	)
}

// screenshot saves the page as a JPEG under t.TempDir, and with -update
// into web/screenshots/ (kept under 200 KB) for the README.
func (s *stack) screenshot(ctx context.Context, name string) {
	s.t.Helper()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(70))
	require.NoError(s.t, err, "screenshot %s", name)
	require.NotEmpty(s.t, buf)
	require.NoError(s.t, os.WriteFile(filepath.Join(s.t.TempDir(), name+".jpg"), buf, 0o644))
	if *updateGolden {
		require.Less(s.t, len(buf), 200<<10, "screenshot %s is %d bytes", name, len(buf))
		require.NoError(s.t, os.WriteFile(filepath.Join("screenshots", name+".jpg"), buf, 0o644))
	}
}

// Logging in through the form leads to the demo's inventory grid; a form
// whose CSRF token was taken out is refused.
func TestBrowserLoginShowsTheDemoGridAndCSRFIsEnforced(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	ctx := s.browser()
	s.login(ctx, "anna")
	s.do(ctx, "the grid", chromedp.WaitVisible(chromedp.CSS("main table")))
	require.Contains(t, s.text(ctx, "main"), "DBL")
	require.Contains(t, s.text(ctx, "header.top .who"), "anna (admin)")

	// Log out, then submit the login form without its CSRF token.
	s.do(ctx, "log out", chromedp.Click(chromedp.CSS(`form[action="/admin/logout"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#username")))
	s.eval(ctx, `document.querySelector('input[name="csrf_token"]').remove()`)
	s.do(ctx, "log in without the CSRF token",
		chromedp.SendKeys(chromedp.CSS("#username"), "anna"),
		chromedp.SendKeys(chromedp.CSS("#password"), uiPassword),
		chromedp.Click(chromedp.CSS(`form[action="/admin/login"] button[type=submit]`)),
		chromedp.WaitNotPresent(chromedp.CSS("#username")),
	)
	require.Contains(t, s.text(ctx, "body"), "Forbidden", "the form without its token is refused")
	s.do(ctx, "still logged out", chromedp.Navigate(s.ts.URL+"/admin/"), chromedp.WaitVisible(chromedp.CSS("#username")))
}

// book applies a must-accept revision on the demo hotel for channel ch.
func (s *stack) book(ch, id string, kind inventory.RevisionKind, arrival, departure string) inventory.Outcome {
	s.t.Helper()
	out, err := s.st.ApplyRevision(context.Background(), inventory.Revision{Property: "DEMO", Channel: ch, ExternalID: id, Kind: kind,
		Stays: []inventory.RoomStay{{RoomType: "DBL-STD", Arrival: inventory.MustDate(arrival), Departure: inventory.MustDate(departure)}},
		Guest: inventory.Guest{Name: "Ana Silva"}, Raw: []byte(`<OTA_HotelResNotifRQ><PaymentCard CardNumber="4111111111111111"/></OTA_HotelResNotifRQ>`)})
	require.NoError(s.t, err)
	return out
}

// Staff find a booking in the list and open it: every revision is there,
// its raw message masked.
func TestBrowserBookingShowsItsRevisions(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	today := inventory.Today(time.UTC)
	s.book("expedia", "EXP-77", inventory.New, today.AddDays(10).String(), today.AddDays(12).String())
	out := s.book("expedia", "EXP-77", inventory.Modify, today.AddDays(10).String(), today.AddDays(13).String())
	ctx := s.browser()
	s.login(ctx, "anna")
	link := fmt.Sprintf(`table.bookings a[href="/admin/p/DEMO/bookings/%d"]`, out.ReservationID)
	s.do(ctx, "open the booking from the list",
		chromedp.Navigate(s.ts.URL+"/admin/p/DEMO/bookings"),
		chromedp.WaitVisible(chromedp.CSS(link)),
		chromedp.Click(chromedp.CSS(link)),
		chromedp.WaitVisible(chromedp.CSS("#revisions")),
	)
	revs, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll("article.revision")))
	require.NoError(t, err)
	require.Len(t, revs, 2, "both revisions are shown")
	body := s.text(ctx, "main")
	require.Contains(t, body, "EXP-77")
	require.NotContains(t, body, "4111111111111111", "card numbers are masked")
	s.screenshot(ctx, "booking")
}

// A delivery that ran out of retries is listed among the alerts, and
// "retry" puts it back in the queue.
func TestBrowserDeadLetteredDeliveryIsRetried(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	archiveDelivery(t, s.st, s.redisURL, s.prefix+"critical", "DEMO", "expedia")
	archived, err := s.fan.Archived(context.Background())
	require.NoError(t, err)
	require.Len(t, archived, 1)

	ctx := s.browser()
	s.login(ctx, "anna")
	retry := `form[action="/admin/p/DEMO/alerts/dead-letters/retry"] button`
	s.do(ctx, "retry from the alerts page",
		chromedp.Navigate(s.ts.URL+"/admin/p/DEMO/alerts"),
		chromedp.WaitVisible(chromedp.CSS(retry)),
		chromedp.Click(chromedp.CSS(retry)),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	archived, err = s.fan.Archived(context.Background())
	require.NoError(t, err)
	require.Empty(t, archived, "the delivery is back in the queue")
}

// otaExpedia points the demo's expedia channel at an OTA test channel and
// returns it.
func (s *stack) otaExpedia() *otachannel.Channel {
	s.t.Helper()
	ctx := context.Background()
	oc := otachannel.New()
	s.t.Cleanup(oc.Close)
	oc.SetCredentials("miradouro", "expedia-outbound-secret")
	endpoint := oc.URL()
	_, err := s.st.UpdateChannel(ctx, "DEMO", "expedia", inventory.ChannelPatch{Endpoint: &endpoint}, inventory.System)
	require.NoError(s.t, err)
	require.NoError(s.t, s.st.SetChannelCredentials(ctx, s.sec, "DEMO", "expedia", inventory.Credentials{
		OutboundUser: "miradouro", OutboundSecret: "expedia-outbound-secret"}, inventory.System))
	return oc
}

// Staff close a night in the grid and the OTA test channel receives the
// close-out: the demo's DBL pool sells as expedia room 200145.
func TestBrowserClosingANightInTheGridReachesTheChannel(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	oc := s.otaExpedia()
	night := inventory.Today(time.UTC).AddDays(14)
	s.book("expedia", "EXP-1", inventory.New, night.AddDays(-2).String(), night.String()) // a few sold nights to look at
	ctx := s.browser()
	s.login(ctx, "anna")
	s.do(ctx, "close the night in the grid",
		chromedp.Navigate(s.ts.URL+"/admin/p/DEMO/grid"),
		chromedp.WaitVisible(chromedp.CSS("form.edit-nights")),
		chromedp.SetValue(chromedp.CSS("#edit-pool"), "DBL"),
		chromedp.SetValue(chromedp.CSS("#edit-from"), night.String()),
		chromedp.SetValue(chromedp.CSS("#edit-to"), night.String()),
		chromedp.Click(chromedp.CSS("#edit-close")),
		chromedp.Click(chromedp.CSS("form.edit-nights button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	require.NoError(t, oc.WaitFor("200145", night, 0, 30*time.Second), "the channel is told the night is closed")
	ns, err := s.st.Availability(context.Background(), "DEMO", night, night.AddDays(1))
	require.NoError(t, err)
	require.True(t, ns[0].Closed)
	s.screenshot(ctx, "grid")

	s.do(ctx, "the channels' health", chromedp.Navigate(s.ts.URL+"/admin/p/DEMO/channels"), chromedp.WaitVisible(chromedp.CSS("main table")))
	s.screenshot(ctx, "channels")
}

// A viewer sees the grid without the edit form, and a change submitted
// anyway (a form built in the page, with the page's CSRF token) is refused
// and changes nothing.
func TestBrowserViewerCannotSubmitChanges(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	night := inventory.Today(time.UTC).AddDays(20)
	ctx := s.browser()
	s.login(ctx, "victor")
	s.do(ctx, "the grid", chromedp.Navigate(s.ts.URL+"/admin/p/DEMO/grid"), chromedp.WaitVisible(chromedp.CSS("main table")))
	forms, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('form.edit-nights').length`))
	require.NoError(t, err)
	require.Zero(t, forms, "no edit form for a viewer")
	s.eval(ctx, fmt.Sprintf(`(() => {
		const f = document.createElement('form');
		f.method = 'post'; f.action = '/admin/p/DEMO/grid/edit';
		const token = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token'];
		for (const [k, v] of Object.entries({csrf_token: token, pool: 'DBL', from: '%[1]s', to: '%[1]s', status: 'close'})) {
			const i = document.createElement('input'); i.type = 'hidden'; i.name = k; i.value = v; f.appendChild(i);
		}
		document.body.appendChild(f); f.submit();
	})()`, night))
	s.do(ctx, "the answer", chromedp.WaitNotPresent(chromedp.CSS("main table")))
	require.Contains(t, s.text(ctx, "body"), "look but not change")
	ns, err := s.st.Availability(context.Background(), "DEMO", night, night.AddDays(1))
	require.NoError(t, err)
	require.False(t, len(ns) > 0 && ns[0].Closed, "nothing was closed")
}

// rect is where an element is drawn, in CSS pixels of the viewport.
type rect struct{ Left, Top, Right, Bottom float64 }

// box is where the first element matching sel is drawn.
func (s *stack) box(ctx context.Context, sel string) rect {
	s.t.Helper()
	r, err := chromedp.Run(ctx, chromedp.Evaluate[rect](fmt.Sprintf(
		`(() => { const r = document.querySelector(%q).getBoundingClientRect(); return {Left: r.left, Top: r.top, Right: r.right, Bottom: r.bottom}; })()`, sel)))
	require.NoError(s.t, err, "where is %s", sel)
	return r
}

// The users page's form to add a user and the account page's to change
// one's password lay out a field under another, each beside its label, on a
// desktop and on a front desk's tablet: their form had no layout outside
// the channel page, and ran its labels and boxes on together as a line of
// text ("Name … [ ] Role [ ] Property [ ] Password (at least 10
// characters)" wrapping wherever the width fell).
func TestBrowserTheUsersAndAccountFormsPutOneFieldUnderAnother(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	ctx := s.browser()
	s.login(ctx, "anna")
	for _, width := range []int64{1280, 768} {
		s.do(ctx, "the window's width", chromedp.EmulateViewport(width, 900))
		for _, form := range []struct {
			path   string
			fields []string
		}{
			{"/admin/users", []string{"#u-name", "#u-role", "#u-property", "#u-password"}},
			{"/admin/account", []string{"#a-current", "#a-password", "#a-confirm"}},
		} {
			s.do(ctx, form.path, chromedp.Navigate(s.ts.URL+form.path), chromedp.WaitVisible(chromedp.CSS(form.fields[0])))
			var above rect
			for i, f := range form.fields {
				b := s.box(ctx, f)
				label := s.box(ctx, `label[for="`+f[1:]+`"]`)
				require.LessOrEqual(t, label.Right, b.Left, "%s at %d px: %s is right of its label", form.path, width, f)
				require.Less(t, label.Top, b.Bottom, "%s at %d px: %s is beside its label", form.path, width, f)
				require.Greater(t, label.Bottom, b.Top, "%s at %d px: %s is beside its label", form.path, width, f)
				if i > 0 {
					require.GreaterOrEqual(t, b.Top, above.Bottom, "%s at %d px: %s is under %s", form.path, width, f, form.fields[i-1])
					first := s.box(ctx, form.fields[0])
					require.Equal(t, first.Left, b.Left, "%s at %d px: %s lines up with %s", form.path, width, f, form.fields[0])
				}
				above = b
			}
			submit := s.box(ctx, `main form[class~="grid"] button[type=submit]`)
			require.GreaterOrEqual(t, submit.Top, above.Bottom, "%s at %d px: the button is under the fields", form.path, width)
		}
	}
}

// On a front desk's tablet (768 px) the bookings found by a guest's name
// show, without scrolling sideways, who the guest is, the booking's status
// and its stay: the guest was the ninth of eleven columns, drawn past the
// screen's edge, so a search by name listed ids and channels only.
func TestBrowserABookingFoundByNameShowsItsGuestAndStayOnATablet(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	today := inventory.Today(time.UTC)
	_, err := s.st.ApplyRevision(context.Background(), inventory.Revision{Property: "DEMO", Channel: "expedia", ExternalID: "4417220981", Kind: inventory.New,
		Stays: []inventory.RoomStay{{RoomType: "DBL-STD", Rooms: 1, Arrival: today, Departure: today.AddDays(3)}},
		Guest: inventory.Guest{Name: "Ana Maria Albuquerque Silva", Email: "ana.albuquerque.silva@example.org"}, Total: "1240.00", Currency: "EUR"})
	require.NoError(t, err)
	ctx := s.browser()
	s.login(ctx, "anna")
	s.do(ctx, "a tablet's width", chromedp.EmulateViewport(768, 1024))
	s.do(ctx, "search by the guest's name",
		chromedp.Navigate(s.ts.URL+"/admin/p/DEMO/bookings"),
		chromedp.WaitVisible(chromedp.CSS("#guest")),
		chromedp.SendKeys(chromedp.CSS("#guest"), "silva"),
		chromedp.Click(chromedp.CSS(`form.search button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("table.bookings tbody tr")),
	)
	// Typing searches too (live, after 500 ms) and the click again: the
	// results are swapped in twice; wait for the last, settled.
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](`(document.querySelector('table.bookings tbody tr')?.textContent || '').includes('Ana Maria Albuquerque Silva')
		&& !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')`, chromedp.WithPollingTimeout(30*time.Second)))
	require.NoError(t, err, "the booking found by its guest's name")
	width, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.documentElement.clientWidth`))
	require.NoError(t, err)
	cells, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]rect](`(() => {
		const row = document.querySelector('table.bookings tbody tr');
		const heads = [...document.querySelectorAll('table.bookings thead th')].map(th => th.textContent.trim());
		const out = {};
		[...row.children].forEach((cell, i) => { const r = cell.getBoundingClientRect(); out[heads[i]] = {Left: r.left, Top: r.top, Right: r.right, Bottom: r.bottom}; });
		return out;
	})()`))
	require.NoError(t, err)
	require.Contains(t, s.text(ctx, "table.bookings tbody tr"), "Ana Maria Albuquerque Silva")
	for _, col := range []string{"Channel's id", "Guest", "Status", "Arrival", "Departure"} {
		require.Contains(t, cells, col)
		require.LessOrEqual(t, cells[col].Right, width, "the %s column is on the screen (%v px wide): %v", col, width, cells)
	}
}

// On a front desk's tablet (768 px) the channels page answers "is channel
// X in sync, and if not, why" without scrolling sideways: each channel's
// lag and its last error are on the screen. The last error was the seventh
// of nine columns, past the screen's edge, behind the kind and the failures.
func TestBrowserTheChannelsPageSaysOnATabletWhetherEachIsInSyncAndWhy(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	ctx := s.browser()
	s.login(ctx, "anna")
	s.do(ctx, "a tablet's width", chromedp.EmulateViewport(768, 1024))
	s.do(ctx, "the channels", chromedp.Navigate(s.ts.URL+"/admin/p/DEMO/channels"), chromedp.WaitVisible(chromedp.CSS("table.channels")))
	width, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.documentElement.clientWidth`))
	require.NoError(t, err)
	heads, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]rect](`(() => {
		const out = {};
		for (const th of document.querySelectorAll('table.channels thead th')) {
			const r = th.getBoundingClientRect(); out[th.textContent.trim()] = {Left: r.left, Top: r.top, Right: r.right, Bottom: r.bottom};
		}
		return out;
	})()`))
	require.NoError(t, err)
	for _, col := range []string{"Channel", "Enabled", "Lag", "Last error"} {
		require.Contains(t, heads, col)
		require.LessOrEqual(t, heads[col].Right, width, "the %s column is on the screen (%v px wide): %v", col, width, heads)
	}
}
