package sync

import (
	"context"
	"fmt"
	"log/slog"
	gosync "sync"
	"time"
)

// asynqLogger passes asynq's log lines to slog. While Redis is down asynq
// repeats the same error several times a second; each distinct message is
// let through at most once every repeatEvery.
type asynqLogger struct {
	log  *slog.Logger
	mu   gosync.Mutex
	seen map[string]time.Time
}

const repeatEvery = 30 * time.Second

func newAsynqLogger(l *slog.Logger) *asynqLogger {
	return &asynqLogger{log: l.With("from", "asynq"), seen: map[string]time.Time{}}
}

func (a *asynqLogger) emit(level slog.Level, args []any) {
	msg := fmt.Sprint(args...)
	if level >= slog.LevelWarn {
		key := msg
		if len(key) > 60 {
			key = key[:60]
		}
		a.mu.Lock()
		last, ok := a.seen[key]
		if ok && time.Since(last) < repeatEvery {
			a.mu.Unlock()
			return
		}
		if len(a.seen) > 1000 {
			clear(a.seen)
		}
		a.seen[key] = time.Now()
		a.mu.Unlock()
	}
	a.log.Log(context.Background(), level, msg)
}

func (a *asynqLogger) Debug(args ...any) { a.emit(slog.LevelDebug, args) }
func (a *asynqLogger) Info(args ...any)  { a.emit(slog.LevelInfo, args) }
func (a *asynqLogger) Warn(args ...any)  { a.emit(slog.LevelWarn, args) }
func (a *asynqLogger) Error(args ...any) { a.emit(slog.LevelError, args) }

// Fatal is logged as an error: asynq calls it where it cannot go on, and the
// decision to stop the process is keyrack's, not a library's.
func (a *asynqLogger) Fatal(args ...any) { a.emit(slog.LevelError, args) }
