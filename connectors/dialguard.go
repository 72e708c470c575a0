package connectors

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// DialGuard keeps keyrack's requests to URLs that others set (an iCal
// feed's URL, a pull-mode channel's pull URL: whoever sets one chooses
// where keyrack connects, and reads the answer back) off the deployment's
// own network: unless AllowPrivate is set, it refuses loopback, private,
// link-local, CGNAT and other non-public addresses. It checks the address
// actually dialled, after DNS and after every redirect, so a public name
// resolving to a private address is refused too.
type DialGuard struct {
	// AllowPrivate lets the URLs reach private addresses (a PMS or a test
	// channel on the hotel's own network).
	AllowPrivate bool
	// What names what is fetched, and Setting the configuration that
	// allows private addresses, for the refusal: "iCal feeds",
	// "KEYRACK_ICAL_ALLOW_PRIVATE".
	What, Setting string
	// Public, when set, treats the addresses it accepts as public: tests
	// use it to play a public server on loopback.
	Public func(netip.AddrPort) bool
}

// PrivateAddressError is a connection refused because its address is private.
type PrivateAddressError struct {
	Addr          netip.Addr
	What, Setting string
}

// Error says why the address was refused and which setting allows it.
func (e *PrivateAddressError) Error() string {
	what, setting := e.What, e.Setting
	if what == "" {
		what = "URLs"
	}
	msg := fmt.Sprintf("refusing to connect to %s: the address is private (loopback, private network, link-local or similar)", e.Addr)
	if setting == "" {
		return msg
	}
	return fmt.Sprintf("%s; a deployment that keeps %s on its own network can allow private addresses (%s=1)", msg, what, setting)
}

// Control checks an address about to be dialled (net.Dialer's Control).
func (g DialGuard) Control(network, address string, _ syscall.RawConn) error {
	if g.AllowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("cannot check address %q: %w", address, err)
	}
	if g.Public != nil && g.Public(ap) {
		return nil
	}
	if IsPrivate(ap.Addr()) {
		return &PrivateAddressError{Addr: ap.Addr().Unmap(), What: g.What, Setting: g.Setting}
	}
	return nil
}

// Transport is an HTTP transport that dials through the guard, and through
// no proxy: a proxy would resolve and dial the host itself, out of the
// guard's reach.
func (g DialGuard) Transport() *http.Transport {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: g.Control}
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          20,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
	}
}

var privatePrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),     // "this network"
	netip.MustParsePrefix("100.64.0.0/10"), // CGNAT
	netip.MustParsePrefix("192.0.0.0/24"),  // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"), // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),   // reserved, broadcast
	netip.MustParsePrefix("fec0::/10"),     // site-local (deprecated)
	netip.MustParsePrefix("100::/64"),      // discard
	netip.MustParsePrefix("2001:db8::/32"), // documentation
}

var (
	nat64  = netip.MustParsePrefix("64:ff9b::/96")
	sixTo4 = netip.MustParsePrefix("2002::/16")
)

// IsPrivate reports whether a guarded request must not connect to a:
// anything that is not a public unicast address, IPv4-mapped and
// NAT64/6to4 embeddings of those included.
func IsPrivate(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() {
		return true
	}
	for _, p := range privatePrefixes {
		if p.Contains(a) {
			return true
		}
	}
	if a.Is6() {
		b := a.As16()
		switch {
		case nat64.Contains(a):
			return IsPrivate(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
		case sixTo4.Contains(a):
			return IsPrivate(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
		}
	}
	return false
}
