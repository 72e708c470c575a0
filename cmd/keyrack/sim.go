package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/keyrack/keyrack/fixtures"
	"github.com/keyrack/keyrack/fixtures/sim"
	"github.com/keyrack/keyrack/inventory"
)

type simOptions struct {
	keyrack      string
	rate         float64
	failShare    float64
	limit        int
	per          time.Duration
	hotShare     float64
	every        time.Duration
	seed         uint64
	serve        bool
	wait         time.Duration
	checkTimeout time.Duration
}

func simFlags(cfg Config, w io.Writer) (*flag.FlagSet, *Config, *simOptions) {
	fs, c := databaseFlags("sim", "sim [flags]  (KEYRACK_API_KEY, or DATABASE_URL to make a key for the run)", cfg, w)
	o := &simOptions{}
	fs.StringVar(&o.keyrack, "keyrack", "http://"+cfg.Addr, "keyrack's base `url` (not with -serve)")
	fs.Float64Var(&o.rate, "rate", 0.2, "bookings per `second` of each simulated OTA (the calendar books at a tenth of it)")
	fs.Float64Var(&o.failShare, "fail-share", 0, "`share` (0-1) of keyrack's requests each simulated channel answers with HTTP 500")
	fs.IntVar(&o.limit, "limit", 0, "requests of keyrack's each simulated channel serves per -per; the rest are answered\n"+
		"HTTP 429 with a Retry-After saying when the window frees (0: no limit)")
	fs.DurationVar(&o.per, "per", time.Second, "the `window` of -limit")
	fs.Float64Var(&o.hotShare, "hot-share", 0.6, "`share` (0-1) of bookings on the hottest fifth of the nights")
	fs.DurationVar(&o.every, "every", 10*time.Second, "how often to print the traffic")
	fs.Uint64Var(&o.seed, "seed", uint64(time.Now().UnixNano()), "`seed` of the bookings")
	fs.BoolVar(&o.serve, "serve", false, "run keyrack itself in this process too, as \"keyrack serve\" with every role and\n"+
		"KEYRACK_ICAL_ALLOW_PRIVATE=1 and KEYRACK_PULL_ALLOW_PRIVATE=1 (needs KEYRACK_SECRET), and stop it with the simulation")
	fs.DurationVar(&o.wait, "wait", 30*time.Second, "how long to wait for keyrack to be ready (/readyz) before pointing its channels at the simulator")
	fs.DurationVar(&o.checkTimeout, "check-timeout", 2*time.Minute, "on Ctrl-C, how long to wait for keyrack to hold every booking the channels\n"+
		"made (the calendar's too) and every channel to believe the pool, through restarts\n"+
		"(exit status 1 if not); 0 skips the check")
	return fs, c, o
}

// simCommand runs the channel simulator against a running keyrack's demo
// hotel (or, with -serve, one it runs itself): simulated expedia,
// bookingcom, sabre, airbnb and pms channels on loopback, keyrack's
// channels pointed at them through the API, bookings at a gentle rate. It
// prints the traffic now and then, and on SIGINT stops the bookings, waits
// for keyrack to hold every booking and every channel to believe the pool,
// and says whether they do.
func simCommand(ctx context.Context, cfg Config, args []string, logger *slog.Logger, stdout, stderr io.Writer) error {
	fs, c, o := simFlags(cfg, stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("sim takes no arguments, got %q", fs.Args())}
	}
	if o.rate < 0 || o.failShare < 0 || o.failShare >= 1 || o.hotShare < 0 || o.hotShare > 1 || o.every <= 0 || o.wait < 0 || o.checkTimeout < 0 ||
		o.limit < 0 || o.per <= 0 {
		return usageError{"sim: -rate and -limit must be ≥ 0, -fail-share and -hot-share between 0 and 1, -every and -per positive, -wait and -check-timeout not negative"}
	}
	if o.serve {
		given := false
		fs.Visit(func(f *flag.Flag) { given = given || f.Name == "keyrack" })
		if given {
			return usageError{"sim: -serve simulates the keyrack it runs; leave -keyrack out"}
		}
		if c.Secret == "" {
			return usageError{"sim -serve needs KEYRACK_SECRET: keyrack seals the simulated channels' credentials with it"}
		}
	}
	key := c.APIKey
	if key == "" {
		// A key for this run only, revoked when it ends.
		if c.DatabaseURL == "" {
			return usageError{"sim needs KEYRACK_API_KEY (a key for every property) or DATABASE_URL to make one"}
		}
		st, err := openStore(ctx, *c)
		if err != nil {
			return err
		}
		defer st.Close()
		k, secret, err := st.CreateAPIKey(ctx, "", "keyrack sim", inventory.Actor{Kind: "cli", Name: "keyrack sim"})
		if err != nil {
			return err
		}
		defer func() {
			_, _ = st.RevokeAPIKey(context.WithoutCancel(ctx), k.Prefix, inventory.Actor{Kind: "cli", Name: "keyrack sim"})
		}()
		key = secret
	}
	target := sim.Target{Keyrack: strings.TrimSuffix(o.keyrack, "/"), APIKey: key, Property: fixtures.DemoProperty}
	if !o.serve {
		return runSim(ctx, target, o, stdout)
	}
	return serveAndSim(ctx, *c, target, o, logger, stdout, stderr)
}

