package web

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/keyrack/keyrack/sync"
)

// readyTimeout is how long readyz waits for each dependency.
const readyTimeout = 2 * time.Second

// readiness is readyz's answer.
type readiness struct {
	// Status is "ok"; "degraded" when only Redis does not answer (bookings
	// are taken and kept, their fan-out waits in the outbox), or when work
	// is overdue (Overdue); "unavailable" when PostgreSQL does not.
	Status string `json:"status"`
	// Failed names the dependencies that did not answer.
	Failed []string              `json:"failed,omitempty"`
	Checks map[string]dependency `json:"checks"`
	// Overdue says, by kind ("relay", "deliveries", "pulls", "scheduler",
	// "workers"), what work keyrack's own processes have left undone and not
	// even attempted for minutes (sync.Fanout.Overdue): a part of the
	// deployment is not running — no worker, no leading scheduler — or
	// cannot reach Redis ("workers": worker processes that say so).
	// It names no property nor channel: readyz answers anyone.
	Overdue map[string]string `json:"overdue,omitempty"`
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
	// Overdue work is named but keeps keyrack ready: this process takes
	// bookings and keeps them; it is another that does not run.
	if s.fanout != nil && !slices.Contains(r.Failed, "postgres") {
		// Probes arriving while a read runs take its answer: readyz is
		// public, and however many ask, one read runs at a time. The read
		// is not the first asker's to cancel.
		v, err, _ := s.overdue.Do("", func() (any, error) {
			octx, cancel := context.WithTimeout(context.WithoutCancel(ctx), readyTimeout)
			defer cancel()
			return s.fanout.Overdue(octx, "")
		})
		if err != nil {
			s.log.WarnContext(ctx, "readyz: overdue work not read", "err", err)
		} else if o := v.(sync.Overdue); !o.Empty() {
			r.Overdue = overdueDetail(o)
			if r.Status == "ok" {
				r.Status = "degraded"
			}
		}
	}
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

// overdueDetail says what is overdue for an operator, without naming a
// property or channel.
func overdueDetail(o sync.Overdue) map[string]string {
	now := time.Now()
	plural := func(n int, one, many string) string {
		if n == 1 {
			return "1 " + one
		}
		return strconv.Itoa(n) + " " + many
	}
	oldest := func(chs []sync.OverdueChannel) time.Duration {
		var t time.Time
		for _, ch := range chs {
			if t.IsZero() || ch.Since.Before(t) {
				t = ch.Since
			}
		}
		return now.Sub(t)
	}
	d := map[string]string{}
	if o.Unrelayed > 0 {
		d["relay"] = fmt.Sprintf("%s waited %s in the outbox: no keyrack worker has taken them",
			plural(o.Unrelayed, "change has", "changes have"), lagText(now.Sub(o.UnrelayedSince)))
	}
	if n := len(o.Undelivered); n > 0 {
		d["deliveries"] = fmt.Sprintf("%s had changes waiting %s with no delivery attempted: no keyrack worker delivers, or none reaches Redis",
			plural(n, "channel has", "channels have"), lagText(oldest(o.Undelivered)))
	}
	if !o.SchedulerIdleSince.IsZero() {
		d["scheduler"] = fmt.Sprintf("no keyrack scheduler has led for %s: the nightly resync, the polls of pull-mode channels, "+
			"the checks that raise alerts and the clean-ups are not done; start keyrack serve --roles scheduler",
			lagText(now.Sub(o.SchedulerIdleSince)))
	}
	if !o.SchedulerStuckSince.IsZero() {
		d["scheduler"] = fmt.Sprintf("the keyrack scheduler that leads has not begun a round for %s: the nightly resync, "+
			"the checks that raise alerts and the clean-ups are not done, and no other scheduler has taken over; restart the process that runs it", lagText(now.Sub(o.SchedulerStuckSince)))
	}
	if n := len(o.RedisUnreachable); n > 0 {
		since := now
		for _, p := range o.RedisUnreachable {
			if p.Since.Before(since) {
				since = p.Since
			}
		}
		// Not named here (readyz answers anyone): the alerts page names them.
		d["workers"] = fmt.Sprintf("%s not reached Redis for %s: check their REDIS_URL (the alerts page names them)",
			plural(n, "keyrack worker process has", "keyrack worker processes have"), lagText(now.Sub(since)))
	}
	if n := len(o.Unpolled); n > 0 {
		why := "no keyrack scheduler leads"
		if !o.SchedulerIdleSince.IsZero() {
			why += " (see scheduler)"
		} else if o.SchedulerLeads {
			why = "its polls are not carried out (no keyrack worker?) or fail"
			if !slices.ContainsFunc(o.Unpolled, pollsAskedFor) {
				why = "the keyrack scheduler that leads does not ask for their polls: its process hangs or cannot reach Redis; " +
					"restart it or correct its REDIS_URL"
			}
		}
		d["pulls"] = fmt.Sprintf("%s not been polled with success for %s: %s",
			plural(n, "pull-mode channel has", "pull-mode channels have"), lagText(oldest(o.Unpolled)), why)
	}
	return d
}

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
