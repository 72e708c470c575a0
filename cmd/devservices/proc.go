package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

const (
	startTimeout = 30 * time.Second // for a server to accept connections
	probeTimeout = 5 * time.Second  // for a server named by an environment variable
)

// server is a throwaway server process started by devservices.
type server struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed once the process has exited
	err     error         // from Wait, valid once done is closed
}

// startServer starts cmd in its own process group (so a Ctrl-C at the
// terminal reaches COMMAND, not the server under it) with stdout and stderr
// going to logPath.
func startServer(name string, cmd *exec.Cmd, logPath string) (*server, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cmd.Stdout, cmd.Stderr = f, f
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	setParentDeathSignal(cmd.SysProcAttr)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	s := &server{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		s.err = cmd.Wait()
		close(s.done)
	}()
	return s, nil
}

func (s *server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// stop asks the server to shut down with each signal in turn, giving it the
// paired time before escalating, and finally kills its whole process group.
func (s *server) stop(steps ...stopStep) {
	for _, st := range steps {
		if s.exited() {
			return
		}
		_ = s.cmd.Process.Signal(st.sig)
		select {
		case <-s.done:
			return
		case <-time.After(st.wait):
		}
	}
	if !s.exited() {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
}

type stopStep struct {
	sig  syscall.Signal
	wait time.Duration
}

// waitReady polls probe until it succeeds, the server exits, ctx ends or
// startTimeout passes.
func (s *server) waitReady(ctx context.Context, probe func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	delay := 50 * time.Millisecond
	var last error
	for {
		if s.exited() {
			return fmt.Errorf("%s exited during start-up (%v)", s.name, s.err)
		}
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		last = probe(pctx)
		pcancel()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("%s did not accept connections within %v (last error: %v)", s.name, startTimeout, last)
			}
			return ctx.Err()
		case <-s.done:
		case <-time.After(delay):
		}
		if delay < 500*time.Millisecond {
			delay *= 2
		}
	}
}

// startupError wraps err with the tail of the server's log.
func (s *server) startupError(err error) error {
	return fmt.Errorf("%w\n--- last lines of %s ---\n%s", err, s.logPath, tail(s.logPath, 20))
}

// addrInUse tells whether the server's log says its port was taken, which
// can happen between freePort closing its listener and the server binding.
func (s *server) addrInUse() bool {
	b, _ := os.ReadFile(s.logPath)
	return bytes.Contains(b, []byte("Address already in use"))
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the last n lines of the file at path.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// tempBase is where throwaway servers keep their data. PostgreSQL's socket
// path must stay short (about 100 bytes), and when running as root the
// postgres user must be able to reach the directory, so an unsuitable
// TMPDIR falls back to /tmp.
func tempBase(forOtherUser bool) string {
	base := os.TempDir()
	if len(base) > 60 || (forOtherUser && !worldTraversable(base)) {
		return "/tmp"
	}
	return base
}

// worldTraversable tells whether every directory from / down to dir can be
// entered by any user.
func worldTraversable(dir string) bool {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	for {
		fi, err := os.Stat(dir)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return false
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return true
		}
		dir = parent
	}
}

// aptInstall installs Debian packages when running as root on a system with
// apt-get. It reports whether it tried.
func aptInstall(ctx context.Context, log *slog.Logger, why string, pkgs ...string) (bool, error) {
	if os.Geteuid() != 0 {
		return false, nil
	}
	apt, err := exec.LookPath("apt-get")
	if err != nil {
		return false, nil
	}
	log.Info(fmt.Sprintf("devservices: %s; installing %s with apt-get", why, strings.Join(pkgs, " ")))
	steps := [][]string{
		{"-q", "update"},
		append([]string{"-q", "-y", "--no-install-recommends", "install"}, pkgs...),
	}
	for _, args := range steps {
		cmd := exec.CommandContext(ctx, apt, args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		// apt's chatter goes to stderr: COMMAND's stdout stays its own.
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return true, fmt.Errorf("apt-get %s: %w", strings.Join(args, " "), err)
		}
	}
	return true, nil
}

// fromEnv returns the URL in the environment variable env when the server
// there answers; "" (and no error) means a throwaway server is needed.
func (s *session) fromEnv(ctx context.Context, env, name string, ping func(context.Context, string, time.Duration) error, describe func(string) string) (string, error) {
	u := os.Getenv(env)
	if u == "" {
		return "", nil
	}
	err := ping(ctx, u, probeTimeout)
	if err == nil {
		s.log.Info("devservices: using "+name+" from "+env, "server", describe(u))
		return u, nil
	}
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	s.log.Warn("devservices: "+env+" is set but unreachable; starting a throwaway "+name+" instead", "err", err)
	return "", nil
}

// findOrInstall finds a server's binaries, installing its Debian package
// (as root, with apt-get) when find reports notFound, and otherwise says
// exactly what to install.
func findOrInstall[T any](ctx context.Context, s *session, find func() (T, error), notFound error, why, pkg, name, hint string) (T, error) {
	bin, err := find()
	if errors.Is(err, notFound) {
		tried, ierr := aptInstall(ctx, s.log, why, pkg)
		if ierr != nil {
			var zero T
			return zero, fmt.Errorf("installing %s failed: %v; %s", name, ierr, hint)
		}
		if tried {
			bin, err = find()
		}
	}
	if err != nil {
		var zero T
		return zero, fmt.Errorf("%v; %s", err, hint)
	}
	return bin, nil
}
