package pms

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/keyrack/keyrack/connectors"
	"github.com/stretchr/testify/require"
)

func TestASignatureVerifiesOnlyWithTheSecretTheBodyAndARecentTimestamp(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"feed_id":7}`)
	h := Sign("s3cret", now, body)
	require.Regexp(t, `^t=1800000000,v1=[0-9a-f]{64}$`, h)

	require.NoError(t, verifyAt("s3cret", h, body, 5*time.Minute, now.Add(time.Minute)))
	require.ErrorIs(t, verifyAt("other", h, body, 5*time.Minute, now), ErrBadSignature)
	require.ErrorIs(t, verifyAt("s3cret", h, []byte(`{"feed_id":8}`), 5*time.Minute, now), ErrBadSignature)
	require.ErrorIs(t, verifyAt("s3cret", h, body, 5*time.Minute, now.Add(10*time.Minute)), ErrTooOld)
	require.NoError(t, verifyAt("s3cret", h, body, 0, now.Add(10*time.Minute)), "tolerance 0 does not check the time")
	require.ErrorIs(t, verifyAt("s3cret", "", body, 0, now), ErrNoSignature)
	require.ErrorIs(t, verifyAt("s3cret", "v1=abcd", body, 0, now), ErrNoSignature)
	// While a secret is rotated a header may carry two signatures.
	two := Sign("old", now, body) + "," + h[len("t=1800000000,"):]
	require.NoError(t, verifyAt("s3cret", two, body, 0, now))
}

func TestSendSignsThePostAndClassifiesTheAnswer(t *testing.T) {
	var status int
	var gotSig, gotID string
	var gotBody []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotSig, gotID = r.Header.Get(SignatureHeader), r.Header.Get("Keyrack-Feed-Id")
		gotBody, _ = io.ReadAll(r.Body)
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "7")
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()
	s := &Sender{Client: srv.Client()}
	ctx := context.Background()
	body := []byte(`{"feed_id":42}`)

	status = http.StatusOK
	require.NoError(t, s.Send(ctx, srv.URL, "k", 42, body))
	require.Equal(t, body, gotBody)
	require.Equal(t, "42", gotID)
	require.NoError(t, Verify("k", gotSig, gotBody, time.Minute))

	for code, kind := range map[int]connectors.Kind{
		http.StatusInternalServerError: connectors.KindRetryable,
		http.StatusBadGateway:          connectors.KindRetryable,
		http.StatusTooManyRequests:     connectors.KindRateLimited,
		http.StatusUnauthorized:        connectors.KindPermanent,
		http.StatusBadRequest:          connectors.KindPermanent,
	} {
		status = code
		err := s.Send(ctx, srv.URL, "k", 42, body)
		require.Error(t, err, "HTTP %d", code)
		require.Equal(t, kind, connectors.KindOf(err), "HTTP %d", code)
	}
	status = http.StatusTooManyRequests
	require.Equal(t, 7*time.Second, connectors.RetryAfterOf(s.Send(ctx, srv.URL, "k", 42, body)))

	srv.Close()
	err := s.Send(ctx, srv.URL, "k", 42, body)
	require.Equal(t, connectors.KindRetryable, connectors.KindOf(err), "a refused connection is retried")
}
