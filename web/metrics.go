package web

import (
	"context"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/keyrack/keyrack/inventory"
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
		"Open incidents, by kind: overbooking, unmapped_booking, unacked_revision, webhook_failed, stale_feed, stale_export.", []string{"kind"}, nil)
	icalStaleDesc = prometheus.NewDesc("keyrack_ical_feeds_stale",
		"iCal feeds flagged stale: no good fetch for longer than KEYRACK_ICAL_STALE_AFTER.", nil, nil)
)

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
