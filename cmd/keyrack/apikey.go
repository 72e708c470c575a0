package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/keyrack/keyrack/inventory"
)

func apikeyFlags(cfg Config, w io.Writer) (*flag.FlagSet, *Config, *string, *string) {
	fs, c := databaseFlags("apikey", "apikey create [--property CODE] [--name NAME] | apikey revoke ID|PREFIX | apikey list [flags]", cfg, w)
	property := fs.String("property", "", "the property `code`: the key acts on it (create; default: every property), or the keys listed are its (list; default: every key)")
	name := fs.String("name", "", "a `name` for the key, audited as api:NAME (create)")
	return fs, c, property, name
}

// apikeyCommand creates, revokes and lists API keys. The key is printed once
// on create and cannot be shown again: keyrack keeps only its hash.
func apikeyCommand(ctx context.Context, cfg Config, args []string, _ *slog.Logger, stdout, stderr io.Writer) error {
	fs, c, property, name := apikeyFlags(cfg, stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return usageError{"apikey needs a subcommand: create, revoke or list"}
	}
	sub := rest[0]
	if err := parseFlags(fs, rest[1:]); err != nil {
		return err
	}
	operands := fs.Args()
	switch sub {
	case "create", "list":
		if len(operands) > 0 {
			return usageError{fmt.Sprintf("apikey %s takes no arguments, got %q", sub, operands)}
		}
	case "revoke":
		if len(operands) != 1 {
			return usageError{"apikey revoke needs the key's id or prefix: keyrack apikey revoke kr_abcd1234"}
		}
	default:
		return usageError{fmt.Sprintf("apikey: unknown subcommand %q; use create, revoke or list", sub)}
	}
	st, err := openMigratedStore(ctx, *c)
	if err != nil {
		return err
	}
	defer st.Close()
	by := inventory.Actor{Kind: "cli", Name: "keyrack apikey"}
	switch sub {
	case "create":
		k, secret, err := st.CreateAPIKey(ctx, *property, *name, by)
		if err != nil {
			return err
		}
		scope := "every property"
		if k.Property != "" {
			scope = "property " + k.Property
		}
		fmt.Fprintf(stdout, "%s\n", secret)
		fmt.Fprintf(stderr, "created API key %d (%s, %q) for %s; it is shown only this once\n", k.ID, k.Prefix, k.Name, scope)
	case "revoke":
		k, err := st.RevokeAPIKey(ctx, operands[0], by)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked API key %d (%s, %q)\n", k.ID, k.Prefix, k.Name)
	case "list":
		keys, err := st.APIKeys(ctx, *property)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tPREFIX\tNAME\tPROPERTY\tCREATED\tLAST USED\tREVOKED")
		for _, k := range keys {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Prefix, k.Name, propertyOrAll(k.Property), k.CreatedAt.Format("2006-01-02 15:04"),
				fmtTime(k.LastUsedAt), fmtTime(k.RevokedAt))
		}
		return tw.Flush()
	}
	return nil
}

// propertyOrAll is a list's property column: the code, or * for every
// property.
func propertyOrAll(code string) string {
	if code == "" {
		return "*"
	}
	return code
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format("2006-01-02 15:04")
}
