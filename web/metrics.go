package web

import (
	"context"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/sync"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// /metrics serves Prometheus metrics to a scraper holding an API key for
// all properties (Authorization: Bearer, as Prometheus' authorization
// setting sends it). The figures are read from PostgreSQL at scrape time,
// so every web process reports the same whatever role found the problem.

func (s *Server) routeMetrics(e *gin.Engine) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(&incidentCollector{store: s.store})
	if s.fanout != nil {
		reg.MustRegister(&backlogCollector{fanout: s.fanout})
	}
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
	e.GET("/metrics", s.authenticate, func(c *gin.Context) {
		if !requireAllProperties(c, "reading metrics") {
			return
		}
		h.ServeHTTP(c.Writer, c.Request)
	})
}

var (
	incidentsOpenDesc = prometheus.NewDesc("keyrack_incidents_open",
		"Open incidents, by kind: overbooking, unmapped_booking, unacked_revision, webhook_failed, stale_feed, stale_export, stale_pull, pull_refused, database_restored.", []string{"kind"}, nil)
	icalStaleDesc = prometheus.NewDesc("keyrack_ical_feeds_stale",
		"iCal feeds flagged stale: no good fetch for longer than KEYRACK_ICAL_STALE_AFTER.", nil, nil)
)

// The fan-out's backlog (sync.Backlog).
var (
	outboxPendingDesc = prometheus.NewDesc("keyrack_outbox_pending",
		"Changes recorded with bookings and edits that the outbox relay has not taken yet, by topic (availability: for the channels; reservation: for the PMS feed).", []string{"topic"}, nil)
	outboxOldestDesc = prometheus.NewDesc("keyrack_outbox_oldest_seconds",
		"How long the oldest change not relayed yet has waited, by topic (0 when none).", []string{"topic"}, nil)
	syncPendingDesc = prometheus.NewDesc("keyrack_sync_channels_pending",
		"Channels with availability changes not delivered yet, by mark: change (bookings, staff edits) or resync (full resyncs).", []string{"mark"}, nil)
	syncOldestDesc = prometheus.NewDesc("keyrack_sync_oldest_pending_seconds",
		"How long the oldest availability change not delivered to a channel yet has waited, by mark (0 when none).", []string{"mark"}, nil)
	feedUnackedDesc = prometheus.NewDesc("keyrack_feed_unacked",
		"Reservation revisions on PMS channels' feeds that the PMS has not acknowledged.", nil, nil)
	feedOldestDesc = prometheus.NewDesc("keyrack_feed_oldest_unacked_seconds",
		"How long the oldest revision a PMS has not acknowledged has waited (0 when none).", nil, nil)
	webhooksPendingDesc = prometheus.NewDesc("keyrack_feed_webhooks_pending",
		"Revisions whose webhook to the PMS has not been answered yet (retried; not those that failed for good).", nil, nil)
	deliveriesDesc = prometheus.NewDesc("keyrack_sync_deliveries_total",
		"Availability pushes the channels took.", nil, nil)
	deliveryFailuresDesc = prometheus.NewDesc("keyrack_sync_delivery_failures_total",
		"Failed availability delivery attempts (each is retried).", nil, nil)
	deadLetteredDesc = prometheus.NewDesc("keyrack_sync_channels_dead_lettered",
		"Channels whose last delivery ran out of retries (listed on the alerts page, retried from there).", nil, nil)
	pullOldestDesc = prometheus.NewDesc("keyrack_pull_oldest_seconds",
		"How long ago the enabled pull-mode OTA channel polled least recently was last polled with success (since it was made, if never; 0 when none): above a few poll intervals its bookings are not reaching keyrack — it fails, or no scheduler leads.", nil, nil)
	schedulerUnledDesc = prometheus.NewDesc("keyrack_scheduler_unled_seconds",
		"How long no scheduler has led: 0 while one leads (or there is no property), else since the leader last recorded that it led, which it does every minute (or since the first property was made, if later). Above a few minutes, the nightly resync, the polls of pull-mode OTAs and the checks that raise alerts are not done.", nil, nil)
)

// backlogCollector reads the fan-out's backlog at each scrape.
type backlogCollector struct{ fanout *sync.Fanout }

func (c *backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{outboxPendingDesc, outboxOldestDesc, syncPendingDesc, syncOldestDesc,
		feedUnackedDesc, feedOldestDesc, webhooksPendingDesc, deliveriesDesc, deliveryFailuresDesc, deadLetteredDesc, pullOldestDesc,
		schedulerUnledDesc} {
		ch <- d
	}
}

func (c *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b, err := c.fanout.Backlog(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(outboxPendingDesc, err)
		return
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, topic := range sync.BacklogTopics {
		gauge(outboxPendingDesc, float64(b.OutboxPending[topic]), topic)
		gauge(outboxOldestDesc, b.OutboxOldest[topic].Seconds(), topic)
	}
	for _, mark := range sync.BacklogMarks {
		gauge(syncPendingDesc, float64(b.ChannelsPending[mark]), mark)
		gauge(syncOldestDesc, b.OldestPending[mark].Seconds(), mark)
	}
	gauge(feedUnackedDesc, float64(b.FeedUnacked))
	gauge(feedOldestDesc, b.FeedOldestUnacked.Seconds())
	gauge(webhooksPendingDesc, float64(b.WebhooksPending))
	ch <- prometheus.MustNewConstMetric(deliveriesDesc, prometheus.CounterValue, float64(b.Deliveries))
	ch <- prometheus.MustNewConstMetric(deliveryFailuresDesc, prometheus.CounterValue, float64(b.Failures))
	gauge(deadLetteredDesc, float64(b.DeadLettered))
	gauge(pullOldestDesc, b.PullOldest.Seconds())
	gauge(schedulerUnledDesc, b.SchedulerUnled.Seconds())
}

// incidentCollector reads the open incidents at each scrape.
type incidentCollector struct{ store *inventory.Store }

func (c *incidentCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- incidentsOpenDesc
	ch <- icalStaleDesc
}

func (c *incidentCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := c.store.OpenIncidentCounts(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(incidentsOpenDesc, err)
		return
	}
	for kind, n := range counts {
		ch <- prometheus.MustNewConstMetric(incidentsOpenDesc, prometheus.GaugeValue, float64(n), kind)
	}
	ch <- prometheus.MustNewConstMetric(icalStaleDesc, prometheus.GaugeValue, float64(counts["stale_feed"]))
}
