package main

import (
	"context"
	"net/http"
	"time"

	"github.com/choreo-bus/choreo/bus"
)

// readyHandler answers a readiness probe (Kubernetes' readinessProbe, a
// load balancer's health check) from b.Health: 200 when the bus is
// connected and every subscription consumes, 503 with the reason
// otherwise. A probe must answer fast, so the check gets two seconds.
func readyHandler(b *bus.Bus) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := b.Health(ctx); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	}
}

// liveHandler answers a liveness probe: the process serves requests. It
// does not ask the bus, so a broker outage makes the service unready (no
// traffic) without getting it restarted, which would not help.
func liveHandler(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) }
