package pms

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
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

// A PMS endpoint that answers with a redirect (an http → https move, a
// renamed path, a load balancer's login page) has not taken the revision:
// Go's client would follow a 302 with a GET without the body, and a 200 to
// that GET counted as delivered. The webhook fails for good instead, naming
// where the endpoint points, so staff can fix the channel's URL.
func TestAWebhookAnsweredWithARedirectIsNotDelivered(t *testing.T) {
	var got []string
	final := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, r.Method+" "+string(b))
	}))
	defer final.Close()
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		moved := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, final.URL+"/keyrack", status)
		}))
		for _, s := range []*Sender{{}, {Client: &http.Client{Timeout: time.Second}}} {
			err := s.Send(context.Background(), moved.URL, "k", 42, []byte(`{"feed_id":42}`))
			require.Error(t, err, "HTTP %d", status)
			require.Equal(t, connectors.KindPermanent, connectors.KindOf(err), "HTTP %d", status)
			require.ErrorContains(t, err, final.URL+"/keyrack")
			require.ErrorContains(t, err, strconv.Itoa(status))
		}
		moved.Close()
	}
	require.Empty(t, got, "nothing is sent where the endpoint redirects")
}

// TestAnOldSignatureCannotBeReplayedUnderAFreshTimestamp: the timestamp is
// signed, so a captured delivery resent with t= moved to now is refused; a
// timestamp too far in the future is refused like one too far in the past;
// while a secret is rotated either signature, in either order, verifies.
func TestAnOldSignatureCannotBeReplayedUnderAFreshTimestamp(t *testing.T) {
	then := time.Unix(1_800_000_000, 0)
	now := then.Add(time.Hour)
	body := []byte(`{"feed_id":7}`)
	h := Sign("s3cret", then, body)
	replayed := "t=" + strconv.FormatInt(now.Unix(), 10) + h[len("t=1800000000"):]
	require.ErrorIs(t, verifyAt("s3cret", replayed, body, 5*time.Minute, now), ErrBadSignature)

	future := Sign("s3cret", now.Add(time.Hour), body)
	require.ErrorIs(t, verifyAt("s3cret", future, body, 5*time.Minute, now), ErrTooOld)

	newFirst := h + "," + Sign("old", then, body)[len("t=1800000000,"):]
	require.NoError(t, verifyAt("s3cret", newFirst, body, 0, then))
}

// While a secret is being replaced a webhook is signed with both: a
// receiver with either verifies it, one with neither does not.
func TestASignatureWithSeveralSecretsVerifiesWithEach(t *testing.T) {
	body := []byte(`{"feed_id":1}`)
	now := time.Now()
	h := SignAll([]string{"new", "old"}, now, body)
	require.Equal(t, 2, strings.Count(h, "v1="))
	require.NoError(t, Verify("new", h, body, time.Minute))
	require.NoError(t, Verify("old", h, body, time.Minute))
	require.ErrorIs(t, Verify("other", h, body, time.Minute), ErrBadSignature)
	require.Equal(t, Sign("new", now, body), SignAll([]string{"new"}, now, body))
}
