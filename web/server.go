// Package web is keyrack's HTTP side: the health endpoints and the
// management and PMS API (/api/v1), the OTA XML push endpoint (/ota/{channel}),
// the iCal export feeds (/ical/{token}.ics); the staff admin UI as it arrives. It turns requests into calls on the
// inventory and the queue, and never lets an internal error or a secret
// reach the response.
package web

import (
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/sync"
	"golang.org/x/sync/singleflight"
)

func init() {
	// In debug mode gin prints every route to stdout, which is kept for the
	// one line people and scripts read from `keyrack serve`. GIN_MODE still wins.
	if os.Getenv(gin.EnvGinMode) == "" {
		gin.SetMode(gin.ReleaseMode)
	}
}

// Config is what the server needs.
type Config struct {
	Store  *inventory.Store
	Queue  *sync.Queue
	Logger *slog.Logger // slog.Default() when nil
	// Secrets hashes and seals channel credentials set through the API; nil
	// (no KEYRACK_SECRET) refuses credentials.
	Secrets *inventory.Secrets
	// Fanout, when set, lists failed deliveries among the API's incidents.
	Fanout *sync.Fanout
	// OTAMaxBody caps an OTA message after decompression (DefaultOTAMaxBody when 0).
	OTAMaxBody int64
	// Now is the clock the iCal export takes "today" from (time.Now when nil).
	Now func() time.Time
	// TrustedProxies are the addresses or CIDR ranges of the reverse proxies
	// in front of keyrack (KEYRACK_TRUSTED_PROXIES): from them, the client
	// address is taken from X-Forwarded-For / X-Real-IP, and the scheme the
	// browser used from X-Forwarded-Proto (the admin UI's CSRF check, the
	// session cookie's Secure flag and the export URLs it shows follow it).
	// None by default: the connection's address is the client's.
	TrustedProxies []string
}

// Server routes keyrack's HTTP requests.
type Server struct {
	store   *inventory.Store
	queue   *sync.Queue
	log     *slog.Logger
	engine  *gin.Engine
	secrets *inventory.Secrets
	fanout  *sync.Fanout

	otaMaxBody int64
	unkept     unkeptLog   // unauthenticated OTA messages not stored
	otaFails   otaFailures // failed authentications at the OTA endpoint
	// overdue lets one read of the overdue work run at a time for readyz,
	// which answers anyone: a flood of probes shares it.
	overdue singleflight.Group
	now     func() time.Time
	ui      *uiTemplates
	// proxies are the trusted reverse proxies (Config.TrustedProxies) as
	// gin takes them: only from them is X-Forwarded-Proto believed.
	proxies []netip.Prefix
}

// New builds the server and its routes.
func New(cfg Config) *Server {
	s := &Server{store: cfg.Store, queue: cfg.Queue, log: cfg.Logger, secrets: cfg.Secrets, fanout: cfg.Fanout, otaMaxBody: cfg.OTAMaxBody}
	if s.now = cfg.Now; s.now == nil {
		s.now = time.Now
	}
	if s.otaMaxBody <= 0 {
		s.otaMaxBody = DefaultOTAMaxBody
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	e := gin.New()
	// Routes match the path as sent, its parameters then unescaped: a
	// reservation id may hold a "/" (an iCal import's is its room type and
	// the event's UID, "DBL-STD/HM1@airbnb.com"), sent as %2F — matched on
	// the decoded path, no route took it, and such a booking could not be
	// read, changed or cancelled through the API.
	e.UseRawPath, e.UnescapePathValues = true, true
	// No proxy is trusted until one is configured: X-Forwarded-For from the
	// internet must not choose the client address that logs and rate limits
	// see. A list that does not parse (the command checks it first) trusts
	// none.
	if err := e.SetTrustedProxies(cfg.TrustedProxies); err != nil {
		s.log.Error("web: trusted proxies not understood; trusting none", "proxies", cfg.TrustedProxies, "err", err)
		_ = e.SetTrustedProxies(nil)
	} else {
		s.proxies = proxyPrefixes(cfg.TrustedProxies)
	}
	// The logger wraps the recoverer so that it records the 500 a panic becomes.
	e.Use(requestLogger(s.log), recoverer(s.log), adminMethods, otaMethods)

	e.GET("/", s.home)
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	s.routeAPI(e)
	s.routeOTA(e)
	s.routeICal(e)
	s.routeMetrics(e)
	s.routeUI(e)

	s.engine = e
	return s
}

// Handler is the server's http.Handler. A HEAD request of an admin page
// (asynqmon's, under /admin/queues/, answers HEAD itself) is answered as
// its GET — status and headers, the login's redirect too — without the
// body: HTTP servers must take HEAD wherever they take GET (RFC 9110 §9.1),
// and uptime checks use it. net/http leaves the body out, as the request it
// answers is the HEAD.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; r.Method == http.MethodHead && (p == "/admin" || strings.HasPrefix(p, "/admin/")) &&
			!strings.HasPrefix(p, queuesRoot+"/") {
			r = r.Clone(r.Context())
			r.Method = http.MethodGet
		}
		s.engine.ServeHTTP(w, r)
	})
}

// errorBody is the JSON every error response carries: a message meant for
// the caller, never an internal error's text.
type errorBody struct {
	Error string `json:"error"`
}
