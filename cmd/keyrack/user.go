package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/keyrack/keyrack/inventory"
)

// stdin is where `keyrack user add` reads the password; tests replace it.
var stdin io.Reader = os.Stdin

func userFlags(cfg Config, w io.Writer) (*flag.FlagSet, *Config, *string, *string) {
	fs, c := databaseFlags("user", "user add NAME --role admin|viewer [--property CODE] | user disable NAME | user list [flags]  (password on stdin or in KEYRACK_PASSWORD)", cfg, w)
	role := fs.String("role", "", "`role` of the user: admin (changes things) or viewer (reads only) (add)")
	property := fs.String("property", "", "the property `code` the user works on, alone (add; default: every property)")
	return fs, c, role, property
}

// userCommand adds, disables and lists staff users of the admin UI. Adding
// a user that exists sets its role and password, enables it and ends its
// sessions, which is how a forgotten password is reset; disabling ends its
// sessions at once, for someone who has left.
func userCommand(ctx context.Context, cfg Config, args []string, _ *slog.Logger, stdout, stderr io.Writer) error {
	fs, c, role, property := userFlags(cfg, stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return usageError{"user needs a subcommand: add, disable or list"}
	}
	sub := rest[0]
	if err := parseFlags(fs, rest[1:]); err != nil {
		return err
	}
	// The name may come before or after the flags.
	operands := fs.Args()
	var name string
	switch sub {
	case "add", "disable":
		if len(operands) < 1 {
			return usageError{fmt.Sprintf("user %s needs the user's name: keyrack user %s anna", sub, sub)}
		}
		name = operands[0]
		if err := parseFlags(fs, operands[1:]); err != nil {
			return err
		}
		if fs.NArg() > 0 {
			return usageError{fmt.Sprintf("user %s takes one name, got %q", sub, operands)}
		}
	case "list":
		if len(operands) > 0 {
			return usageError{fmt.Sprintf("user list takes no arguments, got %q", operands)}
		}
	default:
		return usageError{fmt.Sprintf("user: unknown subcommand %q; use add, disable or list", sub)}
	}
	if sub != "add" && (*role != "" || *property != "") {
		return usageError{fmt.Sprintf("user %s takes no --role or --property", sub)}
	}
	var password string
	if sub == "add" {
		if *role != inventory.RoleAdmin && *role != inventory.RoleViewer {
			return usageError{"user add needs --role admin or --role viewer"}
		}
		password = c.Password
		if password == "" {
			line, err := bufio.NewReader(stdin).ReadString('\n')
			if err != nil && err != io.EOF {
				return fmt.Errorf("read the password from standard input: %w", err)
			}
			password = strings.TrimRight(line, "\r\n")
		}
		if password == "" {
			return usageError{"user add needs a password: on standard input (echo … | keyrack user add …) or in KEYRACK_PASSWORD"}
		}
	}
	st, err := openMigratedStore(ctx, *c)
	if err != nil {
		return err
	}
	defer st.Close()
	switch sub {
	case "add":
		u, err := st.CreatePropertyStaffUser(ctx, name, *role, *property, password, inventory.Actor{Kind: "cli", Name: "keyrack user"})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "staff user %s (%s, %s) can log in at /admin/login\n", u.Name, u.Role, staffScope(u.Property))
	case "disable":
		u, err := st.DisableStaffUser(ctx, name, inventory.Actor{Kind: "cli", Name: "keyrack user"})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "staff user %s (%s) is disabled since %s and logged out; keyrack user add %s enables them again with a new password\n",
			u.Name, u.Role, fmtTime(u.DisabledAt), u.Name)
	case "list":
		users, err := st.StaffUsers(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tPROPERTY\tCREATED\tLAST SEEN\tDISABLED")
		for _, u := range users {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", u.Name, u.Role, propertyOrAll(u.Property), u.CreatedAt.Format("2006-01-02 15:04"),
				fmtTime(u.LastSeenAt), fmtTime(u.DisabledAt))
		}
		return tw.Flush()
	}
	return nil
}

// staffScope says which properties a staff user works on.
func staffScope(property string) string {
	if property == "" {
		return "every property"
	}
	return "property " + property + " only"
}
