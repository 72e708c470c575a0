package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
)

func migrateFlags(cfg Config, w io.Writer) (*flag.FlagSet, *Config) {
	return databaseFlags("migrate", "migrate [flags]", cfg, w)
}

// databaseFlags is the flag set of a one-shot command that needs only the database.
func databaseFlags(name, usage string, cfg Config, w io.Writer) (*flag.FlagSet, *Config) {
	fs := newFlagSet(name, usage, w)
	fs.StringVar(&cfg.DatabaseURL, "database-url", cfg.DatabaseURL, "PostgreSQL `url` (DATABASE_URL)")
	return fs, &cfg
}

func migrateCommand(ctx context.Context, cfg Config, args []string, _ *slog.Logger, stdout, stderr io.Writer) error {
	fs, c := migrateFlags(cfg, stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("migrate takes no arguments, got %q", fs.Args())}
	}
	st, err := openStore(ctx, *c)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	v, err := st.SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("read the schema version: %w", err)
	}
	fmt.Fprintf(stdout, "schema is at version %d\n", v)
	return nil
}
