package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/keyrack/keyrack/sync/synctest"
	"github.com/keyrack/keyrack/web"
	"github.com/stretchr/testify/require"
)

// queuesUI is a UI whose server has a real Redis queue, with one task
// waiting in a queue of the test's own.
func queuesUI(t *testing.T) (*uiEnv, string, *asynq.Inspector) {
	t.Helper()
	redisURL := synctest.RedisURL(t)
	queue := synctest.QueuePrefix(t, redisURL) + "critical"
	e := newUI(t, func(c *web.Config) { c.Queue = openQueue(t, redisURL) })
	opt, err := asynq.ParseRedisURI(redisURL)
	require.NoError(t, err)
	client := asynq.NewClient(opt)
	t.Cleanup(func() { _ = client.Close() })
	_, err = client.Enqueue(asynq.NewTask("sync:channel", []byte(`{}`)), asynq.Queue(queue))
	require.NoError(t, err)
	inspector := asynq.NewInspector(opt)
	t.Cleanup(func() { _ = inspector.Close() })
	return e, queue, inspector
}

// send makes a request as asynqmon's app would (fetch with the session
// cookie), with header pairs.
func (e *uiEnv) send(method, path string, extra ...string) page {
	e.t.Helper()
	req, err := http.NewRequest(method, e.ts.URL+path, nil)
	require.NoError(e.t, err)
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	return e.do(req)
}

func queuePaused(t *testing.T, in *asynq.Inspector, queue string) bool {
	t.Helper()
	info, err := in.GetQueueInfo(queue)
	require.NoError(t, err)
	return info.Paused
}

// Staff open asynqmon under /admin/queues: its app and its JSON API answer
// behind the login, and list the fan-out's queues.
func TestQueuesMonitorRendersBehindTheLogin(t *testing.T) {
	t.Parallel()
	e, queue, _ := queuesUI(t)

	p := e.get("/admin/queues/")
	require.Equal(t, http.StatusSeeOther, p.Status, "no login, no queues")
	require.Contains(t, p.Header.Get("Location"), "/admin/login")
	require.Equal(t, http.StatusSeeOther, e.get("/admin/queues/api/queues").Status)

	e.login("anna")
	p = e.get("/admin/queues")
	require.Equal(t, http.StatusMovedPermanently, p.Status)
	require.Equal(t, "/admin/queues/", p.Header.Get("Location"))
	p = e.get("/admin/queues/")
	require.Equal(t, http.StatusOK, p.Status)
	require.Contains(t, p.Body, "<title>Asynq - Monitoring</title>")
	require.Contains(t, p.Body, `window.FLAG_ROOT_PATH="\/admin\/queues"`)
	require.Contains(t, p.Body, `window.FLAG_READ_ONLY="false"`)
	require.Equal(t, "DENY", p.Header.Get("X-Frame-Options"))
	// Its scripts are served from the same root.
	script := regexp.MustCompile(`src="(/admin/queues/static/js/main\.[0-9a-f]+\.chunk\.js)"`).FindStringSubmatch(p.Body)
	require.NotNil(t, script, p.Body)
	js := e.get(script[1])
	require.Equal(t, http.StatusOK, js.Status)
	require.Contains(t, js.Header.Get("Content-Type"), "javascript")
	// A page of the app (its router is client-side) is the app too.
	require.Contains(t, e.get("/admin/queues/queues/"+queue).Body, "<title>Asynq - Monitoring</title>")

	p = e.get("/admin/queues/api/queues")
	require.Equal(t, http.StatusOK, p.Status)
	require.Contains(t, p.Header.Get("Content-Type"), "application/json")
	var list struct {
		Queues []struct {
			Queue   string `json:"queue"`
			Pending int    `json:"pending"`
		} `json:"queues"`
	}
	require.NoError(t, json.Unmarshal([]byte(p.Body), &list), p.Body)
	found := false
	for _, q := range list.Queues {
		if q.Queue == queue {
			found = true
			require.Equal(t, 1, q.Pending)
		}
	}
	require.True(t, found, "the test's queue is listed: %s", p.Body)
}

