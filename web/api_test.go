package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/inventory/inventorytest"
	"github.com/keyrack/keyrack/sync"
	"github.com/keyrack/keyrack/sync/synctest"
	"github.com/keyrack/keyrack/web"
	"github.com/stretchr/testify/require"
)

// apiEnv is a server on a fresh schema with a key for all properties.
type apiEnv struct {
	t     *testing.T
	st    *inventory.Store
	ts    *httptest.Server
	admin string // an all-properties key
	// router, when set, checks every answer (and every request that
	// succeeded) against web/openapi.json.
	router routers.Router
}

func newAPI(t *testing.T, configure ...func(*web.Config)) *apiEnv {
	t.Helper()
	st := inventorytest.New(t)
	sec, err := inventory.NewSecrets("test secret of keyrack's API tests")
	require.NoError(t, err)
	cfg := web.Config{Store: st, Secrets: sec, Logger: slog.New(slog.DiscardHandler)}
	for _, f := range configure {
		f(&cfg)
	}
	s := web.New(cfg)
	ts := newTestServer(t, s)
	_, key, err := st.CreateAPIKey(context.Background(), "", "admin", inventory.System)
	require.NoError(t, err)
	return &apiEnv{t: t, st: st, ts: ts, admin: key, router: openAPIRouter(t, ts.URL)}
}

// withFanout serves the API again with a fan-out on queues of the test's own
// in the real Redis, and returns it with the Redis URL and queue prefix.
func (e *apiEnv) withFanout(configure ...func(*sync.Config)) (*sync.Fanout, string, string) {
	t := e.t
	t.Helper()
	redisURL := synctest.RedisURL(t)
	prefix := synctest.QueuePrefix(t, redisURL)
	q := openQueue(t, redisURL)
	sec, err := inventory.NewSecrets("test secret of keyrack's API tests")
	require.NoError(t, err)
	cfg := sync.Config{DB: e.st.DB(), Queue: q, QueuePrefix: prefix, Secrets: sec, Logger: slog.New(slog.DiscardHandler)}
	for _, c := range configure {
		c(&cfg)
	}
	f, err := sync.New(cfg)
	require.NoError(t, err)
	s := web.New(web.Config{Store: e.st, Queue: q, Fanout: f, Secrets: sec, Logger: slog.New(slog.DiscardHandler)})
	e.ts = newTestServer(t, s)
	e.router = openAPIRouter(t, e.ts.URL)
	return f, redisURL, prefix
}

// response is an API answer with its body read.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body.
func (r response) JSON(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &v), "body: %s", r.Body)
	return v
}

// List decodes a JSON array body.
func (r response) List(t *testing.T) []map[string]any {
	t.Helper()
	var v []map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &v), "body: %s", r.Body)
	return v
}

// do sends a request with key as bearer ("" for none) and body (a string
// is sent as it is, anything else as JSON); extra holds header pairs.
func (e *apiEnv) do(method, path, key string, body any, extra ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		require.NoError(e.t, err)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, rd)
	require.NoError(e.t, err)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	r := e.send(req, extra...)
	if e.router != nil {
		e.checkOpenAPI(method, path, key, body, extra, r)
	}
	return r
}

