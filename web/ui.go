package web

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/gorilla/csrf"
	"github.com/keyrack/keyrack/inventory"
)

// The staff admin UI under /admin: server-rendered pages from html/template
// (embedded, one template set per page: templates/layout.html and
// templates/common.html with the page's own file), htmx for partial updates
// (vendored under assets/, every page also renders fully without it), a
// session cookie after login, and CSRF protection on every form and htmx
// request (gorilla/csrf: a hidden field in forms, the X-CSRF-Token header
// from htmx).

//go:embed templates
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

const (
	sessionCookie = "keyrack_session"
	ctxStaff      = "keyrack.staff"
	ctxUIProperty = "keyrack.ui.property"
	// ctxNewSession is the session token the answer gives the browser.
	ctxNewSession = "keyrack.ui.new_session"
	// htmxAsset is the vendored htmx (one pinned major).
	htmxAsset = "/admin/assets/htmx-2.0.11.min.js"
)

// uiPage is what every page template gets: the layout reads the common
// fields, the page its own Data.
type uiPage struct {
	Title      string
	User       inventory.StaffUser
	CSRF       template.HTML // the hidden input to put in every form
	CSRFToken  string        // for htmx's X-CSRF-Token header
	Property   *inventory.Property
	Properties []inventory.Property
	// Menu is the property whose pages the menu links to: the page's own,
	// or on a page of no one property (users, account, an error) the only
	// one the user works on — else none, and the menu has Properties.
	Menu *inventory.Property
	Nav  string // which menu entry is current: grid, bookings, channels, alerts, queues
	// Alerting marks the menu's Alerts: the property has an open incident,
	// or keyrack's work for it is overdue (sync.Fanout.Overdue) — so that
	// staff who never open the alerts page see that something needs them.
	Alerting bool
	Flash    string // a success message carried over a redirect (flashOf)
	Error    string
	HTMX     string // the vendored htmx's path
	Data     any
}

// staffTime is how the staff pages write a moment: to the minute, in loc —
// the time zone of the property a page is about, so that the front desk
// reads its own clock (UTC on the pages of no one property) — with the
// zone's abbreviation (CET, EST, or an offset such as +07 where the zone
// has none).
func staffTime(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("2006-01-02 15:04 MST")
}

// zones caches the properties' time zones by name (time.LoadLocation reads
// the zone file at every call).
var zones gosync.Map

// pageZone is the time zone of the page's property (uiProp), UTC on a page
// of no one property.
func pageZone(c *gin.Context) *time.Location {
	if p, ok := c.Get(ctxUIProperty); ok {
		return propertyZone(p.(inventory.Property))
	}
	return time.UTC
}

// propertyZone is p's time zone; UTC if it does not load (a property's zone
// is checked when it is made, but the server's zone data may differ).
func propertyZone(p inventory.Property) *time.Location {
	if l, ok := zones.Load(p.TimeZone); ok {
		return l.(*time.Location)
	}
	loc, err := p.Location()
	if err != nil || p.TimeZone == "" {
		return time.UTC
	}
	zones.Store(p.TimeZone, loc)
	return loc
}

// staffChanges words the staff_audit actions.
var staffChanges = map[string]string{"staff_user.add": "added", "staff_user.reset": "reset", "staff_user.disable": "disabled",
	"staff_user.password": "changed their password"}

// uiTemplates are the parsed template sets, one per page, with times in
// UTC; and as they are asked for, one per page and time zone (zoned).
type uiTemplates struct {
	utc   map[string]*template.Template
	zoned gosync.Map // zonedPage → *template.Template
}

type zonedPage struct{ page, zone string }

// page is page's template set writing times (datetime) in loc, parsed the
// first time it is asked for; nil if there is no such page.
func (u *uiTemplates) page(page string, loc *time.Location) (*template.Template, error) {
	t := u.utc[page]
	if t == nil || loc == time.UTC {
		return t, nil
	}
	k := zonedPage{page, loc.String()}
	if t, ok := u.zoned.Load(k); ok {
		return t.(*template.Template), nil
	}
	t, err := parsePage(page, template.FuncMap{"datetime": func(t time.Time) string { return staffTime(t, loc) }})
	if err != nil {
		return nil, err
	}
	t2, _ := u.zoned.LoadOrStore(k, t)
	return t2.(*template.Template), nil
}

