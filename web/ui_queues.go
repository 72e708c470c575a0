package web

import (
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/gorilla/csrf"
)

// queuesRoot is where asynqmon, asynq's web console, is mounted.
const queuesRoot = "/admin/queues"

// routeUIQueues mounts the queue monitor under /admin/queues.
//
// asynqmon is a single-page app: its pages are GETs, and its actions
// (pause a queue, run, archive or delete tasks) are fetch calls with POST or
// DELETE to its JSON API under /admin/queues/api. Those calls cannot carry
// gorilla/csrf's token (the app is asynqmon's build, not our template), so
// for them alone the token check is replaced by:
//   - a same-origin check done here before gorilla/csrf: an unsafe request
//     under /admin/queues/api must carry an Origin header naming this very
//     host (browsers send Origin on every POST and DELETE, same-origin ones
//     included, and a page elsewhere cannot forge it), and must not be
//     marked cross-site by Sec-Fetch-Site; only then is gorilla/csrf told to
//     skip the request;
//   - the session cookie is SameSite=Lax, so a cross-site POST or DELETE
//     does not carry the login anyway;
//   - the login (requireStaff, as for every admin page) and the role:
//     viewers get asynqmon in read-only mode (no action buttons) and every
//     unsafe request of theirs is refused with 403 before asynqmon sees it.
//
// Every other unsafe request under /admin/queues still goes through
// gorilla/csrf. Without a queue (no Redis configured) the page says so.
func (s *Server) routeUIQueues(in *gin.RouterGroup) {
	q := in.Group("/queues")
	// The group's chain is [csrf, requireStaff]: the origin check must run
	// before gorilla/csrf to be able to let asynqmon's API calls past it.
	q.Handlers = append(gin.HandlersChain{queuesSameOrigin}, q.Handlers...)
	q.GET("", func(c *gin.Context) { c.Redirect(http.StatusMovedPermanently, queuesRoot+"/") })
	if s.queue == nil {
		q.Match([]string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodDelete}, "/*path", func(c *gin.Context) {
			s.render(c, http.StatusServiceUnavailable, "error", "Queues", "queues",
				"The task queue is not connected: this server runs without Redis (REDIS_URL), so there is no queue to show.")
		})
		return
	}
	admin := s.queue.Monitor(queuesRoot, false)
	viewer := s.queue.Monitor(queuesRoot, true)
	// asynqmon's methods alone (adminMethods refuses the others first).
	q.Match([]string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodDelete}, "/*path", func(c *gin.Context) {
		u := staff(c)
		if u.Property != "" {
			// The queues hold every property's work.
			s.renderError(c, http.StatusForbidden, "The queues hold every property's work; your account works on "+u.Property+" only.")
			return
		}
		if !safeMethod(c.Request.Method) && !u.CanEdit() {
			c.String(http.StatusForbidden, "Forbidden: your account can look at the queues but not change them.\n")
			return
		}
		h := viewer
		if u.CanEdit() {
			h = admin
		}
		if !safeMethod(c.Request.Method) {
			// Queue actions change Redis, not the store: the log keeps who did what.
			s.log.Info("queues: action", "staff", u.Name, "method", c.Request.Method, "path", c.Request.URL.Path)
		}
		c.Header("Cache-Control", "no-store")
		c.Header("X-Frame-Options", "DENY")
		c.Header("Referrer-Policy", "same-origin")
		c.Header("X-Content-Type-Options", "nosniff")
		if strings.HasPrefix(c.Request.URL.Path, queuesRoot+"/api/") {
			// asynqmon writes its JSON without a type (its errors set their own).
			c.Header("Content-Type", "application/json; charset=utf-8")
		}
		h.ServeHTTP(c.Writer, c.Request)
	})
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// queuesSameOrigin lets asynqmon's own API calls past gorilla/csrf when
// they come from this site, and refuses the unsafe ones that do not (see
// routeUIQueues).
func queuesSameOrigin(c *gin.Context) {
	r := c.Request
	if safeMethod(r.Method) || !strings.HasPrefix(r.URL.Path, queuesRoot+"/api/") || path.Clean(r.URL.Path) != r.URL.Path {
		// Everything else (a path with dot segments too) keeps the CSRF check.
		c.Next()
		return
	}
	if !sameOriginRequest(r) {
		c.String(http.StatusForbidden, "Forbidden: this request did not come from keyrack's queue page.\n")
		c.Abort()
		return
	}
	c.Request = csrf.UnsafeSkipCheck(r)
	c.Next()
}

// sameOriginRequest tells whether r's Origin header names this server's
// own origin: the host it was addressed to, over https when r came over TLS.
func sameOriginRequest(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return false
	}
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return false
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	if r.TLS != nil && u.Scheme != "https" {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}
