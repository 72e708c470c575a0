package sync_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"testing"

	"github.com/keyrack/keyrack/sync"
	"github.com/keyrack/keyrack/sync/synctest"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// PRODUCT.md: Redis high availability goes through Sentinel. A master that
// asks for a password (as any Redis on a network should), a database other
// than 0, and a failover while bookings come in: the fan-out follows the
// sentinels to the new master and every channel converges.
func TestTheFanOutFollowsASentinelFailover(t *testing.T) {
	t.Parallel()
	const password = "s3cret/with:odd@chars"
	master := synctest.StartRedisWith(t, synctest.RedisOptions{Password: password})
	replica := synctest.StartRedisWith(t, synctest.RedisOptions{Password: password, ReplicaOf: master})
	sentinel := synctest.StartSentinel(t, "keyrack", master)
	sentinels := redis.NewSentinelClient(&redis.Options{Addr: sentinel.Addr})
	t.Cleanup(func() { _ = sentinels.Close() })
	// The sentinel learns of replicas from the master's INFO; a failover
	// before it knows one has nothing to promote.
	eventually(t, convergeTimeout, "the sentinel to know the replica", func() bool {
		r, err := sentinels.Replicas(context.Background(), "keyrack").Result()
		return err == nil && len(r) == 1 && r[0]["flags"] == "slave"
	})

	redisURL := fmt.Sprintf("redis-sentinel://%s/3?master=keyrack&password=%s", sentinel.Addr, url.QueryEscape(password))
	h := newHotel(t, hotelOptions{units: []int{50, 50}, redisURL: redisURL}).primed()
	// The queues are in database 3 of the master, not in 0.
	direct := redis.NewClient(&redis.Options{Addr: master.Addr, Password: password, DB: 3})
	keys, err := direct.Keys(context.Background(), "asynq:*").Result()
	direct.Close()
	require.NoError(t, err)
	require.NotEmpty(t, keys, "asynq's keys in database 3 of the master the sentinel names")

	for i := range 5 {
		h.book(h.channels[i%len(h.channels)], fmt.Sprintf("before-%d", i), i%2, h.today.AddDays(1+i), 2, 1)
	}
	h.waitConverged()

	// The client's note of the new master goes to keyrack's log, not to
	// stderr in a format of its own.
	var logged synctest.LockedBuffer
	sync.LogRedisTo(slog.New(slog.NewTextHandler(&logged, nil)))
	t.Cleanup(func() { sync.LogRedisTo(nil) })
	master.Stop()
	eventually(t, convergeTimeout, "the sentinel to promote the replica", func() bool {
		a, err := sentinels.GetMasterAddrByName(context.Background(), "keyrack").Result()
		return err == nil && len(a) == 2 && a[0]+":"+a[1] == replica.Addr
	})
	for i := range 5 {
		h.book(h.channels[i%len(h.channels)], fmt.Sprintf("after-%d", i), i%2, h.today.AddDays(3+i), 2, 1)
	}
	h.waitConverged()
	require.Contains(t, logged.String(), `level=WARN msg="redis client" detail="sentinel: new master=\"keyrack\" addr=\"`+replica.Addr)
}
