package pms

import (
	"context"
	"errors"
	"testing"

	"github.com/keyrack/keyrack/connectors"
)

// A webhook keyrack refuses to send — its endpoint is at an address the
// endpoints' guard never connects to (a cloud metadata service, where a
// property key can point a PMS's endpoint) — fails for good: sending it
// again cannot connect either. Taken for a network failure, it was retried
// for an hour, and then, as a webhook that failed for a passing cause,
// probed again with a fresh retry budget for as long as its incident stayed
// open. The refusal is named, for staff to set another endpoint.
func TestAWebhookToARefusedAddressFailsForGood(t *testing.T) {
	s := &Sender{Client: connectors.EndpointClient()}
	err := s.Send(context.Background(), "http://169.254.169.254/latest/meta-data/", "s3cret", 7, []byte(`{"feed_id":7}`))
	var pe *connectors.PrivateAddressError
	if !errors.As(err, &pe) {
		t.Fatalf("send: %v, want the guard's refusal", err)
	}
	if kind := connectors.KindOf(err); kind != connectors.KindPermanent {
		t.Errorf("a refused endpoint is %v, want permanent: %v", kind, err)
	}
}