// channelKindNames are the channel kinds as staff know them.
var channelKindNames = map[inventory.ChannelKind]string{
	inventory.ChannelOTAPush: "OTA, sends its bookings",
	inventory.ChannelOTAPull: "OTA, keyrack fetches its bookings",
	inventory.ChannelGDS:     "GDS / CRS",
	inventory.ChannelICal:    "calendar platform (iCal)",
	inventory.ChannelPMS:     "PMS",
}

var uiFuncs = template.FuncMap{
	"date":     func(d inventory.Date) string { return d.String() },
	"datetime": func(t time.Time) string { return staffTime(t, time.UTC) },
	// staffChange words a staff_audit action.
	"staffChange": func(action string) string { return staffChanges[action] },
	// kindName words a channel's kind for staff (its code beside it).
	"kindName": func(k inventory.ChannelKind) string { return cmp.Or(channelKindNames[k], string(k)) },
	"ago": func(t time.Time) string {
		d := time.Since(t).Round(time.Second)
		switch {
		case d < time.Minute:
			return fmt.Sprintf("%ds ago", int(d.Seconds()))
		case d < time.Hour:
			return fmt.Sprintf("%dm ago", int(d.Minutes()))
		case d < 48*time.Hour:
			return fmt.Sprintf("%dh ago", int(d.Hours()))
		}
		return fmt.Sprintf("%dd ago", int(d.Hours()/24))
	},
	"deref": func(p any) any {
		switch v := p.(type) {
		case *time.Time:
			if v == nil {
				return nil
			}
			return *v
		case *string:
			if v == nil {
				return ""
			}
			return *v
		case *int:
			if v == nil {
				return 0
			}
			return *v
		}
		return p
	},
	"query": url.QueryEscape,
	"path":  url.PathEscape,
}

