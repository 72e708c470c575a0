package web

import (
	"log/slog"
	"net/http"
	"runtime/debug"
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
			c.AbortWithStatusJSON(http.StatusInternalServerError, errorBody{Error: "internal error"})
		}()
		c.Next()
	}
}
