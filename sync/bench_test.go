package sync_test

import (
	"fmt"
	"slices"
	gosync "sync"
	"testing"
	"time"

	"github.com/keyrack/keyrack/fixtures/testchannel"
	"github.com/keyrack/keyrack/inventory"
)

// BenchmarkSyncLag measures the sync lag: from a booking's commit to the
// moment the last of the other channels holds the new value (or a newer
// one), at 200 bookings a second on one property with 4 channels (each a
// test channel over HTTP on this machine) and 4 pools. Each iteration is one
// booking; run it long enough for a steady state, e.g.
//
//	go test ./sync -run '^$' -bench SyncLag -benchtime 3000x
//
// It reports the lag's p50, p99 and maximum in milliseconds, the
// deliveries (HTTP requests the channels took) per booking, and the booking
// rate reached.
func BenchmarkSyncLag(b *testing.B) {
	const (
		rate     = 200 // bookings a second
		pools    = 4
		units    = 100000
		horizon  = 29 // nights from tomorrow
		bookers  = pools
		interval = time.Second * bookers / rate // per booker
	)
	units4 := make([]int, pools)
	for i := range units4 {
		units4[i] = units
	}
	h := newHotel(b, hotelOptions{units: units4}).primed()

	// One entry per booking: what each other channel must come to hold.
	type booking struct {
		pool   int
		night  inventory.Date
		want   int
		origin string
		commit time.Time
		got    map[string]time.Time // channel → when it held want or less
	}
	var mu gosync.Mutex
	byKey := map[string][]*booking{} // pool/night → bookings, oldest first
	key := func(pool int, night inventory.Date) string { return fmt.Sprintf("%d/%s", pool, night) }
	for _, c := range h.channels {
		rooms := map[string]int{}
		for p := range pools {
			rooms[h.room(c, p)] = p
		}
		h.tc[c].OnApply(func(a testchannel.Applied) {
			mu.Lock()
			defer mu.Unlock()
			for _, bk := range byKey[key(rooms[a.Room], a.Night)] {
				if bk.origin != c && a.Value <= bk.want {
					if _, ok := bk.got[c]; !ok {
						bk.got[c] = a.At
					}
				}
			}
		})
	}

	all := make([]*booking, 0, b.N)
	sold := map[string]int{}
	b.ResetTimer()
	start := time.Now()
	var wg gosync.WaitGroup
	for g := range bookers {
		wg.Go(func() {
			// Staggered, so bookings arrive evenly rather than in fours.
			time.Sleep(interval * time.Duration(g) / bookers)
			tick := time.NewTicker(interval)
			defer tick.Stop()
			for i := g; i < b.N; i += bookers {
				<-tick.C
				bk := &booking{pool: g, night: h.today.AddDays(1 + (i/bookers)%horizon),
					origin: h.channels[(i/bookers)%len(h.channels)], got: map[string]time.Time{}}
				mu.Lock()
				k := key(bk.pool, bk.night)
				sold[k]++
				bk.want = units - sold[k]
				byKey[k] = append(byKey[k], bk)
				all = append(all, bk)
				mu.Unlock()
				if err := h.tryBook(bk.origin, fmt.Sprintf("lag-%d", i), bk.pool, bk.night, 1, 1); err != nil {
					b.Error(err)
					return
				}
				t := time.Now()
				mu.Lock()
				bk.commit = t
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	h.waitConverged()
	b.StopTimer()

	mu.Lock()
	defer mu.Unlock()
	lags := make([]time.Duration, 0, len(all))
	for _, bk := range all {
		var last time.Time
		for _, c := range h.channels {
			if c == bk.origin {
				continue
			}
			at, ok := bk.got[c]
			if !ok {
				b.Fatalf("channel %s never held the value of a booking on %s", c, bk.night)
			}
			if at.After(last) {
				last = at
			}
		}
		lags = append(lags, max(0, last.Sub(bk.commit)))
	}
	slices.Sort(lags)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	deliveries := 0
	for _, c := range h.channels {
		deliveries += h.tc[c].Stats().Applied
	}
	b.ReportMetric(ms(lags[len(lags)/2]), "p50-ms")
	b.ReportMetric(ms(lags[len(lags)*99/100]), "p99-ms")
	b.ReportMetric(ms(lags[len(lags)-1]), "max-ms")
	b.ReportMetric(float64(deliveries)/float64(len(all)), "deliveries/booking")
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "bookings/s")
}
