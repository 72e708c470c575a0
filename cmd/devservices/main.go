// Command devservices is keyrack's dev and test bootstrap for PostgreSQL and
// Redis.
//
// Usage:
//
//	go run ./cmd/devservices -- COMMAND [ARGS...]
//
// It makes sure a PostgreSQL 15+ and a Redis 7 are reachable, runs COMMAND
// with DATABASE_URL and REDIS_URL pointing at them, stops whatever throwaway
// servers it started and exits with COMMAND's exit code.
//
// If DATABASE_URL (REDIS_URL) is set and the server answers, it is used as
// is. Otherwise a throwaway server is started from the installed binaries,
// listening on 127.0.0.1 on a free port, with its data in a fresh temporary
// directory that is removed afterwards. The default ports are never probed,
// so runs without the variables are hermetic. If the server binaries are
// missing, they are installed with apt-get when running as root on a system
// that has it; otherwise devservices says what to install.
//
// COMMAND's stdin, stdout and stderr are passed through; SIGINT, SIGTERM and
// SIGHUP are forwarded to it (except a Ctrl-C at the terminal, which COMMAND
// already received itself). The servers run in their own process groups, so
// they outlive a Ctrl-C until COMMAND has finished, and they get SIGQUIT from
// the kernel if devservices dies without cleaning up. devservices logs to
// stderr only.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/redis/go-redis/v9"
)

func main() {
	os.Exit(realMain())
}

func realMain() int {
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), `usage: devservices -- COMMAND [ARGS...]

Runs COMMAND with DATABASE_URL and REDIS_URL set to a reachable PostgreSQL and
Redis: the ones the variables already name if they answer, else throwaway
servers started (and removed) for the duration of COMMAND.
`)
		flag.PrintDefaults()
	}
	flag.Parse()
	args := flag.Args()
	if len(args) == 0 {
		flag.Usage()
		return 2
	}

	log := newLogger()
	redis.SetLogger(quietRedisLogger{})
	if _, err := exec.LookPath(args[0]); err != nil {
		// Say so before spending seconds on servers nobody will use.
		log.Error("devservices: cannot run COMMAND", "err", err)
		return 127
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fw := &forwarder{cancel: cancel}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go fw.loop(sigs)

	s := &session{log: log}
	defer s.cleanup()

	env, err := s.prepare(ctx)
	if sig := fw.interrupted(); sig != nil {
		log.Info("devservices: interrupted before COMMAND started", "signal", sig)
		return 128 + int(sig.(syscall.Signal))
	}
	if err != nil {
		log.Error("devservices: " + err.Error())
		return 1
	}
	return runCommand(log, fw, args, env)
}

// newLogger logs to stderr without timestamps: the lines sit between the
// output of make and of COMMAND, where times are noise.
func newLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}

// quietRedisLogger keeps go-redis from printing its own retry chatter while
// devservices polls a server that is still starting.
type quietRedisLogger struct{}

func (quietRedisLogger) Printf(context.Context, string, ...interface{}) {}

// session remembers how to undo what it started.
type session struct {
	log      *slog.Logger
	mu       sync.Mutex
	cleanups []func()
	dirs     []string // temporary directories made, for tests
}

// tempDir makes a fresh temporary directory that cleanup removes.
func (s *session) tempDir(base, pattern string) (string, error) {
	dir, err := os.MkdirTemp(base, pattern)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	s.dirs = append(s.dirs, dir)
	s.mu.Unlock()
	s.onCleanup(func() { _ = os.RemoveAll(dir) })
	return dir, nil
}

func (s *session) onCleanup(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cleanups = append(s.cleanups, f)
}

// cleanup runs the registered cleanups, last registered first.
func (s *session) cleanup() {
	s.mu.Lock()
	fs := s.cleanups
	s.cleanups = nil
	s.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

// prepare makes sure both services are reachable and returns COMMAND's
// environment.
func (s *session) prepare(ctx context.Context) ([]string, error) {
	dbURL, err := s.ensurePostgres(ctx)
	if err != nil {
		return nil, err
	}
	redisURL, err := s.ensureRedis(ctx)
	if err != nil {
		return nil, err
	}
	env := setEnv(os.Environ(), "DATABASE_URL", dbURL)
	env = setEnv(env, "REDIS_URL", redisURL)
	return env, nil
}

// setEnv returns env with key set to value, replacing any earlier settings.
func setEnv(env []string, key, value string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, key+"=") {
			out = append(out, kv)
		}
	}
	return append(out, key+"="+value)
}

// runCommand runs COMMAND in the foreground and returns its exit code.
func runCommand(log *slog.Logger, fw *forwarder, args, env []string) int {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = env
	if err := fw.start(cmd); err != nil {
		if errors.Is(err, errInterrupted) {
			return 128 + int(fw.interrupted().(syscall.Signal))
		}
		log.Error("devservices: cannot run COMMAND", "err", err)
		return 127
	}
	err := cmd.Wait()
	fw.finish()
	return exitStatus(err)
}

// exitStatus turns the result of (*exec.Cmd).Wait into a shell-style exit
// code: the process's own code, or 128+N if it was killed by signal N.
func exitStatus(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		if code := ee.ExitCode(); code >= 0 {
			return code
		}
	}
	return 1
}

var errInterrupted = errors.New("interrupted")

// forwarder routes signals: before COMMAND runs they abort the start-up,
// while it runs they are passed on to it, afterwards they are ignored so the
// clean-up can finish.
type forwarder struct {
	mu       sync.Mutex
	cancel   context.CancelFunc
	child    *os.Process
	finished bool
	sig      os.Signal // first signal received before COMMAND started
}

func (f *forwarder) loop(sigs <-chan os.Signal) {
	for sig := range sigs {
		f.mu.Lock()
		switch {
		case f.finished:
		case f.child == nil:
			if f.sig == nil {
				f.sig = sig
			}
			f.cancel()
		case sig == syscall.SIGINT && terminalSignalsOurGroup():
			// The keyboard's Ctrl-C went to the whole foreground process
			// group, COMMAND included: sending it again would make a
			// graceful shutdown look like an impatient second Ctrl-C.
		default:
			_ = f.child.Signal(sig)
		}
		f.mu.Unlock()
	}
}

func (f *forwarder) start(cmd *exec.Cmd) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sig != nil {
		return errInterrupted
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	f.child = cmd.Process
	return nil
}

func (f *forwarder) finish() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.finished = true
}

func (f *forwarder) interrupted() os.Signal {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sig
}
