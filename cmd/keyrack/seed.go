package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/keyrack/keyrack/fixtures"
)

func seedFlags(cfg Config, w io.Writer) (*flag.FlagSet, *Config) {
	return databaseFlags("seed", "seed demo [flags]", cfg, w)
}

func seedCommand(ctx context.Context, cfg Config, args []string, _ *slog.Logger, stdout, stderr io.Writer) error {
	fs, c := seedFlags(cfg, stderr)
	// Flags may come before or after the data set's name.
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return usageError{"seed needs the data set to load: keyrack seed demo"}
	}
	what := rest[0]
	if err := parseFlags(fs, rest[1:]); err != nil {
		return err
	}
	if what != "demo" {
		return usageError{fmt.Sprintf("seed: unknown data set %q; the one there is: demo", what)}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("seed demo takes no more arguments, got %q", fs.Args())}
	}
	st, err := openMigratedStore(ctx, *c)
	if err != nil {
		return err
	}
	defer st.Close()
	created, err := fixtures.SeedDemo(ctx, st)
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(stdout, "loaded the demo hotel: property %s\n", fixtures.DemoProperty)
	} else {
		fmt.Fprintf(stdout, "property %s is already there; left it as it is\n", fixtures.DemoProperty)
	}
	return nil
}
