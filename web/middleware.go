package web

import (
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// route is the route template that matched the request ("/ical/:token"), or
// "unmatched". Logs and metrics use it instead of the path, which can carry
// secrets such as iCal feed tokens and would make every URL its own label.
func route(c *gin.Context) string {
	if r := c.FullPath(); r != "" {
		return r
	}
	return "unmatched"
}

// requestLogger logs one line per request. Successful health probes, which
// arrive every few seconds, are logged at debug level.
func requestLogger(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		status := c.Writer.Status()
		r := route(c)
		level := slog.LevelInfo
		switch {
		case status >= 500:
			level = slog.LevelWarn
		case status < 400 && (r == "/healthz" || r == "/readyz"):
			level = slog.LevelDebug
		}
		log.LogAttrs(c.Request.Context(), level, "request",
			slog.String("method", c.Request.Method),
			slog.String("route", r),
			slog.Int("status", status),
			slog.Duration("duration", time.Since(start)),
			slog.Int("bytes", max(c.Writer.Size(), 0)),
			slog.String("client", c.ClientIP()),
		)
	}
}

// recoverer turns a panic in a handler into a logged error and a JSON 500
// that says nothing about the cause.
func recoverer(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			rec := recover()
			if rec == nil {
				return
			}
			if rec == http.ErrAbortHandler {
				// The handler chose to abort the response; net/http handles it quietly.
				panic(rec)
			}
			log.LogAttrs(c.Request.Context(), slog.LevelError, "panic serving request",
				slog.String("method", c.Request.Method),
				slog.String("route", route(c)),
				slog.Any("panic", rec),
				slog.String("stack", string(debug.Stack())),
			)
			if c.Writer.Written() {
				// Too late for a status; cut the response short.
				c.Abort()
				return
			}
			if strings.HasPrefix(c.Request.URL.Path, "/api/") {
				// The API answers every error as problem details.
				writeProblem(c, problem{Status: http.StatusInternalServerError,
					Detail: "keyrack failed on this request; it is logged, and the request can be sent again"})
				return
			}
			c.AbortWithStatusJSON(http.StatusInternalServerError, errorBody{Error: "internal error"})
		}()
		c.Next()
	}
}

// proxyPrefixes reads the trusted proxies as gin.Engine.SetTrustedProxies
// does (an address, or a CIDR range); New calls it only on a list gin
// accepted.
func proxyPrefixes(list []string) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range list {
		if pf, err := netip.ParsePrefix(p); err == nil {
			out = append(out, pf.Masked())
		} else if a, err := netip.ParseAddr(p); err == nil {
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return out
}

// fromTrustedProxy reports whether the request's connection comes from a
// configured reverse proxy (or a unix socket, which gin trusts too): the
// same decision gin makes before believing X-Forwarded-For.
func (s *Server) fromTrustedProxy(r *http.Request) bool {
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok && strings.HasPrefix(la.Network(), "unix") {
		return true
	}
	ap, err := netip.ParseAddrPort(strings.TrimSpace(r.RemoteAddr))
	if err != nil {
		return false
	}
	a := ap.Addr().Unmap()
	for _, p := range s.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// isHTTPS reports whether the browser reached keyrack over HTTPS: on a TLS
// connection of its own, or through a trusted proxy that says so in
// X-Forwarded-Proto (keyrack serves plain HTTP, so an HTTPS site is a
// TLS-terminating proxy in front). The header from anyone else is ignored.
// The CSRF check, the session cookie's Secure flag and the export URLs
// shown to staff all follow this one answer.
func (s *Server) isHTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	if !s.fromTrustedProxy(r) {
		return false
	}
	// A chain of proxies lists one scheme each: the first is the browser's.
	proto, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ",")
	return strings.EqualFold(strings.TrimSpace(proto), "https")
}
