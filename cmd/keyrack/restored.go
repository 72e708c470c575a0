package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/sync"
)

// restoredSkip is how far keyrack restored moves every id and task
// generation at least (each moves by its own value if that is larger).
const restoredSkip = 1_000_000

func restoredFlags(cfg Config, w io.Writer) (*flag.FlagSet, *Config, *int64) {
	fs, c := databaseFlags("restored", "restored [flags]  (with every keyrack process stopped, before starting them on a database restored from a backup)", cfg, w)
	fs.StringVar(&c.RedisURL, "redis-url", cfg.RedisURL, "Redis `url` (REDIS_URL)")
	skip := fs.Int64("skip", restoredSkip, "move every id and task generation on by at least this many (each by its own value if larger): more than keyrack issued between the backup and the loss")
	return fs, c, skip
}

// restoredCommand readies a database restored from a backup: outside
// systems keep the ids the lost part of it issued (a PMS's feed cursor, the
// feed and reservation ids of its webhooks), Redis may keep tasks named by
// them, and the channels what keyrack told them since the backup.
func restoredCommand(ctx context.Context, cfg Config, args []string, logger *slog.Logger, stdout, stderr io.Writer) error {
	fs, c, skip := restoredFlags(cfg, stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("restored takes no arguments, got %q", fs.Args())}
	}
	if *skip < 1 {
		return usageError{"-skip must be at least 1"}
	}
	st, err := openMigratedStore(ctx, *c)
	if err != nil {
		return err
	}
	defer st.Close()
	release, err := st.LockOutProcesses(ctx)
	if err != nil {
		if refused, ok := err.(inventory.ProcessesRunningError); ok {
			refused.Why = "they would go on issuing the ids from before the restore meanwhile"
			return refused
		}
		return err
	}
	defer release()
	q, err := sync.OpenQueue(c.RedisURL)
	if err != nil {
		return usageError{err.Error()}
	}
	defer q.Close()
	f, err := sync.New(sync.Config{DB: st.DB(), Queue: q, Connectors: NewMain().Connectors, QueuePrefix: c.QueuePrefix, Logger: logger})
	if err != nil {
		return err
	}
	moved, err := st.AdvanceSequences(ctx, *skip)
	if err != nil {
		return err
	}
	for _, m := range moved {
		fmt.Fprintf(stdout, "%s: %d → %d\n", m.Name, m.From, m.To)
	}
	restored, err := f.Restored(ctx, *skip)
	if err != nil {
		return err
	}
	// keyrack starts on the database as it is now.
	if err := f.ForgetProgress(ctx); err != nil {
		return fmt.Errorf("%w; keyrack will not start on this database until `keyrack restored` is run again with Redis answering", err)
	}
	var codes []string
	for _, r := range restored {
		codes = append(codes, r.Code)
	}
	properties := "properties"
	if len(restored) == 1 {
		properties = "property"
	}
	fmt.Fprintf(stdout, "ids and task generations moved on; every channel of %d %s is resynced once keyrack runs (%s)\n",
		len(restored), properties, strings.Join(codes, ", "))
	for _, r := range restored {
		fmt.Fprintf(stdout, "%s: bookings made since %s may be missing (an alert on its alerts page says so until staff resolve it)\n",
			r.Code, r.MissingSince.In(r.Zone).Format("2006-01-02 15:04:05 MST"))
	}
	fmt.Fprint(stdout, restoredNext)
	return nil
}

// restoredNext is what keyrack cannot do itself after a restore.
const restoredNext = `Now start keyrack, then (see README, "Restoring from a backup"):
- bookings, changes and cancellations channels sent after the backup are not in keyrack: look them up at each OTA's
  extranet (pushed ones are not sent again; pulled ones were acknowledged) and in the PMS, and enter them again;
  each property's alerts page tells its staff so, from the moment above, until they resolve the alert;
- tell the PMS to read its feed again from after=0 and to apply each revision's reservation as it stands now;
- API keys, staff users, channels, mappings and iCal export URLs made after the backup are gone: make them again.
`
