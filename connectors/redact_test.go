package connectors_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keyrack/keyrack/connectors"
	"github.com/keyrack/keyrack/connectors/otaxml"
	"github.com/keyrack/keyrack/connectors/pms"
)

// A channel's URL may carry its secret (…?token=…), and a failed request's
// error — kept as the channel's last error, shown to staff, raised in an
// incident, logged — named it in full: the HTTP client's own error repeats
// the URL. The senders' errors name it without its query.
func TestAFailedRequestsErrorDoesNotCarryTheEndpointsToken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: connection refused
	endpoint := "http://" + addr + "/hooks/keyrack?token=SECRET-TOKEN-123"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errs := map[string]error{
		"webhook": (&pms.Sender{Client: &http.Client{Timeout: 5 * time.Second}}).Send(ctx, endpoint, "k", 1, []byte(`{}`)),
	}
	_, errs["push"] = (&otaxml.Connector{}).Push(ctx, connectors.Channel{Property: "p", Code: "c", Endpoint: endpoint},
		connectors.Update{Items: []connectors.Availability{{Room: "DBL"}}})
	for what, err := range errs {
		if err == nil {
			t.Fatalf("%s: no error", what)
		}
		if strings.Contains(err.Error(), "SECRET-TOKEN-123") {
			t.Errorf("%s: the error shows the endpoint's token: %v", what, err)
		}
		if !strings.Contains(err.Error(), addr) {
			t.Errorf("%s: the error no longer says where it went: %v", what, err)
		}
	}
}
