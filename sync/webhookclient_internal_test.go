package sync

import (
	"errors"
	"testing"
	"time"

	"github.com/keyrack/keyrack/connectors"
)

// PMS webhooks go through the guarded endpoint client: an endpoint set to
// a cloud metadata service is refused, not read.
func TestWebhooksAreRefusedALinkLocalEndpoint(t *testing.T) {
	c := webhookClient(time.Second)
	if c.Timeout != time.Second {
		t.Errorf("timeout %s", c.Timeout)
	}
	_, err := c.Get("http://169.254.169.254/latest/meta-data/")
	var pe *connectors.PrivateAddressError
	if !errors.As(err, &pe) {
		t.Errorf("a webhook to the metadata service: %v, want it refused", err)
	}
}