// loadTemplates parses layout.html and common.html with each page file.
func loadTemplates() (*uiTemplates, error) {
	pages, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := &uiTemplates{utc: map[string]*template.Template{}}
	for _, p := range pages {
		name := strings.TrimSuffix(strings.TrimPrefix(p, "templates/"), ".html")
		if name == "layout" || name == "common" {
			continue
		}
		if out.utc[name], err = parsePage(name, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// parsePage parses page's file with layout.html and common.html, with
// uiFuncs and then funcs (which override them).
func parsePage(name string, funcs template.FuncMap) (*template.Template, error) {
	t, err := template.New(name).Funcs(uiFuncs).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/common.html", "templates/"+name+".html")
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	return t, nil
}

// routeUI registers the admin UI.
func (s *Server) routeUI(e *gin.Engine) {
	tpl, err := loadTemplates()
	if err != nil {
		panic(err) // the templates are embedded: a parse error is a build defect, caught by every test
	}
	s.ui = tpl
	assets, _ := fs.Sub(assetFS, "assets")
	e.GET("/admin/assets/*file", func(c *gin.Context) {
		c.Header("Cache-Control", "public, max-age=86400")
		c.FileFromFS(c.Param("file"), http.FS(assets))
	})

	a := e.Group("/admin", limitAdminBody, s.csrfProtect(), s.refuseUnstorable)
	a.GET("/login", s.loginPage)
	a.POST("/login", s.login)
	a.POST("/logout", s.logout)

	in := a.Group("", s.requireStaff)
	in.GET("", s.adminHome)
	in.GET("/", s.adminHome)
	p := in.Group("/p/:property", s.uiProperty)
	p.GET("", func(c *gin.Context) { c.Redirect(http.StatusSeeOther, "/admin/p/"+c.Param("property")+"/grid") })
	s.routeUIGrid(p)
	s.routeUIBookings(p)
	s.routeUIChannels(p)
	s.routeUIAlerts(p)
	s.routeUIProperty(p)
	s.routeUIQueues(in)
	s.routeUIUsers(in)
}

// adminMethods answers 405 to a request under /admin of a method the
// admin does not serve: its pages GET and POST, asynqmon (under
// /admin/queues/) HEAD and DELETE too. It runs before any route's chain
// (the engine's, so that a path no route has is refused alike): gorilla/csrf
// passes TRACE and OPTIONS as safe methods, and asynqmon served its page to
// any method, logged as a queue action.
func adminMethods(c *gin.Context) {
	p := c.Request.URL.Path
	if p != "/admin" && !strings.HasPrefix(p, "/admin/") {
		return
	}
	allow := "GET, HEAD, POST" // HEAD answered as GET (Server.Handler)
	if strings.HasPrefix(p, queuesRoot+"/") {
		allow = "GET, HEAD, POST, DELETE"
	}
	if m := c.Request.Method; !slices.Contains(strings.Split(allow, ", "), m) {
		c.Header("Allow", allow)
		c.String(http.StatusMethodNotAllowed, "Method Not Allowed: the admin answers %s only.\n", allow)
		c.Abort()
	}
}

// adminMaxBody is the most the admin reads of a request body. Its forms
// (url-encoded; none uploads a file) are a few kilobytes, asynqmon's JSON
// actions too; but gorilla/csrf parses a form, multipart too (spooling
// file parts to disk), before the login is checked, so without a limit
// anyone could make keyrack read and store all they care to send.
const adminMaxBody = 1 << 20

// adminBody is an admin request's body, limited to adminMaxBody, that
// remembers whether the limit was hit.
type adminBody struct {
	io.ReadCloser
	tooLarge bool
}

func (b *adminBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		b.tooLarge = true
	}
	return n, err
}

// bodyTooLarge reports whether r's body went past adminMaxBody.
func bodyTooLarge(r *http.Request) bool {
	b, ok := r.Body.(*adminBody)
	return ok && b.tooLarge
}

// limitAdminBody limits what is read of an admin request's body: one that
// says it is larger is answered 413 unread; one that turns out larger is
// answered 413 where it is read (refuseTooLarge).
func limitAdminBody(c *gin.Context) {
	if c.Request.ContentLength > adminMaxBody {
		refuseTooLarge(c.Writer)
		c.Abort()
		return
	}
	if c.Request.Body != nil && c.Request.Body != http.NoBody {
		c.Request.Body = &adminBody{ReadCloser: http.MaxBytesReader(c.Writer, c.Request.Body, adminMaxBody)}
	}
	c.Next()
}

func refuseTooLarge(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Connection", "close") // the rest of the body is not read
	w.WriteHeader(http.StatusRequestEntityTooLarge)
	fmt.Fprintf(w, "Request Entity Too Large: the admin takes at most %d KiB in one request.\n", adminMaxBody>>10)
}

// csrfProtect runs gorilla/csrf in front of the admin pages: unsafe
// methods need the token of the page they came from. The key comes from
// KEYRACK_SECRET, so tokens survive restarts and work across processes;
// without a secret a random key is used.
func (s *Server) csrfProtect() gin.HandlerFunc {
	var key [32]byte
	if s.secrets != nil {
		key = s.secrets.Key("admin csrf")
	} else {
		_, _ = rand.Read(key[:])
	}
	protect := csrf.Protect(key[:],
		csrf.Path("/admin"),
		csrf.CookieName("keyrack_csrf"),
		csrf.FieldName("csrf_token"),
		csrf.RequestHeader("X-CSRF-Token"),
		csrf.SameSite(csrf.SameSiteLaxMode),
		csrf.Secure(false), // a plain-HTTP deployment still works; the cookie's token is worthless without the page's
		csrf.ErrorHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if bodyTooLarge(r) { // the token could not be read
				refuseTooLarge(w)
				return
			}
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, "Forbidden: the form has expired or did not come from this site (%v). Go back, reload the page and try again.\n", csrf.FailureReason(r))
		})))
	return func(c *gin.Context) {
		r := c.Request
		if !s.isHTTPS(r) {
			// gorilla/csrf takes every request for HTTPS (comparing the
			// Origin with https://host, requiring an https Referer) unless
			// told it is plain HTTP.
			r = csrf.PlaintextHTTPRequest(r)
		}
		passed := false
		protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			passed = true
			c.Request = r
			c.Next()
		})).ServeHTTP(c.Writer, r)
		if !passed {
			c.Abort()
		}
	}
}

// refuseUnstorable answers 400, naming the field, when a path, query or
// form value holds what PostgreSQL text cannot (a NUL, bytes that are not
// UTF-8): the store would fail on it with a 500. (The API refuses the same
// in bind and refuseUnstorableAddress.)
func (s *Server) refuseUnstorable(c *gin.Context) {
	// A form that does not parse is left to the handlers, as before: they
	// see what did.
	_ = c.Request.ParseForm()
	if bodyTooLarge(c.Request) {
		refuseTooLarge(c.Writer)
		c.Abort()
		return
	}
	if name, inPath := unstorable(c, c.Request.Form); name != "" {
		bad := "Field " + strconv.Quote(name)
		if inPath {
			bad = "The address"
		}
		s.renderError(c, http.StatusBadRequest, bad+" holds "+unstorableText+": correct it and try again.")
		c.Abort()
		return
	}
	c.Next()
}

