package web

import (
	"crypto/sha256"
	"slices"
	gosync "sync"
	"time"
)

// otaFailures counts failed authentications at the OTA endpoint per client
// address, channel and presented user name (each user name a request
// presents, on its own: otaAttempts) — the distinct wrong secrets
// tried within otaFailureWindow: past otaFailureLimit that combination is
// answered 429, its credentials not checked, until its oldest counted
// failure leaves the window — so a channel's password cannot be guessed at
// network speed. Distinct secrets, because an OTA whose configured secret
// is wrong sends that one again and again (it retries), and must not be
// held back for the other properties it reaches with the same user name and
// the right secrets; a guesser tries a new one each time. The client's
// address is part of the key, so no one can hold a real OTA's bookings back
// from elsewhere. Each web process counts its own (a deployment with
// several lets a guesser a few dozen guesses per 15 minutes).
type otaFailures struct {
	mu   gosync.Mutex
	seen map[string][]otaFailure // oldest first, one per secret
}

type otaFailure struct {
	at     time.Time
	secret [8]byte // of the secrets presented (otaSecretDigest)
}

const (
	otaFailureWindow = 15 * time.Minute
	otaFailureLimit  = 20
	// otaFailureKeys bounds the memory: with this many keys counted, a new
	// one is counted only once expired ones make room.
	otaFailureKeys = 100_000
)

// otaAttempt is one user name a request presented, as failures are
// counted: the key of the client address, the channel code addressed and
// that user name, and the secret presented with it.
type otaAttempt struct {
	key    string
	secret [8]byte
}

// otaAttempts are the user names a request presented, each counted on its
// own: keyed by all of them together, a guesser who added a throwaway POS
// RequestorID to each message had a fresh key every time.
func otaAttempts(remote, channel string, creds presented) []otaAttempt {
	as := make([]otaAttempt, 0, len(creds))
	for _, c := range creds {
		as = append(as, otaAttempt{key: remote + "\x00" + channel + "\x00" + c.user, secret: otaSecretDigest(c.secret)})
	}
	return as
}

// otaSecretDigest tells a secret apart from others, without keeping it.
func otaSecretDigest(secret string) [8]byte {
	sum := sha256.Sum256([]byte(secret))
	return [8]byte(sum[:8])
}

// waitAny is how long a request with these attempts is refused for: while
// any of its user names is (0: none is).
func (f *otaFailures) waitAny(as []otaAttempt, now time.Time) time.Duration {
	var longest time.Duration
	for _, a := range as {
		longest = max(longest, f.wait(a.key, now))
	}
	return longest
}

// failAll counts a failed authentication of each of a request's user names.
func (f *otaFailures) failAll(as []otaAttempt, now time.Time) {
	for _, a := range as {
		f.fail(a.key, a.secret, now)
	}
}

// wait is how long requests of key are refused for (0: they are not).
func (f *otaFailures) wait(key string, now time.Time) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	recent := f.recent(key, now)
	if len(recent) < otaFailureLimit {
		return 0
	}
	return recent[len(recent)-otaFailureLimit].at.Add(otaFailureWindow).Sub(now)
}

// fail counts a failed authentication of key with secret.
func (f *otaFailures) fail(key string, secret [8]byte, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.seen == nil {
		f.seen = map[string][]otaFailure{}
	}
	recent := f.recent(key, now)
	if recent == nil && len(f.seen) >= otaFailureKeys {
		for k := range f.seen {
			f.recent(k, now) // drops the keys whose failures all expired
		}
		if len(f.seen) >= otaFailureKeys {
			return
		}
	}
	// The same secret again counts once, as of its latest try.
	recent = slices.DeleteFunc(recent, func(x otaFailure) bool { return x.secret == secret })
	f.seen[key] = append(recent, otaFailure{at: now, secret: secret})
}

// recent is key's failures within the window, oldest first; it forgets
// the older ones. f must be locked.
func (f *otaFailures) recent(key string, now time.Time) []otaFailure {
	fs := f.seen[key]
	i := 0
	for i < len(fs) && now.Sub(fs[i].at) >= otaFailureWindow {
		i++
	}
	switch {
	case i == len(fs):
		delete(f.seen, key)
		return nil
	case i > 0:
		fs = slices.Clone(fs[i:])
		f.seen[key] = fs
	}
	return fs
}
