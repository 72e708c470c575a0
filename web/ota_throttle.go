package web

import (
	"container/list"
	"crypto/sha256"
	"slices"
	gosync "sync"
	"time"
)

// otaFailures counts failed authentications at the OTA endpoint per client
// address, channel and presented user name with its kind of credential
// (each user name a request presents, on its own: otaAttempts; the kind,
// so that a credential of a kind no channel of that user takes, which
// proves nothing, uncounts none that was checked) — the distinct wrong secrets
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
//
// A request's attempts are counted as failures before its credentials are
// checked (reserve), and the ones that prove right, or that no channel was
// checked with, are uncounted (release): guesses sent at once are limited
// like guesses sent one after another.
//
// The memory is bounded: an address that failed with otaClientNames
// distinct channel user names within the window is refused whatever the
// name, so no one address holds more than about that many counts; and with
// otaFailureKeys counted in all, a new one takes the place of the one that
// failed least recently — a guesser must push a hundred thousand others
// through before a count it is using is forgotten.
type otaFailures struct {
	mu      gosync.Mutex
	clients map[string]map[string]*list.Element // by client address, then otaAttempt.name: in order
	order   list.List                           // of *otaCount, the one that failed least recently first
}

// otaCount is the failures of one client address and otaAttempt.name.
type otaCount struct {
	client, name string
	fails        []otaFailure // oldest first, one per secret
}

type otaFailure struct {
	at     time.Time
	secret [8]byte // of the secrets presented (otaSecretDigest)
}

const (
	otaFailureWindow = 15 * time.Minute
	otaFailureLimit  = 20
	// otaClientNames is how many channel user names one client address may
	// fail with within the window before it is refused whatever the name.
	otaClientNames = 100
	// otaFailureKeys bounds the memory: with this many counts (client
	// address, channel and user name) held, a new one takes the place of
	// the one that failed least recently.
	otaFailureKeys = 100_000
)

// otaAttempt is one user name a request presented, as failures are
// counted: the kind of credential (presented's key), the user name, the
// channel code addressed with it, and the secret presented with it.
type otaAttempt struct {
	kind, user string
	name       string // kind, channel code and user: what is counted
	secret     [8]byte
}

// otaAttempts are the user names a request presented, each counted on its
// own: keyed by all of them together, a guesser who added a throwaway POS
// RequestorID to each message had a fresh key every time.
func otaAttempts(channel string, creds presented) []otaAttempt {
	as := make([]otaAttempt, 0, len(creds))
	for kind, c := range creds {
		as = append(as, otaAttempt{kind: kind, user: c.user, name: kind + "\x00" + channel + "\x00" + c.user, secret: otaSecretDigest(c.secret)})
	}
	return as
}

// otaSecretDigest tells a secret apart from others, without keeping it.
func otaSecretDigest(secret string) [8]byte {
	sum := sha256.Sum256([]byte(secret))
	return [8]byte(sum[:8])
}

// reserve counts a request's attempts from client as failures, before
// their secrets are checked, and returns 0; or, when the request is to be
// refused unchecked, how long for (and counts nothing), byClient telling
// whether the client address's failures with many user names are the
// reason rather than one of the request's user names.
func (f *otaFailures) reserve(client string, as []otaAttempt, now time.Time) (wait time.Duration, byClient bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.expire(now)
	names := f.clients[client]
	for _, e := range names {
		f.forget(e, now)
	}
	names = f.clients[client]
	if len(names) >= otaClientNames {
		wait = otaFailureWindow
		for _, e := range names {
			fails := e.Value.(*otaCount).fails
			wait = min(wait, fails[len(fails)-1].at.Add(otaFailureWindow).Sub(now))
		}
		return wait, true
	}
	for _, a := range as {
		if e := names[a.name]; e != nil {
			if fails := e.Value.(*otaCount).fails; len(fails) >= otaFailureLimit {
				wait = max(wait, fails[len(fails)-otaFailureLimit].at.Add(otaFailureWindow).Sub(now))
			}
		}
	}
	if wait > 0 {
		return wait, false
	}
	for _, a := range as {
		f.add(client, a, now)
	}
	return 0, false
}

// release uncounts attempts reserve counted: their secrets proved right, or
// were not checked.
func (f *otaFailures) release(client string, as []otaAttempt) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range as {
		e := f.clients[client][a.name]
		if e == nil {
			continue
		}
		c := e.Value.(*otaCount)
		c.fails = slices.DeleteFunc(c.fails, func(x otaFailure) bool { return x.secret == a.secret })
		if len(c.fails) == 0 {
			f.drop(e)
		}
	}
}

// add counts a failure of a from client. f must be locked.
func (f *otaFailures) add(client string, a otaAttempt, now time.Time) {
	e := f.clients[client][a.name]
	if e == nil {
		for f.order.Len() >= otaFailureKeys {
			f.drop(f.order.Front())
		}
		if f.clients == nil {
			f.clients = map[string]map[string]*list.Element{}
		}
		if f.clients[client] == nil {
			f.clients[client] = map[string]*list.Element{}
		}
		e = f.order.PushBack(&otaCount{client: client, name: a.name})
		f.clients[client][a.name] = e
	}
	c := e.Value.(*otaCount)
	// The same secret again counts once, as of its latest try.
	c.fails = slices.DeleteFunc(c.fails, func(x otaFailure) bool { return x.secret == a.secret })
	c.fails = append(c.fails, otaFailure{at: now, secret: a.secret})
	f.order.MoveToBack(e)
}

// expire forgets the counts whose failures have all left the window, the
// least recently failed first. f must be locked.
func (f *otaFailures) expire(now time.Time) {
	for e := f.order.Front(); e != nil && f.forget(e, now); e = f.order.Front() {
	}
}

// forget drops e's failures that have left the window, and e itself when
// none is left, which it reports. f must be locked.
func (f *otaFailures) forget(e *list.Element, now time.Time) bool {
	c := e.Value.(*otaCount)
	i := 0
	for i < len(c.fails) && now.Sub(c.fails[i].at) >= otaFailureWindow {
		i++
	}
	if i == len(c.fails) {
		f.drop(e)
		return true
	}
	if i > 0 {
		c.fails = slices.Clone(c.fails[i:])
	}
	return false
}

// drop forgets the count e. f must be locked.
func (f *otaFailures) drop(e *list.Element) {
	c := f.order.Remove(e).(*otaCount)
	names := f.clients[c.client]
	delete(names, c.name)
	if len(names) == 0 {
		delete(f.clients, c.client)
	}
}
