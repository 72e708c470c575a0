package web_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/keyrack/keyrack/connectors"
	"github.com/keyrack/keyrack/connectors/testjson"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/inventory/inventorytest"
	"github.com/keyrack/keyrack/sync"
	"github.com/keyrack/keyrack/sync/synctest"
	"github.com/keyrack/keyrack/web"
	"github.com/stretchr/testify/require"
)

// BenchmarkGridPage measures the server time of the grid page at its
// largest: 20 pools × 90 nights, bookings on most nights, four channels
// with acknowledgements, dirty marks and changes waiting for the relay (so
// the channels' marks are computed), for a logged-in admin. It reports the
// p50 and p99 of the iterations in ms.
//
//	go test -run '^$' -bench GridPage -benchtime 200x ./web/
func BenchmarkGridPage(b *testing.B) {
	ctx := context.Background()
	st := inventorytest.New(b)
	sec, err := inventory.NewSecrets("test secret of keyrack's UI tests")
	require.NoError(b, err)
	redisURL := synctest.RedisURL(b)
	q, err := sync.OpenQueue(redisURL)
	require.NoError(b, err)
	b.Cleanup(func() { _ = q.Close() })
	f, err := sync.New(sync.Config{DB: st.DB(), Queue: q, QueuePrefix: synctest.QueuePrefix(b, redisURL), Secrets: sec,
		Connectors: connectors.Registry{inventory.ChannelOTAPush: &testjson.Connector{}}, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(b, err)
	h := web.New(web.Config{Store: st, Queue: q, Fanout: f, Secrets: sec, Logger: slog.New(slog.DiscardHandler)}).Handler()

	_, err = st.CreateProperty(ctx, inventory.Property{Code: "BIG", Name: "Grand Hotel", TimeZone: "Europe/Lisbon", Currency: "EUR"}, inventory.System)
	require.NoError(b, err)
	channels := []string{"expedia", "booking", "airbnb", "gds"}
	for _, ch := range channels {
		_, err := st.CreateChannel(ctx, "BIG", inventory.Channel{Code: ch, Kind: inventory.ChannelOTAPush, Enabled: true,
			Endpoint: "http://127.0.0.1:1/" + ch, HorizonDays: 365}, inventory.System)
		require.NoError(b, err)
	}
	today := gridToday(b)
	for i := range 20 {
		pool, rt := fmt.Sprintf("P%02d", i), fmt.Sprintf("RT%02d", i)
		_, err := st.CreatePool(ctx, "BIG", inventory.Pool{Code: pool, Name: "Pool " + pool, Units: 20 + i}, inventory.System)
		require.NoError(b, err)
		_, err = st.CreateRoomType(ctx, "BIG", inventory.RoomType{Code: rt, Pool: pool}, inventory.System)
		require.NoError(b, err)
		for _, ch := range channels {
			require.NoError(b, st.SetMapping(ctx, "BIG", ch, inventory.Mapping{ChannelRoom: ch + "-" + rt, RoomType: rt}, inventory.System))
		}
		// Bookings on most nights: stays of 1 to 5 nights, 1 to 4 rooms.
		for k := 0; k < 90; k += 3 {
			_, err := st.ApplyRevision(ctx, inventory.Revision{Property: "BIG", Channel: channels[k%4], ExternalID: fmt.Sprintf("%s-%d", pool, k),
				Kind: inventory.New, Mode: inventory.MustAccept,
				Stays: []inventory.RoomStay{{RoomType: rt, Arrival: today.AddDays(k), Departure: today.AddDays(k + 1 + k%5), Rooms: 1 + k%4}}})
			require.NoError(b, err)
		}
		if i%5 == 0 {
			require.NoError(b, st.SetClosed(ctx, inventory.NightRange{Property: "BIG", Pool: pool, From: today.AddDays(10), To: today.AddDays(14)}, true, inventory.System))
		}
	}
	// The relay took the changes but those of the last bookings.
	_, err = st.DB().Exec(ctx, `UPDATE outbox SET done_at = now() WHERE topic = 'availability'
		AND id < (SELECT max(id) - 10 FROM outbox WHERE topic = 'availability')`)
	require.NoError(b, err)
	// What the fan-out would have recorded: every channel acknowledged every
	// night (a few with an older value), and dirty marks on some nights.
	_, err = st.DB().Exec(ctx, `
		INSERT INTO sync_acks (property_id, channel_id, pool_id, night, available, version)
		SELECT p.id, c.id, pl.id, d::date,
			CASE WHEN (extract(day FROM d)::int + pl.id::int) % 11 = 0 THEN 1 ELSE
				CASE WHEN coalesce(n.closed, false) THEN 0 ELSE greatest(0, coalesce(n.lim, pl.units) - coalesce(n.sold + n.oversold, 0)) END END,
			0
		FROM properties p JOIN channels c ON c.property_id = p.id JOIN pools pl ON pl.property_id = p.id
		CROSS JOIN generate_series($1::date, $1::date + 89, interval '1 day') AS d
		LEFT JOIN nights n ON n.property_id = p.id AND n.pool_id = pl.id AND n.night = d::date
		WHERE p.code = 'BIG'`, today)
	require.NoError(b, err)
	_, err = st.DB().Exec(ctx, `
		INSERT INTO sync_dirty (property_id, channel_id, pool_id, nights, echo)
		SELECT p.id, c.id, pl.id, datemultirange(daterange($1::date + 20, $1::date + 25), daterange($1::date + 40, $1::date + 42)),
			datemultirange(daterange($1::date + 40, $1::date + 42))
		FROM properties p JOIN channels c ON c.property_id = p.id JOIN pools pl ON pl.property_id = p.id
		WHERE p.code = 'BIG' AND pl.id % 3 = 0`, today)
	require.NoError(b, err)

	_, err = st.CreateStaffUser(ctx, "anna", inventory.RoleAdmin, uiPassword, inventory.System)
	require.NoError(b, err)
	_, token, err := st.StaffLogin(ctx, "anna", uiPassword)
	require.NoError(b, err)
	path := fmt.Sprintf("/admin/p/BIG/grid?from=%s&days=90", today)
	get := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		req.AddCookie(&http.Cookie{Name: "keyrack_session", Value: token})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	w := get()
	require.Equal(b, http.StatusOK, w.Code, w.Body.String())
	require.Contains(b, w.Body.String(), "P19 "+today.AddDays(89).String()+":")
	require.Contains(b, w.Body.String(), `class="pending`, "the channels' marks are part of the page")
	pageKiB := float64(w.Body.Len()) / 1024
	// The two reads that dominate, alone (median of 20), to tell the
	// database's share from the page's.
	median := func(fn func()) float64 {
		var ts []time.Duration
		for range 20 {
			start := time.Now()
			fn()
			ts = append(ts, time.Since(start))
		}
		slices.Sort(ts)
		return float64(ts[10].Microseconds()) / 1000
	}
	availMS := median(func() {
		_, err := st.Availability(ctx, "BIG", today, today.AddDays(90))
		require.NoError(b, err)
	})
	marksMS := median(func() {
		_, err := f.NightMarks(ctx, "BIG", today, today.AddDays(90))
		require.NoError(b, err)
	})

	times := make([]time.Duration, 0, b.N)
	cpu0 := processCPU()
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		w := get()
		times = append(times, time.Since(start))
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
	}
	b.StopTimer()
	cpu := processCPU() - cpu0
	slices.Sort(times)
	pct := func(p float64) float64 {
		i := min(len(times)-1, int(float64(len(times))*p))
		return float64(times[i].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(pageKiB, "page-KiB")
	// The server's own CPU per page (this process, the garbage collector
	// included; PostgreSQL is another process): wall times on a shared
	// machine wait for the CPU, this does not.
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(len(times)), "cpu-ms/page")
	b.ReportMetric(availMS, "availability-ms")
	b.ReportMetric(marksMS, "marks-ms")
}

// processCPU is the CPU time (user and system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