// unstorableText says what PostgreSQL text cannot hold.
const unstorableText = "a character keyrack cannot store (a NUL, or bytes that are not UTF-8 text)"

// unstorable names the first path parameter (inPath), else the first field
// of values, holding what PostgreSQL text cannot; "" when none does.
func unstorable(c *gin.Context, values url.Values) (name string, inPath bool) {
	for _, p := range c.Params {
		if !storable(p.Value) {
			return p.Key, true
		}
	}
	bad := func(v string) bool { return !storable(v) }
	for _, k := range slices.Sorted(maps.Keys(values)) {
		if bad(k) || slices.ContainsFunc(values[k], bad) {
			return k, false
		}
	}
	return "", false
}

// storable reports whether PostgreSQL text can hold v.
func storable(v string) bool { return utf8.ValidString(v) && !strings.ContainsRune(v, 0) }

// requireStaff lets logged-in staff through and sends everyone else to the
// login page (htmx requests get a full-page redirect). When the store
// extends the session, the cookie is sent again with the new lifetime: a
// login lasts SessionTTL after its last use, in the browser too.
func (s *Server) requireStaff(c *gin.Context) {
	if ck, err := c.Cookie(sessionCookie); err == nil && ck != "" {
		u, renewed, err := s.store.StaffSession(c.Request.Context(), ck)
		if err == nil {
			if renewed {
				s.setSessionCookie(c, ck)
			}
			c.Set(ctxStaff, u)
			c.Next()
			return
		}
		if inventory.ErrorCode(err) != inventory.EUNAUTHORIZED {
			s.uiFail(c, err)
			return
		}
	}
	next := c.Request.URL.RequestURI()
	if c.Request.Method != http.MethodGet {
		next = "/admin/"
	}
	to := "/admin/login?next=" + url.QueryEscape(next)
	if c.GetHeader("HX-Request") != "" {
		c.Header("HX-Redirect", to)
		c.AbortWithStatus(http.StatusUnauthorized)
		return
	}
	c.Redirect(http.StatusSeeOther, to)
	c.Abort()
}

// staff is the logged-in user.
func staff(c *gin.Context) inventory.StaffUser {
	u, _ := c.Get(ctxStaff)
	su, _ := u.(inventory.StaffUser)
	return su
}

// requireEditor refuses a change by a viewer with 403. Use it on every
// handler that changes something.
func (s *Server) requireEditor(c *gin.Context) {
	if !staff(c).CanEdit() {
		s.renderError(c, http.StatusForbidden, "Your account can look but not change anything: ask an admin.")
		c.Abort()
		return
	}
	c.Next()
}

// uiProperty loads the property named in the path. To staff who work on
// another property it is no property at all: they learn nothing of it, not
// even that it exists.
func (s *Server) uiProperty(c *gin.Context) {
	p, err := s.store.Property(c.Request.Context(), c.Param("property"))
	if err == nil && !staff(c).Sees(p.Code) {
		err = inventory.Errorf(inventory.ENOTFOUND, "not this user's property")
	}
	if err != nil {
		if inventory.ErrorCode(err) == inventory.ENOTFOUND {
			s.renderError(c, http.StatusNotFound, "There is no property "+c.Param("property")+".")
		} else {
			s.uiFail(c, err)
		}
		c.Abort()
		return
	}
	c.Set(ctxUIProperty, p)
	c.Next()
}

// uiProp is the property of the page.
func uiProp(c *gin.Context) inventory.Property {
	p, _ := c.Get(ctxUIProperty)
	pp, _ := p.(inventory.Property)
	return pp
}

// render writes page (its template set's "layout") with data. An htmx
// request that names a fragment to swap (?fragment=NAME or the
// fragment argument) gets that template alone.
func (s *Server) render(c *gin.Context, status int, page, title, nav string, data any) {
	s.renderTemplate(c, status, page, "layout", title, nav, data)
}

// renderFragment writes one named template of page's set (an htmx partial).
func (s *Server) renderFragment(c *gin.Context, status int, page, fragment string, data any) {
	s.renderTemplate(c, status, page, fragment, "", "", data)
}

