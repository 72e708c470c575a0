package connectors

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
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
	// LocalNetworkOK lets the URLs reach loopback and private networks but
	// still refuses link-local addresses — where cloud metadata services
	// answer (169.254.169.254), with the host's credentials —, the
	// metadata addresses clouds have outside link-local (cloudMetadata:
	// fd00:ec2::254, 100.100.100.200, …), and unspecified and multicast ones: for channel endpoints and PMS
	// webhooks, which may well be on the hotel's own network, and are never
	// link-local.
	LocalNetworkOK bool
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
	// LinkLocal: refused as link-local (LocalNetworkOK), not as private.
	LinkLocal bool
}

// Error says why the address was refused and which setting allows it.
func (e *PrivateAddressError) Error() string {
	what, setting := e.What, e.Setting
	if what == "" {
		what = "URLs"
	}
	if e.LinkLocal {
		return fmt.Sprintf("refusing to connect to %s: %s may be on the deployment's own network, but not at a link-local, "+
			"unspecified or multicast address, nor a cloud metadata service's", e.Addr, what)
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
	if g.LocalNetworkOK {
		if IsLinkLocal(ap.Addr()) {
			return &PrivateAddressError{Addr: ap.Addr().Unmap(), What: g.What, LinkLocal: true}
		}
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

// cloudMetadata are where cloud metadata and credential services answer
// outside the link-local ranges — in ranges a hotel's own network may use
// too (unique-local, CGNAT, IETF protocol assignments), so that only these
// addresses of them are refused: EC2's metadata service and EKS's Pod
// Identity agent over IPv6, Google Cloud's metadata server over IPv6,
// Alibaba Cloud's metadata service and Oracle Cloud Classic's. (Their IPv4
// addresses elsewhere are link-local: 169.254.169.254, 169.254.170.23.)
var cloudMetadata = []netip.Addr{
	netip.MustParseAddr("fd00:ec2::254"),
	netip.MustParseAddr("fd00:ec2::23"),
	netip.MustParseAddr("fd20:ce::254"),
	netip.MustParseAddr("100.100.100.200"),
	netip.MustParseAddr("192.0.0.192"),
}

// IsLinkLocal reports whether a is link-local (cloud metadata services
// answer there), a cloud's metadata address (cloudMetadata), unspecified, in "this
// network" (0.0.0.0/8) or multicast — IPv4-mapped and NAT64/6to4
// embeddings of those included: what even a request allowed on the local
// network must not reach.
func IsLinkLocal(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() ||
		a.IsMulticast() || a.IsUnspecified() || slices.Contains(cloudMetadata, a) || thisNetwork.Contains(a) {
		return true
	}
	if v4, ok := embedded4(a); ok {
		return IsLinkLocal(v4)
	}
	return false
}

// embedded4 is the IPv4 address a NAT64 or 6to4 address carries.
func embedded4(a netip.Addr) (netip.Addr, bool) {
	if !a.Is6() {
		return netip.Addr{}, false
	}
	b := a.As16()
	switch {
	case nat64.Contains(a):
		return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}), true
	case sixTo4.Contains(a):
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), true
	}
	return netip.Addr{}, false
}

var (
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8")
	nat64       = netip.MustParsePrefix("64:ff9b::/96")
	sixTo4      = netip.MustParsePrefix("2002::/16")
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
	if v4, ok := embedded4(a); ok {
		return IsPrivate(v4)
	}
	return false
}

// EndpointClient is the HTTP client of pushes to channel endpoints and of
// PMS webhooks: those may be on the hotel's own network (a PMS on its LAN),
// but never link-local (LocalNetworkOK) — whoever sets an endpoint chooses
// where keyrack connects, and part of the answer reaches the channel's
// status. Timeouts come from each request's context; it keeps up to 8 idle
// connections to one host, as many properties' channels share an OTA's.
func EndpointClient() *http.Client {
	t := DialGuard{LocalNetworkOK: true, What: "channel endpoints and PMS webhooks"}.Transport()
	t.MaxIdleConns, t.MaxIdleConnsPerHost, t.ResponseHeaderTimeout = 0, 8, 0
	return &http.Client{Transport: t}
}
