package main

import (
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is set at build time: -ldflags "-X main.version=v1.2.3". Without
// it keyrack reports the module version and VCS revision Go recorded.
var version string

func versionFlags(w io.Writer) *flag.FlagSet { return newFlagSet("version", "version", w) }

func versionCommand(args []string, stdout, stderr io.Writer) error {
	fs := versionFlags(stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("version takes no arguments, got %q", fs.Args())}
	}
	fmt.Fprintf(stdout, "keyrack %s (%s)\n", versionString(), runtime.Version())
	return nil
}

// versionString is keyrack's version, with the commit when Go recorded one.
func versionString() string {
	v, rev, dirty := version, "", false
	if info, ok := debug.ReadBuildInfo(); ok {
		if v == "" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if dirty {
			rev += "+dirty"
		}
		v += " " + rev
	}
	return v
}
