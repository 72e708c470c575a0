package sync

import (
	"net/http"

	"github.com/hibiken/asynqmon"
)

// sharedRedis hands asynq (and asynqmon) the queue's own Redis client, so
// the monitor opens no connection pool of its own. Nothing closes it
// through them: Queue.Close does.
type sharedRedis struct{ q *Queue }

// MakeRedisClient implements asynq.RedisConnOpt.
func (r sharedRedis) MakeRedisClient() any { return r.q.redis }

// Monitor is asynqmon, asynq's web console, serving the queues at rootPath
// (e.g. "/admin/queues": every URL it answers and links to starts with
// it). readOnly hides its actions and refuses every request that is not a
// GET. It does no authentication or CSRF checking of its own: the caller
// mounts it behind both.
func (q *Queue) Monitor(rootPath string, readOnly bool) http.Handler {
	return asynqmon.New(asynqmon.Options{RootPath: rootPath, RedisConnOpt: sharedRedis{q}, ReadOnly: readOnly})
}
