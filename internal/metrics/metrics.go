// Package metrics defines Herald's Prometheus metrics on a registry owned by
// one server (no global registry).
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds every collector of one server.
type Metrics struct {
	reg *prometheus.Registry

	// Sends counts send requests by result: "accepted", "validated"
	// (validate_only), or the FCM error code of a refusal.
	Sends *prometheus.CounterVec
	// Deliveries counts messages written to device connections.
	Deliveries prometheus.Counter
	// Acks counts ack frames' entries received from devices.
	Acks prometheus.Counter
	// Fates counts messages that ended without delivery, by fate:
	// "expired", "collapsed", "dropped" (pending limit), "ttl_zero_offline".
	Fates *prometheus.CounterVec
	// Connected is the number of device sessions.
	Connected prometheus.Gauge
	// StoreSeconds observes store operation latency by operation.
	StoreSeconds *prometheus.HistogramVec
	// SendSeconds observes the send API's latency (accept to answer).
	SendSeconds prometheus.Histogram
	// SendRefusals counts sends refused by a limit: "project",
	// "device_minute", "device_hour" (429) or "in_flight" (503).
	SendRefusals *prometheus.CounterVec
	// SendsInFlight is the number of sends waiting for the durable write.
	SendsInFlight prometheus.Gauge
	// HTTPRequests counts HTTP requests by protocol ("HTTP/1.1",
	// "HTTP/2.0"), as counted by CountProtocols.
	HTTPRequests *prometheus.CounterVec
	// RelayDeliveries counts the relay's vendor calls by platform
	// ("webpush", "apns", "fcm") and result: "delivered", "retry",
	// "expired" (given up at its expiry), "unregistered", "credentials",
	// "rejected", "failed".
	RelayDeliveries *prometheus.CounterVec
	// RelayBacklog is the number of vendor registrations the relay has
	// work for, by platform: queued, being served, or waiting to retry.
	RelayBacklog *prometheus.GaugeVec
}

// New creates the collectors on a fresh registry, with Go runtime and
// process collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		Sends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_sends_total", Help: "Send API requests by result (accepted, validated, or the FCM error code).",
		}, []string{"result"}),
		Deliveries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "herald_deliveries_total", Help: "Messages written to device connections.",
		}),
		Acks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "herald_acks_total", Help: "Acknowledgements received from devices.",
		}),
		Fates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_messages_undelivered_total", Help: "Messages that ended without delivery, by fate (expired, collapsed, dropped, ttl_zero_offline).",
		}, []string{"fate"}),
		Connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "herald_connected_devices", Help: "Device sessions currently connected.",
		}),
		StoreSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "herald_store_operation_seconds", Help: "Store operation latency.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}, []string{"op"}),
		SendSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "herald_send_seconds", Help: "Send API latency from request to answer (durable acceptance included).",
			Buckets: []float64{.00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}),
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_http_requests_total", Help: "HTTP requests by protocol (HTTP/1.1, HTTP/2.0).",
		}, []string{"proto"}),
	}
	m.reg.MustRegister(m.Sends, m.Deliveries, m.Acks, m.Fates, m.Connected, m.StoreSeconds, m.SendSeconds, m.HTTPRequests,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.SendRefusals = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "herald_send_refusals_total", Help: "Sends refused by a limit: project, device_minute, device_hour (429) or in_flight (503).",
	}, []string{"limit"})
	m.SendsInFlight = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "herald_sends_in_flight", Help: "Sends waiting for the durable write.",
	})
	m.reg.MustRegister(m.SendRefusals, m.SendsInFlight)
	m.RelayDeliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "herald_relay_deliveries_total",
		Help: "Vendor calls of the relay by platform and result (delivered, retry, expired, unregistered, credentials, rejected, failed).",
	}, []string{"platform", "result"})
	m.RelayBacklog = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "herald_relay_backlog",
		Help: "Vendor registrations the relay has work for (queued, being served or waiting to retry), by platform.",
	}, []string{"platform"})
	m.reg.MustRegister(m.RelayDeliveries, m.RelayBacklog)
	return m
}

// CountProtocols counts every request that h serves in HTTPRequests, by
// the protocol the client spoke.
func (m *Metrics) CountProtocols(h http.Handler) http.Handler {
	h1 := m.HTTPRequests.WithLabelValues("HTTP/1.1")
	h2 := m.HTTPRequests.WithLabelValues("HTTP/2.0")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.ProtoMajor == 2:
			h2.Inc()
		case r.ProtoMajor == 1 && r.ProtoMinor == 1:
			h1.Inc()
		default:
			m.HTTPRequests.WithLabelValues(r.Proto).Inc()
		}
		h.ServeHTTP(w, r)
	})
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
