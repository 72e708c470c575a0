package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/inventory/inventorytest"
	"github.com/keyrack/keyrack/sync"
	"github.com/keyrack/keyrack/sync/synctest"
	"github.com/keyrack/keyrack/web"
	"github.com/stretchr/testify/require"
)

// serve starts keyrack's HTTP server on a store and a queue, stopped when t ends.
func serve(t *testing.T, st *inventory.Store, q *sync.Queue) *httptest.Server {
	t.Helper()
	s := web.New(web.Config{Store: st, Queue: q, Logger: slog.New(slog.DiscardHandler)})
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts
}

// openQueue opens a queue on redisURL, closed when t ends.
func openQueue(t *testing.T, redisURL string) *sync.Queue {
	t.Helper()
	q, err := sync.OpenQueue(redisURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = q.Close() })
	return q
}

// get fetches path and returns the response with its body read.
func get(t *testing.T, ts *httptest.Server, path string) (*http.Response, []byte) {
	t.Helper()
	resp, err := ts.Client().Get(ts.URL + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, body
}

// getJSON fetches path and decodes its JSON body into a map.
func getJSON(t *testing.T, ts *httptest.Server, path string) (int, map[string]any, string) {
	t.Helper()
	resp, body := get(t, ts, path)
	require.Contains(t, resp.Header.Get("Content-Type"), "application/json")
	var v map[string]any
	require.NoError(t, json.Unmarshal(body, &v), "body: %s", body)
	return resp.StatusCode, v, string(body)
}

// upServer is a server whose PostgreSQL and Redis both answer.
func upServer(t *testing.T) *httptest.Server {
	return serve(t, inventorytest.New(t), openQueue(t, synctest.RedisURL(t)))
}

// archiveDelivery puts a delivery task to channel of property into queue's
// archive, as asynq keeps a delivery that ran out of retries, and returns
// the task's id.
func archiveDelivery(t *testing.T, st *inventory.Store, redisURL, queue, property, channel string) string {
	t.Helper()
	var propID, chID int64
	require.NoError(t, st.DB().QueryRow(context.Background(), `SELECT p.id, c.id FROM properties p
		JOIN channels c ON c.property_id = p.id WHERE p.code = $1 AND c.code = $2`, property, channel).Scan(&propID, &chID))
	opt, err := asynq.ParseRedisURI(redisURL)
	require.NoError(t, err)
	client := asynq.NewClient(opt)
	defer client.Close()
	info, err := client.Enqueue(asynq.NewTask("sync:channel", fmt.Appendf(nil, `{"property_id":%d,"channel_id":%d,"gen":1}`, propID, chID)),
		asynq.Queue(queue), asynq.ProcessIn(time.Hour))
	require.NoError(t, err)
	inspector := asynq.NewInspector(opt)
	defer inspector.Close()
	require.NoError(t, inspector.ArchiveTask(queue, info.ID))
	return info.ID
}