// serveAndSim runs keyrack (every role) and the simulation beside it in
// this process, for the live demo. A signal stops the bookings first, then
// (after the check, if any) keyrack. If keyrack stops on its own, the
// simulation stops too; if the simulation fails, keyrack goes on serving
// until the signal, and the exit status is 1.
func serveAndSim(ctx context.Context, cfg Config, target sim.Target, o *simOptions, logger *slog.Logger, stdout, stderr io.Writer) error {
	m := NewMain()
	m.Config = cfg
	m.Config.Roles = defaultRoles
	m.Config.ICalAllowPrivate = true // the simulated calendar's feeds are on loopback
	m.Config.PullAllowPrivate = true // and the simulated pull-mode OTA's queues
	m.Logger, m.Stdout = logger, stdout
	defer m.Close()
	// Listened on here, so that a port in use gets a hint true for this
	// command: it has no -addr.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s (set KEYRACK_ADDR): %w", cfg.Addr, err)
	}
	m.Listener = ln
	// keyrack stops when the simulation is done with it, not at the signal.
	serveCtx, stopServing := context.WithCancel(context.WithoutCancel(ctx))
	defer stopServing()
	served, err := m.Start(serveCtx)
	if err != nil {
		_ = ln.Close() // Run closes it only once it serves
		return err
	}
	target.Keyrack = strings.TrimSuffix(serverURL(m.Addr()), "/")

	simCtx, stopSim := context.WithCancel(ctx)
	defer stopSim()
	simmed := make(chan error, 1)
	go func() { simmed <- runSim(simCtx, target, o, stdout) }()
	var simErr error
	select {
	case err := <-served:
		stopSim()
		<-simmed
		if err == nil {
			err = errors.New("keyrack stopped")
		}
		return fmt.Errorf("%w; the simulation stopped with it", err)
	case simErr = <-simmed:
	}
	if simErr != nil {
		fmt.Fprintf(stderr, "keyrack sim: the simulation failed: %v\nkeyrack sim: keyrack goes on serving; Ctrl-C stops it\n", simErr)
		select {
		case err := <-served:
			return errors.Join(err, errors.New("sim: the simulation failed (see above)"))
		case <-ctx.Done():
		}
	}
	stopServing()
	if err := <-served; err != nil {
		return err
	}
	if simErr != nil {
		return errors.New("sim: the simulation failed (see above)")
	}
	return nil
}

