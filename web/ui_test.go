package web_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/inventory/inventorytest"
	"github.com/keyrack/keyrack/web"
	"github.com/stretchr/testify/require"
)

// uiEnv is a keyrack server with staff users "anna" (admin) and "victor"
// (viewer), and a browser-like client keeping cookies.
type uiEnv struct {
	t      *testing.T
	st     *inventory.Store
	ts     *httptest.Server
	client *http.Client
}

const uiPassword = "correct horse battery"

func newUI(t *testing.T, cfg ...func(*web.Config)) *uiEnv {
	t.Helper()
	st := inventorytest.New(t)
	sec, err := inventory.NewSecrets("test secret of keyrack's UI tests")
	require.NoError(t, err)
	c := web.Config{Store: st, Secrets: sec, Logger: slog.New(slog.DiscardHandler)}
	for _, f := range cfg {
		f(&c)
	}
	ts := newTestServer(t, web.New(c))
	for name, role := range map[string]string{"anna": inventory.RoleAdmin, "victor": inventory.RoleViewer} {
		_, err := st.CreateStaffUser(context.Background(), name, role, uiPassword, inventory.System)
		require.NoError(t, err)
	}
	return &uiEnv{t: t, st: st, ts: ts, client: newBrowserClient(t)}
}

// newBrowserClient keeps cookies and does not follow redirects, so tests
// see them.
func newBrowserClient(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// page is an answer with its body.
type page struct {
	Status int
	Header http.Header
	Body   string
}

func (e *uiEnv) do(req *http.Request) page {
	e.t.Helper()
	resp, err := e.client.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return page{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

// get fetches a page; extra holds header pairs.
func (e *uiEnv) get(path string, extra ...string) page {
	e.t.Helper()
	req, err := http.NewRequest("GET", e.ts.URL+path, nil)
	require.NoError(e.t, err)
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	return e.do(req)
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// token is the CSRF token of the page at from (fetched for it).
func (e *uiEnv) token(from string) string {
	e.t.Helper()
	p := e.get(from)
	m := csrfField.FindStringSubmatch(p.Body)
	require.NotNil(e.t, m, "no CSRF field on %s (%d): %s", from, p.Status, p.Body)
	return m[1]
}

// post submits a form as the browser would from the page at from: with
// that page's CSRF token (unless the form sets csrf_token itself) and its
// Referer; extra holds header pairs.
func (e *uiEnv) post(from, path string, form url.Values, extra ...string) page {
	e.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf_token"]; !ok {
		form.Set("csrf_token", e.token(from))
	}
	req, err := http.NewRequest("POST", e.ts.URL+path, strings.NewReader(form.Encode()))
	require.NoError(e.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Referer", e.ts.URL+from)
	req.Header.Set("Origin", e.ts.URL)
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	return e.do(req)
}

// login logs in as name (with the common password) and requires success.
func (e *uiEnv) login(name string) {
	e.t.Helper()
	p := e.post("/admin/login", "/admin/login", url.Values{"username": {name}, "password": {uiPassword}, "next": {"/admin/"}})
	require.Equal(e.t, http.StatusSeeOther, p.Status, "login as %s: %s", name, p.Body)
}

// seedHotel makes property code with pool DBL of units rooms, room type
// DBL-STD and channels pms and expedia, straight through the store.
func (e *uiEnv) seedHotel(code string, units int) {
	e.t.Helper()
	ctx := context.Background()
	_, err := e.st.CreateProperty(ctx, inventory.Property{Code: code, Name: "Hotel " + code, TimeZone: "Europe/Lisbon", Currency: "EUR"}, inventory.System)
	require.NoError(e.t, err)
	_, err = e.st.CreatePool(ctx, code, inventory.Pool{Code: "DBL", Name: "Double rooms", Units: units}, inventory.System)
	require.NoError(e.t, err)
	_, err = e.st.CreateRoomType(ctx, code, inventory.RoomType{Code: "DBL-STD", Pool: "DBL"}, inventory.System)
	require.NoError(e.t, err)
	for _, ch := range []inventory.Channel{{Code: "pms", Kind: inventory.ChannelPMS, Enabled: true}, {Code: "expedia", Kind: inventory.ChannelOTAPush, Enabled: true}} {
		_, err = e.st.CreateChannel(ctx, code, ch, inventory.System)
		require.NoError(e.t, err)
	}
	require.NoError(e.t, e.st.SetMapping(ctx, code, "expedia", inventory.Mapping{ChannelRoom: "DBL", RoomType: "DBL-STD"}, inventory.System))
}

// newICalUI is newUI with seedHotel("P", 2), an enabled iCal channel
// "airbnb" besides, and anna (admin) logged in.
func newICalUI(t *testing.T) *uiEnv {
	t.Helper()
	e := newUI(t)
	e.seedHotel("P", 2)
	_, err := e.st.CreateChannel(context.Background(), "P", inventory.Channel{Code: "airbnb", Kind: inventory.ChannelICal, Enabled: true}, inventory.System)
	require.NoError(t, err)
	e.login("anna")
	return e
}

// Pages need a login; a wrong password is refused without saying which part
// was wrong; logging out ends the session.
func TestAdminNeedsLoginAndLogoutEndsTheSession(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("P", 2)

	p := e.get("/admin/p/P")
	require.Equal(t, http.StatusSeeOther, p.Status)
	require.Equal(t, "/admin/login?next=%2Fadmin%2Fp%2FP", p.Header.Get("Location"))
	p = e.get("/admin/p/P", "HX-Request", "true")
	require.Equal(t, http.StatusUnauthorized, p.Status)
	require.NotEmpty(t, p.Header.Get("HX-Redirect"))

	login := e.get("/admin/login")
	require.Equal(t, http.StatusOK, login.Status)
	require.Contains(t, login.Body, `<label for="username">`)
	require.Contains(t, login.Body, `<label for="password">`)

	p = e.post("/admin/login", "/admin/login", url.Values{"username": {"anna"}, "password": {"wrong password"}})
	require.Equal(t, http.StatusUnauthorized, p.Status)
	require.Contains(t, p.Body, "Wrong user name or password.")
	p = e.post("/admin/login", "/admin/login", url.Values{"username": {"nobody"}, "password": {uiPassword}})
	require.Equal(t, http.StatusUnauthorized, p.Status)
	require.Contains(t, p.Body, "Wrong user name or password.")

	p = e.post("/admin/login", "/admin/login", url.Values{"username": {"anna"}, "password": {uiPassword}, "next": {"/admin/p/P/grid"}})
	require.Equal(t, http.StatusSeeOther, p.Status)
	require.Equal(t, "/admin/p/P/grid", p.Header.Get("Location"))
	var session *http.Cookie
	for _, c := range p.Header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "keyrack_session=") {
			require.Contains(t, c, "HttpOnly")
			require.Contains(t, c, "SameSite=Lax")
			session = &http.Cookie{}
		}
	}
	require.NotNil(t, session, "a session cookie is set")
	p = e.get("/admin/")
	require.Equal(t, http.StatusSeeOther, p.Status, "one property: its grid")
	require.Equal(t, "/admin/p/P/grid", p.Header.Get("Location"))

	// An open redirect is not: next stays inside the admin UI.
	e2 := &uiEnv{t: t, st: e.st, ts: e.ts, client: newBrowserClient(t)}
	p = e2.post("/admin/login", "/admin/login", url.Values{"username": {"anna"}, "password": {uiPassword}, "next": {"//evil.example/"}})
	require.Equal(t, "/admin/", p.Header.Get("Location"))

	p = e.post("/admin/login", "/admin/logout", nil)
	require.Equal(t, http.StatusSeeOther, p.Status)
	require.Equal(t, http.StatusSeeOther, e.get("/admin/").Status)
	require.Contains(t, e.get("/admin/").Header.Get("Location"), "/admin/login")
}

// After too many failed logins for a user name, the login page refuses
// it for a while — the right password too — with 429 and Retry-After, and
// says so; other users log in as before.
func TestRepeatedFailedLoginsAreRefusedForAWhile(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("P", 2)
	// The failures before the last (a failed attempt takes bcrypt's time).
	_, err := e.st.DB().Exec(context.Background(), `INSERT INTO staff_login_failures (name, remote)
		SELECT 'anna', '198.51.100.7' FROM generate_series(1, $1)`, inventory.LoginFailuresPerName-1)
	require.NoError(t, err)
	p := e.post("/admin/login", "/admin/login", url.Values{"username": {"anna"}, "password": {"wrong password"}})
	require.Equal(t, http.StatusUnauthorized, p.Status)

	p = e.post("/admin/login", "/admin/login", url.Values{"username": {"anna"}, "password": {uiPassword}, "next": {"/admin/p/P/grid"}})
	require.Equal(t, http.StatusTooManyRequests, p.Status, p.Body)
	retry, err := strconv.Atoi(p.Header.Get("Retry-After"))
	require.NoError(t, err)
	require.Greater(t, retry, 14*60)
	require.LessOrEqual(t, retry, 15*60)
	require.Contains(t, p.Body, "Too many failed logins for this user name in the last 15 minutes. Try again in 15 minutes.")
	require.Contains(t, p.Body, `value="anna"`, "the form keeps the name")
	for _, c := range p.Header.Values("Set-Cookie") {
		require.False(t, strings.HasPrefix(c, "keyrack_session="), "no session")
	}

	e.login("victor")
}

// A login refused for too many failures is logged with its user name only
// when that is a staff user's: a name that is nobody's is sometimes a
// password typed in the wrong field, and stays out of the logs.
func TestAThrottledLoginLogsOnlyARealUsersName(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer // written before each answer, read after
	e := newUI(t, func(c *web.Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	const typo = "anna-Secret-Passw0rd"
	for _, name := range []string{"anna", typo} {
		_, err := e.st.DB().Exec(context.Background(), `INSERT INTO staff_login_failures (name, remote)
			SELECT $1, '198.51.100.7' FROM generate_series(1, $2)`, name, inventory.LoginFailuresPerName)
		require.NoError(t, err)
		p := e.post("/admin/login", "/admin/login", url.Values{"username": {name}, "password": {"anna"}})
		require.Equal(t, http.StatusTooManyRequests, p.Status, p.Body)
	}
	require.Contains(t, logs.String(), "user=anna ")
	require.NotContains(t, logs.String(), typo)
	require.Contains(t, logs.String(), `user="(no such user)"`)
}

// zeros is size zero bytes, counting how many were read.
type zeros struct {
	size int64
	read atomic.Int64
}

func (z *zeros) Read(p []byte) (int, error) {
	n := min(int64(len(p)), z.size-z.read.Load())
	if n <= 0 {
		return 0, io.EOF
	}
	clear(p[:n])
	z.read.Add(n)
	return int(n), nil
}

// Anyone can post to the login page. A body larger than the admin takes
// (its forms are a few kilobytes) is answered 413 without being read whole
// — a 200 MiB multipart upload sent with no length was read, and spooled to
// disk, before the login was even looked at — or read at all when it says
// its length.
func TestABodyLargerThanTheAdminTakesIsRefusedUnread(t *testing.T) {
	t.Parallel()
	e := newUI(t)

	body := &zeros{size: 200 << 20}
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		fw, err := mw.CreateFormFile("upload", "big.bin")
		if err == nil {
			_, err = io.Copy(fw, body)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequest("POST", e.ts.URL+"/admin/login", pr)
	require.NoError(t, err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err == nil { // the server may close the connection before the client hears its answer
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	}
	pr.CloseWithError(errors.New("done"))
	require.Less(t, body.read.Load(), int64(16<<20), "bytes read of a 200 MiB body before the answer")

	form := url.Values{"username": {"anna"}, "password": {strings.Repeat("x", 2<<20)}}
	p := e.post("/admin/login", "/admin/login", form)
	require.Equal(t, http.StatusRequestEntityTooLarge, p.Status, p.Body)
	require.Contains(t, p.Body, "the admin takes at most 1024 KiB in one request")
	e.login("anna")
}

// The client address that failed logins are counted by is the
// connection's, unless it comes through a configured reverse proxy: then
// X-Forwarded-For names the client (and cannot be forged from elsewhere).
func TestFailedLoginsAreCountedByTheClientAProxyNames(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		proxies []string
		want    string
	}{{nil, "127.0.0.1"}, {[]string{"127.0.0.1", "::1"}, "203.0.113.5"}, {[]string{"10.0.0.0/8"}, "127.0.0.1"}} {
		e := newUI(t, func(cfg *web.Config) { cfg.TrustedProxies = c.proxies })
		p := e.post("/admin/login", "/admin/login", url.Values{"username": {"anna"}, "password": {"wrong password"}},
			"X-Forwarded-For", "203.0.113.5")
		require.Equal(t, http.StatusUnauthorized, p.Status)
		var remote string
		require.NoError(t, e.st.DB().QueryRow(context.Background(), `SELECT remote FROM staff_login_failures`).Scan(&remote))
		require.Equal(t, c.want, remote, "trusted proxies %v", c.proxies)
	}
}

// A form posted without its CSRF token, or from another site, is refused.
func TestAdminFormsWithoutCSRFTokenAreRefused(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("P", 2)
	p := e.post("/admin/login", "/admin/login", url.Values{"csrf_token": {""}, "username": {"anna"}, "password": {uiPassword}})
	require.Equal(t, http.StatusForbidden, p.Status)
	require.Contains(t, p.Body, "Forbidden")
	e.login("anna")
	p = e.post("/admin/login", "/admin/logout", url.Values{"csrf_token": {"forged"}})
	require.Equal(t, http.StatusForbidden, p.Status)
	// The session still stands: the forged logout did nothing.
	require.Equal(t, http.StatusSeeOther, e.get("/admin/").Status)
	require.Equal(t, "/admin/p/P/grid", e.get("/admin/").Header.Get("Location"))
}

// The admin pages are served with the vendored htmx and the stylesheet.
func TestAdminAssetsAreServed(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	p := e.get("/admin/assets/htmx-2.0.11.min.js")
	require.Equal(t, http.StatusOK, p.Status)
	require.Contains(t, p.Body, "htmx")
	require.Equal(t, http.StatusOK, e.get("/admin/assets/style.css").Status)
	require.Equal(t, http.StatusNotFound, e.get("/admin/assets/nope.js").Status)
}

// A login lasts 12 hours after its last use, in the browser too: a page
// served to staff whose session has been in use for hours sends the
// session cookie again with a fresh lifetime (not with every page: only
// when the store extends the session, at most every few minutes).
func TestUsingTheAdminRenewsTheSessionCookie(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("P", 2)
	e.login("anna")
	p := e.get("/admin/p/P/grid")
	require.Equal(t, http.StatusOK, p.Status)
	require.Empty(t, sessionCookieOf(p), "just logged in: the cookie is fresh")

	// The session has been in use for 11 hours.
	_, err := e.st.DB().Exec(context.Background(), `UPDATE staff_sessions SET expires_at = now() + interval '1 hour'`)
	require.NoError(t, err)
	p = e.get("/admin/p/P/grid")
	require.Equal(t, http.StatusOK, p.Status)
	var extended bool
	require.NoError(t, e.st.DB().QueryRow(context.Background(), `SELECT expires_at > now() + interval '11 hours' FROM staff_sessions`).Scan(&extended))
	require.True(t, extended, "the store extended the session")
	require.Contains(t, sessionCookieOf(p), "Max-Age=43200", "the browser's cookie is renewed for 12 hours")
	require.Contains(t, sessionCookieOf(p), "HttpOnly")

	// The renewed cookie is the same session.
	p = e.get("/admin/p/P/grid")
	require.Equal(t, http.StatusOK, p.Status)
	require.Empty(t, sessionCookieOf(p))
}

// Input PostgreSQL cannot hold (a NUL, bytes that are not UTF-8) in the
// admin's forms, searches and addresses is refused with 400 and a message
// naming the field, and changes nothing — not a 500 "something went wrong".
func TestUIInputKeyrackCannotStoreIsRefusedWithAMessage(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("P", 2)
	p := e.post("/admin/login", "/admin/login", url.Values{"username": {"an\x00na"}, "password": {"whatever123"}})
	require.Equal(t, http.StatusBadRequest, p.Status, p.Body)
	require.Contains(t, p.Body, `Field &#34;username&#34; holds a character keyrack cannot store`)
	e.login("anna")
	for path, field := range map[string]string{
		"/admin/p/P/bookings?guest=%00": "guest",
		"/admin/p/P/bookings?id=%00":    "id",
		"/admin/p/P/bookings?guest=%ff": "guest",
		"/admin/p/%00/grid":             "",
	} {
		p := e.get(path)
		require.Equal(t, http.StatusBadRequest, p.Status, "GET %s: %s", path, p.Body)
		want := "The address holds a character keyrack cannot store"
		if field != "" {
			want = "Field &#34;" + field + "&#34; holds a character keyrack cannot store"
		}
		require.Contains(t, p.Body, want, "GET %s", path)
	}
	const ch = "/admin/p/P/channels/expedia"
	for path, form := range map[string]url.Values{
		ch + "/mappings":             {"room": {"A\x00"}, "room_type": {"DBL-STD"}},
		ch + "/settings":             {"hotel_code": {"H\xff"}},
		ch + "/credentials/outbound": {"username": {"u\x00"}, "secret": {"s"}},
	} {
		p := e.post(ch, path, form)
		require.Equal(t, http.StatusBadRequest, p.Status, "POST %s: %s", path, p.Body)
		require.Contains(t, p.Body, "cannot store", "POST %s", path)
	}
	audit, err := e.st.Audit(context.Background(), "P", "", 100)
	require.NoError(t, err)
	for _, a := range audit {
		require.NotEqual(t, "staff:anna", a.Actor, "nothing was changed")
	}
}

// The success banner shows only what keyrack said after a change: a link
// with a made-up ?flash= (or a genuine one, opened by someone else) shows
// no banner.
func TestAFlashMessageCannotBeForgedByALink(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("P", 1)
	overbook(t, e.st, "P")
	e.login("anna")
	forged := "/admin/p/P/alerts?flash=" + url.QueryEscape("keyrack: your session expired, log in at evil.example")
	p := e.get(forged)
	require.Equal(t, http.StatusOK, p.Status)
	require.NotContains(t, p.Body, `class="flash"`)
	require.NotContains(t, p.Body, "evil.example")
	p = e.get(forged + "&flash_sig=AAAA")
	require.NotContains(t, p.Body, "evil.example")

	m := resolveAction.FindStringSubmatch(e.get("/admin/p/P/alerts").Body)
	require.NotNil(t, m)
	p = e.post("/admin/p/P/alerts", m[1], nil)
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	genuine := p.Header.Get("Location")
	require.Contains(t, e.get(genuine).Body, `<p class="flash" role="status">The overbooking of pool DBL on 2027-10-01 is resolved.</p>`)

	v := &uiEnv{t: t, st: e.st, ts: e.ts, client: newBrowserClient(t)}
	v.login("victor")
	require.NotContains(t, v.get(genuine).Body, `class="flash"`, "the link is anna's")
}
