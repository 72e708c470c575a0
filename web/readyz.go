package web

import (
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
)

// readyTimeout is how long readyz waits for each dependency.
const readyTimeout = 2 * time.Second

// readiness is readyz's answer.
type readiness struct {
	// Status is "ok"; "degraded" when only Redis does not answer (bookings
	// are taken and kept, their fan-out waits in the outbox); "unavailable"
	// when PostgreSQL does not.
	Status string `json:"status"`
	// Failed names the dependencies that did not answer.
	Failed []string              `json:"failed,omitempty"`
	Checks map[string]dependency `json:"checks"`
}

// dependency is one dependency's state: "ok" or "down" with a short reason.
type dependency struct {
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

// readyz reports whether keyrack can take traffic: PostgreSQL (the source of
// truth) and Redis (the fan-out's queues) are checked, each within
// readyTimeout. Only PostgreSQL's absence makes keyrack unready (503): while
// Redis is down a booking is still taken and its changes wait in the outbox
// (PRODUCT.md, invariant 4), so an orchestrator's readiness probe must not
// take every web process out of service and turn the channels' bookings away.
// The answer still names Redis, as "degraded".
func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), readyTimeout)
	defer cancel()

	type result struct {
		name string
		err  error
	}
	checks := map[string]func(context.Context) error{
		"postgres": func(ctx context.Context) error {
			if s.store == nil {
				return errNotConfigured
			}
			return s.store.Ping(ctx)
		},
		"redis": func(ctx context.Context) error {
			if s.queue == nil {
				return errNotConfigured
			}
			return s.queue.Ping(ctx)
		},
	}
	results := make(chan result, len(checks))
	for name, check := range checks {
		go func() { results <- result{name, check(ctx)} }()
	}

	r := readiness{Status: "ok", Checks: make(map[string]dependency, len(checks))}
	for range checks {
		res := <-results
		if res.err == nil {
			r.Checks[res.name] = dependency{Status: "ok"}
			continue
		}
		s.log.WarnContext(ctx, "not ready", "dependency", res.name, "err", res.err)
		r.Failed = append(r.Failed, res.name)
		r.Checks[res.name] = dependency{Status: "down", Error: reason(res.err)}
	}
	slices.Sort(r.Failed)
	switch {
	case slices.Contains(r.Failed, "postgres"):
		r.Status = "unavailable"
		c.JSON(http.StatusServiceUnavailable, r)
	case len(r.Failed) > 0:
		r.Status = "degraded"
		c.JSON(http.StatusOK, r)
	default:
		c.JSON(http.StatusOK, r)
	}
}

var errNotConfigured = errors.New("not configured")

// reason says in a few words why a dependency failed. The full error goes
// to the log only: it can name hosts, users and databases.
func reason(err error) string {
	var dns *net.DNSError
	var ne net.Error
	switch {
	case errors.Is(err, errNotConfigured):
		return "not configured"
	case errors.Is(err, context.DeadlineExceeded):
		return "no answer within " + readyTimeout.String()
	case errors.Is(err, context.Canceled):
		return "check cancelled"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.As(err, &dns):
		return "host name does not resolve"
	case errors.As(err, &ne) && ne.Timeout():
		return "timed out"
	}
	return "not answering (see the server log)"
}