// runSim waits for keyrack at target, simulates the demo hotel's channels
// until ctx ends, then checks (unless -check-timeout is 0) that every
// channel comes to believe the pool.
func runSim(ctx context.Context, target sim.Target, o *simOptions, stdout io.Writer) error {
	if err := waitReady(ctx, target.Keyrack, o.wait); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while waiting
		}
		return err
	}
	// Arrivals from the day after tomorrow (UTC: tomorrow or later in any
	// zone) for 60 nights; the final check covers the same nights.
	from := inventory.Today(time.UTC).AddDays(2)
	const nights = 60
	opt := sim.DemoOptions{Rate: o.rate, Seed: o.seed, From: from, Nights: nights, Faults: sim.Faults{FailShare: o.failShare, Limit: o.limit, Per: o.per, Seed: o.seed}}
	if o.hotShare > 0 {
		opt.HotNights, opt.HotShare = 0.2, o.hotShare
	}
	s, err := sim.Demo(ctx, target, opt)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer s.Close()
	if err := s.Start(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "keyrack sim: the demo hotel's channels are simulated; %.2f bookings/s per OTA", o.rate)
	if o.failShare > 0 {
		fmt.Fprintf(stdout, ", %.0f%% of keyrack's requests to them fail", 100*o.failShare)
	}
	if o.limit > 0 {
		fmt.Fprintf(stdout, ", each serves keyrack %d requests per %v (429 beyond)", o.limit, o.per)
	}
	fmt.Fprintln(stdout, "; Ctrl-C stops")
	t := time.NewTicker(o.every)
	defer t.Stop()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-t.C:
			printSimStats(stdout, s.Stats())
		}
	}
	s.Stop()
	printSimStats(stdout, s.Stats())
	if o.checkTimeout == 0 {
		return nil
	}
	// Once the bookings stop, keyrack should hold every booking it took and
	// every channel come to believe the pool (sim.Target.Judge). Both can
	// take a while, and keyrack or its database may be restarting (a fault
	// drill's Ctrl-C can land then): the check goes round again until
	// -check-timeout, and stops at once only on an error that will not pass
	// (the key refused, the demo hotel gone). A request that hangs fails on
	// its own.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.checkTimeout)
	defer cancel()
	target.Client = &http.Client{Timeout: 10 * time.Second}
	to := from.AddDays(nights)
	var lost, diffs []string
	var lastErr error
	for {
		l, d, err := target.Judge(wctx, s, from, to)
		switch {
		case err == nil && len(l)+len(d) == 0:
			fmt.Fprintln(stdout, "keyrack sim: every simulated channel believes the pool")
			fmt.Fprintln(stdout, "keyrack sim: keyrack holds every booking it took as its channel sent it")
			return nil
		case err == nil:
			lost, diffs, lastErr = l, d, nil
		case wctx.Err() == nil && !sim.Passing(err):
			return err
		default:
			lastErr = err
		}
		select {
		case <-wctx.Done():
			switch {
			case len(lost) > 0:
				return fmt.Errorf("sim: keyrack does not hold %d of the channels' bookings as they sent them, e.g. %s", len(lost), lost[0])
			case len(diffs) > 0:
				return fmt.Errorf("sim: %d channel-nights still differ from the pool, e.g. %s", len(diffs), diffs[0])
			}
			return fmt.Errorf("sim: keyrack did not answer the check within %v: %w", o.checkTimeout, lastErr)
		case <-time.After(time.Second):
		}
	}
}

// waitReady waits up to wait for keyrack's /readyz to answer 200, so the
// simulator can be started beside a keyrack that is still starting.
func waitReady(ctx context.Context, base string, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	client := &http.Client{Timeout: 5 * time.Second}
	for {
		var last string
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
		if err != nil {
			return err
		}
		res, err := client.Do(req)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
			last = res.Status
		} else {
			last = err.Error()
		}
		if !time.Now().Before(deadline) {
			return fmt.Errorf("sim: keyrack at %s is not ready (%s); start it, or give it longer with -wait", base, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// printSimStats prints the traffic. The latencies of pushed bookings
// (request to keyrack's answer) and pulled ones (made at the channel to
// acknowledged: keyrack polls, so seconds) are apart: together a p99 of
// ten seconds read as keyrack answering slowly.
func printSimStats(w io.Writer, st sim.Stats) {
	ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	latency := fmt.Sprintf("latency of pushed bookings (request to answer) p50 %v p99 %v", ms(st.Pushed.P50), ms(st.Pushed.P99))
	if st.Pulled != (sim.Latency{}) {
		latency += fmt.Sprintf(", of pulled ones (made to acknowledged, keyrack polling) p50 %v p99 %v", ms(st.Pulled.P50), ms(st.Pulled.P99))
	}
	fmt.Fprintf(w, "bookings sent %d, accepted %d (%d with warnings), refused %d, failed %d, sent again %d times, not made as sold out %d; %s; keyrack's requests to the channels %d (%d failed on purpose, %d throttled, %d with bad credentials)\n",
		st.Sent, st.Accepted, st.Warnings, st.Refused, st.Failed, st.Retried, st.Skipped, latency,
		st.Requests, st.Injected, st.Throttled, st.Rejected)
}
