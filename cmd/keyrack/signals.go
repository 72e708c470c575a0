package main

import (
	"context"
	"os"
	"time"
)

// sameSignalWithin is how soon after the first a second stop signal is taken
// for the same request. `timeout`, and supervisors that signal a process and
// then its process group, deliver one request twice within microseconds; a
// person pressing Ctrl-C again to cut a slow shutdown short waits longer.
const sameSignalWithin = 500 * time.Millisecond

// shutdownContext is a context that ends at the first signal from sigs: the
// graceful shutdown. A second one, unless it came within sameSignalWithin of
// the first, calls urgent with it (main: end the process at once).
func shutdownContext(parent context.Context, sigs <-chan os.Signal, now func() time.Time, urgent func(os.Signal)) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	go func() {
		var first time.Time
		for {
			select {
			case <-parent.Done():
				return
			case sig := <-sigs:
				switch {
				case first.IsZero():
					first = now()
					cancel()
				case now().Sub(first) >= sameSignalWithin:
					urgent(sig)
					return
				}
			}
		}
	}()
	return ctx, cancel
}