// asynqmon's actions are fetch calls without our CSRF token: an admin's
// from this site pass, one from elsewhere (or with no Origin) does not, and
// a viewer gets the read-only app and a 403 for any action.
func TestQueuesMonitorActionsNeedAnAdminOnThisSite(t *testing.T) {
	t.Parallel()
	e, queue, in := queuesUI(t)
	pause := "/admin/queues/api/queues/" + url.PathEscape(queue) + ":pause"

	e.login("victor")
	p := e.get("/admin/queues/")
	require.Equal(t, http.StatusOK, p.Status, "a viewer may look")
	require.Contains(t, p.Body, `window.FLAG_READ_ONLY="true"`)
	require.Equal(t, http.StatusOK, e.get("/admin/queues/api/queues").Status)
	p = e.send("POST", pause, "Origin", e.ts.URL, "Sec-Fetch-Site", "same-origin")
	require.Equal(t, http.StatusForbidden, p.Status, p.Body)
	require.False(t, queuePaused(t, in, queue), "a viewer changes nothing")
	p = e.send("DELETE", "/admin/queues/api/queues/"+url.PathEscape(queue)+"/pending_tasks:delete_all", "Origin", e.ts.URL)
	require.Equal(t, http.StatusForbidden, p.Status)
	pending, err := in.ListPendingTasks(queue)
	require.NoError(t, err)
	require.Len(t, pending, 1)

	require.Equal(t, http.StatusSeeOther, e.post("/admin/login", "/admin/logout", nil).Status)
	e.login("anna")
	for _, h := range [][]string{
		{"Origin", "https://evil.example"},
		{"Origin", "null"},
		{"Origin", e.ts.URL, "Sec-Fetch-Site", "cross-site"},
		{}, // no Origin at all
	} {
		p = e.send("POST", pause, h...)
		require.Equal(t, http.StatusForbidden, p.Status, "headers %v: %s", h, p.Body)
		require.False(t, queuePaused(t, in, queue), "headers %v", h)
	}
	// Outside asynqmon's API the usual CSRF check stands.
	require.Equal(t, http.StatusForbidden, e.send("POST", "/admin/queues/", "Origin", e.ts.URL).Status)
	require.Equal(t, http.StatusForbidden, e.send("POST", "/admin/queues/api/../../logout", "Origin", e.ts.URL).Status)

	p = e.send("POST", pause, "Origin", e.ts.URL, "Sec-Fetch-Site", "same-origin")
	require.Equal(t, http.StatusNoContent, p.Status, p.Body)
	require.True(t, queuePaused(t, in, queue), "the admin paused the queue")
	p = e.send("POST", "/admin/queues/api/queues/"+url.PathEscape(queue)+":resume", "Origin", e.ts.URL)
	require.Equal(t, http.StatusNoContent, p.Status, p.Body)
	require.False(t, queuePaused(t, in, queue))
}

// Without Redis the queues page says the queue is not connected.
func TestQueuesPageWithoutAQueueSaysSo(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.login("victor")
	p := e.get("/admin/queues/")
	require.Equal(t, http.StatusServiceUnavailable, p.Status)
	require.Contains(t, p.Body, "not connected")
	require.True(t, strings.Contains(p.Body, `aria-current="page"`), "the Queues menu entry is current")
}

// The admin answers the methods it serves — GET and POST, and HEAD and
// DELETE for asynqmon — and refuses any other with 405 before
// anything else looks at the request: gorilla/csrf lets TRACE (and
// OPTIONS) through as safe, and asynqmon served its page to any method.
func TestTheAdminRefusesMethodsItDoesNotServe(t *testing.T) {
	t.Parallel()
	e, queue, inspector := queuesUI(t)
	anon := &uiEnv{t: t, st: e.st, ts: e.ts, client: newBrowserClient(t)}
	e.login("anna")

	pause := "/admin/queues/api/queues/" + url.PathEscape(queue) + ":pause"
	for _, b := range []*uiEnv{anon, e} {
		for _, method := range []string{http.MethodTrace, http.MethodOptions, http.MethodPut, http.MethodPatch, "PROPFIND"} {
			for _, path := range []string{"/admin/queues/", "/admin/queues/api/queues", pause, "/admin/users", "/admin/login", "/admin/", "/admin/nowhere"} {
				p := b.send(method, path, "Origin", e.ts.URL, "Sec-Fetch-Site", "same-origin")
				require.Equal(t, http.StatusMethodNotAllowed, p.Status, "%s %s: %s", method, path, p.Body)
				allow := "GET, HEAD, POST"
				if strings.HasPrefix(path, "/admin/queues/") {
					allow = "GET, HEAD, POST, DELETE"
				}
				require.Equal(t, allow, p.Header.Get("Allow"), "%s %s", method, path)
				require.NotContains(t, p.Body, "Asynq", "%s %s", method, path)
			}
		}
	}
	require.False(t, queuePaused(t, inspector, queue))
	// DELETE is asynqmon's, not the pages'.
	p := e.send(http.MethodDelete, "/admin/users", "Origin", e.ts.URL)
	require.Equal(t, http.StatusMethodNotAllowed, p.Status, p.Body)
	require.Equal(t, "GET, HEAD, POST", p.Header.Get("Allow"))
	// HEAD is a page's GET without its body (RFC 9110: wherever GET is):
	// it was 405.
	p = e.send(http.MethodHead, "/admin/users")
	require.Equal(t, http.StatusOK, p.Status)
	require.Empty(t, p.Body)
	require.Equal(t, "text/html; charset=utf-8", p.Header.Get("Content-Type"))
	p = anon.send(http.MethodHead, "/admin/users")
	require.Equal(t, http.StatusSeeOther, p.Status, "not logged in: the login's redirect")
	require.True(t, strings.HasPrefix(p.Header.Get("Location"), "/admin/login"), p.Header.Get("Location"))
	require.Equal(t, http.StatusOK, anon.send(http.MethodHead, "/admin/login").Status)

	// What it serves it still serves.
	require.Equal(t, http.StatusOK, e.get("/admin/queues/").Status)
	require.Equal(t, http.StatusOK, e.send(http.MethodHead, "/admin/queues/").Status)
	require.Equal(t, http.StatusOK, e.get("/admin/users").Status)
	p = e.send(http.MethodPost, pause, "Origin", e.ts.URL)
	require.Equal(t, http.StatusNoContent, p.Status, p.Body)
	require.True(t, queuePaused(t, inspector, queue))
}