func (s *Server) renderTemplate(c *gin.Context, status int, page, name, title, nav string, data any) {
	t, err := s.ui.page(page, pageZone(c))
	if t == nil && err == nil {
		err = fmt.Errorf("no template %s", page)
	}
	if err != nil {
		s.uiFail(c, err)
		return
	}
	v := uiPage{Title: title, User: staff(c), CSRF: csrf.TemplateField(c.Request), CSRFToken: csrf.Token(c.Request),
		Nav: nav, Flash: flashOf(c), HTMX: htmxAsset, Data: data}
	if p, ok := c.Get(ctxUIProperty); ok {
		pp := p.(inventory.Property)
		v.Property = &pp
	}
	if v.User.ID != 0 && name == "layout" {
		v.Properties, _ = s.staffProperties(c)
		v.Menu = v.Property
		if v.Menu == nil && len(v.Properties) == 1 {
			v.Menu = &v.Properties[0]
		}
		if v.Menu != nil {
			v.Alerting = s.alerting(c.Request.Context(), v.Menu.Code)
		}
	}
	var b bytes.Buffer
	b.Grow(64 << 10) // pages are tens of KB, the 90-night grid hundreds: fewer regrowths
	if err := t.ExecuteTemplate(&b, name, v); err != nil {
		s.log.Error("ui: template failed", "page", page, "template", name, "err", err)
		c.Data(http.StatusInternalServerError, "text/plain; charset=utf-8", []byte("internal error\n"))
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Header("X-Frame-Options", "DENY")
	c.Header("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
	c.Data(status, "text/html; charset=utf-8", b.Bytes())
}

// renderError shows a page with an error message.
func (s *Server) renderError(c *gin.Context, status int, msg string) {
	if c.GetHeader("HX-Request") != "" {
		c.Data(status, "text/html; charset=utf-8", []byte(`<p class="error" role="alert">`+template.HTMLEscapeString(msg)+`</p>`))
		return
	}
	s.render(c, status, "error", http.StatusText(status), "", msg)
}

// uiFail answers an error from below: a clear message for what staff can
// fix (bad input, not found, conflict), a logged 500 otherwise.
func (s *Server) uiFail(c *gin.Context, err error) {
	switch inventory.ErrorCode(err) {
	case inventory.EINVALID:
		s.renderError(c, http.StatusBadRequest, inventory.ErrorMessage(err))
	case inventory.ENOTFOUND:
		s.renderError(c, http.StatusNotFound, inventory.ErrorMessage(err))
	case inventory.ECONFLICT:
		s.renderError(c, http.StatusConflict, inventory.ErrorMessage(err))
	default:
		s.log.Error("ui: request failed", "route", route(c), "err", err)
		s.renderError(c, http.StatusInternalServerError, "Something went wrong on keyrack's side; it has been logged. Try again in a moment.")
	}
	c.Abort()
}

// redirectFlash sends the browser to path with a message to show there
// (post/redirect/get), signed for this browser's session (flashSig).
func redirectFlash(c *gin.Context, path, flash string) {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	c.Redirect(http.StatusSeeOther, path+sep+"flash="+url.QueryEscape(flash)+"&flash_sig="+flashSig(c, flash))
}

// flashSig signs a flash with the session's token, which only the
// logged-in browser has: a crafted ?flash= link cannot put words in
// keyrack's success banner ("" without a session: nothing to sign with).
func flashSig(c *gin.Context, flash string) string {
	// The session this answer gives the browser, if it gives one (a
	// password change), else the one it came with.
	token := c.GetString(ctxNewSession)
	if token == "" {
		token, _ = c.Cookie(sessionCookie)
	}
	if token == "" {
		return ""
	}
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte("keyrack admin flash\x00" + flash))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// flashOf is the message a redirect carried to this page, if keyrack
// signed it for this browser; any other ?flash= is not shown.
func flashOf(c *gin.Context) string {
	flash := c.Query("flash")
	if sig := flashSig(c, flash); flash == "" || sig == "" || !hmac.Equal([]byte(sig), []byte(c.Query("flash_sig"))) {
		return ""
	}
	return flash
}

func (s *Server) loginPage(c *gin.Context) {
	s.render(c, http.StatusOK, "login", "Log in", "", map[string]string{"Next": safeNext(c.Query("next"))})
}

func (s *Server) login(c *gin.Context) {
	name, password := strings.TrimSpace(c.PostForm("username")), c.PostForm("password")
	next := safeNext(c.PostForm("next"))
	_, token, err := s.store.StaffLoginFrom(c.Request.Context(), name, password, c.ClientIP())
	if err != nil {
		if throttled, ok := errors.AsType[*inventory.LoginThrottled](err); ok {
			why := "this user name"
			if !throttled.ByName {
				why = "your address"
			}
			// The name typed is logged only when it is a staff user's: it is
			// sometimes a password, typed in the wrong field.
			s.log.Warn("ui: login refused: too many failed logins", "user", cmp.Or(throttled.User, "(no such user)"),
				"client", c.ClientIP(), "by_name", throttled.ByName)
			c.Header("Retry-After", strconv.Itoa(int(throttled.RetryAfter.Seconds())))
			s.render(c, http.StatusTooManyRequests, "login", "Log in", "", map[string]string{"Next": next, "Username": name,
				"Error": "Too many failed logins for " + why + " in the last " + minutes(inventory.LoginWindow) +
					". Try again in " + minutes(throttled.RetryAfter) + "."})
			return
		}
		if errors.Is(err, inventory.ErrBadLogin) {
			c.Set("login.error", true)
			s.render(c, http.StatusUnauthorized, "login", "Log in", "", map[string]string{"Next": next, "Username": name, "Error": "Wrong user name or password."})
			return
		}
		s.uiFail(c, err)
		return
	}
	s.setSessionCookie(c, token)
	c.Redirect(http.StatusSeeOther, next)
}

// setSessionCookie gives the browser the session's token, to keep for as
// long as the session lasts unused (inventory.SessionTTL); Secure when the
// browser came over HTTPS.
func (s *Server) setSessionCookie(c *gin.Context, token string) {
	c.Set(ctxNewSession, token)
	http.SetCookie(c.Writer, &http.Cookie{Name: sessionCookie, Value: token, Path: "/admin", HttpOnly: true,
		Secure: s.isHTTPS(c.Request), SameSite: http.SameSiteLaxMode, MaxAge: int(inventory.SessionTTL.Seconds())})
}

func (s *Server) logout(c *gin.Context) {
	if ck, err := c.Cookie(sessionCookie); err == nil {
		if err := s.store.StaffLogout(c.Request.Context(), ck); err != nil {
			s.log.Error("ui: the session could not be ended", "err", err) // the cookie is cleared anyway
		}
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: sessionCookie, Value: "", Path: "/admin", HttpOnly: true, MaxAge: -1})
	c.Redirect(http.StatusSeeOther, "/admin/login")
}

// minutes is d in whole minutes for people ("1 minute", "15 minutes"),
// rounded up.
func minutes(d time.Duration) string {
	m := int((d + time.Minute - 1) / time.Minute)
	if m == 1 {
		return "1 minute"
	}
	return strconv.Itoa(m) + " minutes"
}

// safeNext keeps a post-login destination inside the admin UI.
func safeNext(next string) string {
	if strings.HasPrefix(next, "/admin") && !strings.HasPrefix(next, "//") && !strings.ContainsAny(next, "\\\r\n") {
		return next
	}
	return "/admin/"
}

// staffProperties lists the properties the logged-in user works on.
func (s *Server) staffProperties(c *gin.Context) ([]inventory.Property, error) {
	ps, err := s.store.Properties(c.Request.Context())
	u := staff(c)
	return slices.DeleteFunc(ps, func(p inventory.Property) bool { return !u.Sees(p.Code) }), err
}

// adminHome lists the user's properties; with only one, it opens its grid.
func (s *Server) adminHome(c *gin.Context) {
	ps, err := s.staffProperties(c)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	if len(ps) == 1 {
		c.Redirect(http.StatusSeeOther, "/admin/p/"+url.PathEscape(ps[0].Code)+"/grid")
		return
	}
	s.render(c, http.StatusOK, "home", "Properties", "", ps)
}

// alerting reports whether the property has an open alert the menu should
// mark: an open incident, a delivery that ran out of retries, or overdue
// work (all read from PostgreSQL: the alerts page lists the dead letters
// from Redis, PostgreSQL records which channels have one). A failure to
// read is logged and marks nothing.
func (s *Server) alerting(ctx context.Context, property string) bool {
	open, err := s.store.HasOpenIncident(ctx, property)
	if err != nil {
		s.log.Warn("ui: open incidents not read for the menu", "property", property, "err", err)
	}
	if open || s.fanout == nil {
		return open
	}
	if dead, err := s.fanout.DeadLettered(ctx, property); err != nil {
		s.log.Warn("ui: dead letters not read for the menu", "property", property, "err", err)
	} else if dead {
		return true
	}
	o, err := s.fanout.Overdue(ctx, property)
	if err != nil {
		s.log.Warn("ui: overdue work not read for the menu", "property", property, "err", err)
		return false
	}
	return !o.Empty()
}
