package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/keyrack/keyrack/inventory"
)

func secretFlags(cfg Config, w io.Writer) (*flag.FlagSet, *Config) {
	return databaseFlags("secret", "secret rotate [flags]  (the secret in use in KEYRACK_SECRET, the new one in KEYRACK_NEW_SECRET)", cfg, w)
}

// secretCommand moves the database to a new deployment secret: serve
// refuses a KEYRACK_SECRET that does not open the stored credentials, so a
// new one (for one that leaked) can only be taken this way.
func secretCommand(ctx context.Context, cfg Config, args []string, _ *slog.Logger, stdout, stderr io.Writer) error {
	fs, c := secretFlags(cfg, stderr)
	// Flags may come before or after the subcommand, as its usage puts them.
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 || fs.Arg(0) != "rotate" {
		return usageError{"secret needs the subcommand rotate: KEYRACK_SECRET=old KEYRACK_NEW_SECRET=new keyrack secret rotate"}
	}
	if err := parseFlags(fs, fs.Args()[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("secret rotate takes no arguments, got %q", fs.Args())}
	}
	if c.Secret == "" || c.NewSecret == "" {
		return usageError{"secret rotate needs the secret in use in KEYRACK_SECRET and the new one in KEYRACK_NEW_SECRET"}
	}
	from, err := inventory.NewSecrets(c.Secret)
	if err != nil {
		return usageError{err.Error()}
	}
	to, err := inventory.NewSecrets(c.NewSecret)
	if err != nil {
		return usageError{"KEYRACK_NEW_SECRET" + strings.TrimPrefix(err.Error(), "KEYRACK_SECRET")}
	}
	st, err := openMigratedStore(ctx, *c)
	if err != nil {
		return err
	}
	defer st.Close()
	release, err := st.LockOutProcesses(ctx)
	if err != nil {
		return err
	}
	defer release()
	// A mistyped KEYRACK_SECRET opens nothing: refused as serve refuses it,
	// before anything is cleared.
	if _, err := st.CheckSecret(ctx, from); err != nil {
		return err
	}
	r, err := st.Reseal(ctx, from, to, inventory.Actor{Kind: "cli", Name: "keyrack secret rotate"})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d sealed values moved to KEYRACK_NEW_SECRET: start every keyrack process with it as KEYRACK_SECRET\n", r.Values)
	if len(r.Inbound) > 0 {
		fmt.Fprintf(stdout, "inbound secrets cleared (kept as HMACs, they cannot be moved): set a new one for each of these channels and give it to the channel: %s\n",
			strings.Join(r.Inbound, ", "))
	}
	if len(r.Unopened) > 0 {
		fmt.Fprintf(stdout, "not moved, KEYRACK_SECRET does not open them (sealed with yet another secret): enter these channels' credentials or iCal feed URLs again: %s\n",
			strings.Join(r.Unopened, ", "))
	}
	return nil
}
