package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/keyrack/keyrack/fixtures"
	"github.com/keyrack/keyrack/fixtures/sim"
	"github.com/keyrack/keyrack/inventory"
)

type simOptions struct {
	keyrack   string
	rate      float64
	failShare float64
	hotShare  float64
	every     time.Duration
	seed      uint64
}

func simFlags(cfg Config, w io.Writer) (*flag.FlagSet, *Config, *simOptions) {
	fs, c := databaseFlags("sim", "sim [flags]  (KEYRACK_API_KEY, or DATABASE_URL to make a key for the run)", cfg, w)
	o := &simOptions{}
	fs.StringVar(&o.keyrack, "keyrack", "http://"+cfg.Addr, "keyrack's base `url`")
	fs.Float64Var(&o.rate, "rate", 0.2, "bookings per `second` of each simulated OTA (the calendar books at a tenth of it)")
	fs.Float64Var(&o.failShare, "fail-share", 0, "`share` (0-1) of keyrack's requests each simulated channel answers with HTTP 500")
	fs.Float64Var(&o.hotShare, "hot-share", 0.6, "`share` (0-1) of bookings on the hottest fifth of the nights")
	fs.DurationVar(&o.every, "every", 10*time.Second, "how often to print the traffic")
	fs.Uint64Var(&o.seed, "seed", uint64(time.Now().UnixNano()), "`seed` of the bookings")
	return fs, c, o
}

// simCommand runs the channel simulator against a running keyrack's demo
// hotel: simulated expedia, bookingcom, sabre, airbnb and pms channels on
// loopback, keyrack's channels pointed at them through the API, bookings at
// a gentle rate. It prints the traffic now and then, and on SIGINT stops
// the bookings, waits for every channel to believe the pool and says
// whether they do.
func simCommand(ctx context.Context, cfg Config, args []string, _ *slog.Logger, stdout, stderr io.Writer) error {
	fs, c, o := simFlags(cfg, stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("sim takes no arguments, got %q", fs.Args())}
	}
	if o.rate < 0 || o.failShare < 0 || o.failShare >= 1 || o.hotShare < 0 || o.hotShare > 1 || o.every <= 0 {
		return usageError{"sim: -rate must be ≥ 0, -fail-share and -hot-share between 0 and 1, -every positive"}
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
	// Arrivals from the day after tomorrow (UTC: tomorrow or later in any
	// zone) for 60 nights; the final check covers the same nights.
	from := inventory.Today(time.UTC).AddDays(2)
	const nights = 60
	opt := sim.DemoOptions{Rate: o.rate, Seed: o.seed, From: from, Nights: nights, Faults: sim.Faults{FailShare: o.failShare, Seed: o.seed}}
	if o.hotShare > 0 {
		opt.HotNights, opt.HotShare = 0.2, o.hotShare
	}
	s, err := sim.Demo(ctx, target, opt)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.Start(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "keyrack sim: the demo hotel's channels are simulated; %.2f bookings/s per OTA; Ctrl-C stops\n", o.rate)
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
	// Every channel should come to believe the pool once the bookings stop.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	var diffs []string
	for {
		// The calendar platform reads keyrack's calendars afresh each time
		// (its own polling stopped with the bookings).
		if cal, ok := s.Channel("airbnb").(*sim.Calendar); ok {
			_ = cal.Poll(wctx)
		}
		if diffs, err = target.Check(wctx, s, from, from.AddDays(nights)); err != nil {
			return err
		}
		if len(diffs) == 0 {
			fmt.Fprintln(stdout, "keyrack sim: every simulated channel believes the pool")
			return nil
		}
		select {
		case <-wctx.Done():
			return fmt.Errorf("sim: %d channel-nights still differ from the pool, e.g. %s", len(diffs), diffs[0])
		case <-time.After(time.Second):
		}
	}
}

func printSimStats(w io.Writer, st sim.Stats) {
	fmt.Fprintf(w, "bookings sent %d, accepted %d (%d with warnings), refused %d, failed %d; latency p50 %v p99 %v; keyrack's requests to the channels %d (%d failed on purpose, %d throttled, %d with bad credentials)\n",
		st.Sent, st.Accepted, st.Warnings, st.Refused, st.Failed, st.LatencyP50.Round(time.Millisecond), st.LatencyP99.Round(time.Millisecond),
		st.Requests, st.Injected, st.Throttled, st.Rejected)
}