// send sets the extra header pairs on req, sends it and reads the answer.
func (e *apiEnv) send(req *http.Request, extra ...string) response {
	e.t.Helper()
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	resp, err := e.ts.Client().Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// openAPIRouter finds operations of web/openapi.json served at base.
func openAPIRouter(t *testing.T, base string) routers.Router {
	t.Helper()
	doc := loadOpenAPI(t, web.OpenAPIDocument)
	doc.Servers = openapi3.Servers{{URL: base + "/api/v1"}}
	r, err := legacy.NewRouter(doc)
	require.NoError(t, err)
	return r
}

// checkOpenAPI validates an exchange against the document: the answer
// always, the request when it succeeded (tests send bad ones on purpose);
// and the answer holds nothing the document leaves out (contractProblems).
func (e *apiEnv) checkOpenAPI(method, path, key string, body any, extra []string, resp response) {
	e.t.Helper()
	var raw []byte
	switch v := body.(type) {
	case nil:
	case string:
		raw = []byte(v)
	default:
		raw, _ = json.Marshal(v)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, bytes.NewReader(raw))
	require.NoError(e.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	route, params, err := e.router.FindRoute(req)
	require.NoError(e.t, err, "%s %s is not in web/openapi.json", method, path)
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	ctx := context.Background()
	if resp.Status < 300 {
		require.NoError(e.t, openapi3filter.ValidateRequest(ctx, in), "request %s %s does not match web/openapi.json", method, path)
	}
	err = openapi3filter.ValidateResponse(ctx, &openapi3filter.ResponseValidationInput{RequestValidationInput: in,
		Status: resp.Status, Header: resp.Header, Body: io.NopCloser(bytes.NewReader(resp.Body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true}})
	require.NoError(e.t, err, "answer %d to %s %s does not match web/openapi.json: %s", resp.Status, method, path, resp.Body)
	require.Empty(e.t, contractProblems(route, resp.Status, resp.Header, resp.Body), "answer %d to %s %s goes beyond web/openapi.json: %s",
		resp.Status, method, path, resp.Body)
}

// must sends a request and requires the status.
func (e *apiEnv) must(status int, method, path string, body any, extra ...string) response {
	e.t.Helper()
	r := e.do(method, path, e.admin, body, extra...)
	require.Equal(e.t, status, r.Status, "%s %s: %s", method, path, r.Body)
	return r
}

// hotel configures property code through the API: pool DBL (units rooms),
// room type DBL-STD with rate plan BAR, a PMS channel "pms" and an OTA
// channel "expedia" mapping room "DBL" to DBL-STD.
func (e *apiEnv) hotel(code string, units int) {
	e.t.Helper()
	p := "/api/v1/properties/" + code
	e.must(201, "POST", "/api/v1/properties", map[string]any{"code": code, "name": "Hotel " + code, "time_zone": "Europe/Lisbon", "currency": "EUR"})
	e.must(201, "POST", p+"/pools", map[string]any{"code": "DBL", "name": "Double rooms", "units": units})
	e.must(201, "POST", p+"/room-types", map[string]any{"code": "DBL-STD", "pool": "DBL"})
	e.must(201, "POST", p+"/rate-plans", map[string]any{"code": "BAR", "room_type": "DBL-STD"})
	e.must(201, "POST", p+"/channels", map[string]any{"code": "pms", "kind": "pms"})
	e.must(201, "POST", p+"/channels", map[string]any{"code": "expedia", "kind": "ota_push"})
	e.must(200, "PUT", p+"/channels/expedia/mappings", map[string]any{"channel_room": "DBL", "room_type": "DBL-STD"})
}

// propertyKey makes a key for one property.
func (e *apiEnv) propertyKey(code string) string {
	e.t.Helper()
	r := e.must(201, "POST", "/api/v1/api-keys", map[string]any{"name": "pms of " + code, "property": code})
	return r.JSON(e.t)["key"].(string)
}

func booking(id string, arrival, departure string, rooms int) map[string]any {
	return map[string]any{"id": id, "stays": []any{map[string]any{"room_type": "DBL-STD", "rate_plan": "BAR",
		"arrival": arrival, "departure": departure, "rooms": rooms, "adults": 2}},
		"guest": map[string]any{"name": "Ana Silva"}, "total": "240.00", "currency": "EUR"}
}

// problemOf checks a problem+json answer and returns it.
func problemOf(t *testing.T, r response, status int) map[string]any {
	t.Helper()
	require.Equal(t, status, r.Status, "%s", r.Body)
	require.Equal(t, "application/problem+json", r.Header.Get("Content-Type"))
	p := r.JSON(t)
	require.Equal(t, float64(status), p["status"])
	require.NotEmpty(t, p["type"])
	require.NotEmpty(t, p["title"])
	return p
}

// deliveryWait is how long a test waits for what goes through the
// fan-out (Redis, workers, a channel over HTTP) to arrive: long, as the
// sync package's convergeTimeout, for a busy CI machine running every
// package under the race detector; a wait that succeeds ends at once.
const deliveryWait = 90 * time.Second

func newTestServer(t *testing.T, s *web.Server) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts
}

func jsonNumber(n int64) string { b, _ := json.Marshal(n); return string(b) }
