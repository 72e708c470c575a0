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

	"github.com/keyrack/keyrack/inventory"
)

// stdin is where `keyrack user add` reads the password; tests replace it.
var stdin io.Reader = os.Stdin

func userFlags(cfg Config, w io.Writer) (*flag.FlagSet, *Config, *string) {
	fs, c := databaseFlags("user", "user add NAME --role admin|viewer [flags]  (password on stdin or in KEYRACK_PASSWORD)", cfg, w)
	role := fs.String("role", "", "`role` of the user: admin (changes things) or viewer (reads only)")
	return fs, c, role
}

// userCommand adds staff users of the admin UI. Adding a user that exists
// sets its role and password and ends its sessions, which is how a
// forgotten password is reset.
func userCommand(ctx context.Context, cfg Config, args []string, _ *slog.Logger, stdout, stderr io.Writer) error {
	fs, c, role := userFlags(cfg, stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) == 0 || rest[0] != "add" {
		return usageError{"user needs a subcommand: keyrack user add NAME --role admin|viewer"}
	}
	if err := parseFlags(fs, rest[1:]); err != nil {
		return err
	}
	// The name may come before or after the flags.
	operands := fs.Args()
	if len(operands) < 1 {
		return usageError{"user add needs the user's name: keyrack user add anna --role admin"}
	}
	name := operands[0]
	if err := parseFlags(fs, operands[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("user add takes one name, got %q", operands)}
	}
	if *role != inventory.RoleAdmin && *role != inventory.RoleViewer {
		return usageError{"user add needs --role admin or --role viewer"}
	}
	password := c.Password
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
	st, err := openStore(ctx, *c)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := requireSchema(ctx, st); err != nil {
		return err
	}
	u, err := st.CreateStaffUser(ctx, name, *role, password, inventory.Actor{Kind: "cli", Name: "keyrack user"})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "staff user %s (%s) can log in at /admin/login\n", u.Name, u.Role)
	return nil
}
