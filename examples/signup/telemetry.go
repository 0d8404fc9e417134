package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprometheus "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/otelchoreo"
)

// telemetry is the OpenTelemetry SDK of the example, set up by -trace and
// -metrics: finished spans are kept in memory, to print one signup's trace
// as a tree; metrics go to a Prometheus registry served at /metrics by the
// OpenTelemetry Prometheus exporter, as a service would expose them.
//
// A service of your own would set the global providers once
// (otel.SetTracerProvider, otel.SetMeterProvider) and connect with
// otelchoreo.Instrument() alone. The example passes its providers
// explicitly instead, so that each run (and each test) keeps its own.
type telemetry struct {
	spans *tracetest.InMemoryExporter // nil without -trace
	tp    *sdktrace.TracerProvider
	mp    *sdkmetric.MeterProvider // nil without -metrics
	srv   *http.Server
	mux   *http.ServeMux // also serves the probes: /livez, and /readyz once the bus exists
	url   string         // of the /metrics endpoint
}

// startTelemetry sets up what cfg asks for; it returns nil when it asks
// for nothing, and a nil *telemetry adds nothing to the buses.
func startTelemetry(cfg config) (*telemetry, error) {
	if !cfg.trace && cfg.metricsAddr == "" {
		return nil, nil
	}
	t := &telemetry{}
	if cfg.trace {
		// A syncer hands each span to the exporter as it ends; a service
		// would batch them (sdktrace.WithBatcher) to an OTLP exporter.
		t.spans = tracetest.NewInMemoryExporter()
		t.tp = sdktrace.NewTracerProvider(sdktrace.WithSyncer(t.spans))
	}
	if cfg.metricsAddr != "" {
		if err := t.serveMetrics(cfg.metricsAddr); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// serveMetrics exposes the metrics for Prometheus at http://addr/metrics.
func (t *telemetry) serveMetrics(addr string) error {
	registry := prometheus.NewRegistry()
	// WithoutScopeInfo keeps the otel_scope_* labels off every series; one
	// instrumentation scope (choreo's) makes them the same on all.
	exporter, err := otelprometheus.New(otelprometheus.WithRegisterer(registry), otelprometheus.WithoutScopeInfo())
	if err != nil {
		return fmt.Errorf("the Prometheus exporter: %w", err)
	}
	t.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("-metrics %s: %w", addr, err)
	}
	t.mux = http.NewServeMux()
	t.mux.Handle("/metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	t.mux.HandleFunc("/livez", liveHandler)
	t.srv = &http.Server{Handler: t.mux, ReadHeaderTimeout: 5 * time.Second}
	t.url = "http://" + l.Addr().String() + "/metrics"
	go func() { // owned: ends when shutdown closes the server
		if err := t.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Println("signup: serving metrics:", err)
		}
	}()
	return nil
}

// serveReady adds the readiness probe of a service's bus, once it exists.
func (t *telemetry) serveReady(b *bus.Bus) {
	if t != nil && t.mux != nil {
		t.mux.Handle("/readyz", readyHandler(b))
	}
}

// busOptions instruments a service's bus with the providers set up.
func (t *telemetry) busOptions() []bus.Option {
	if t == nil {
		return nil
	}
	var opts []otelchoreo.Option
	if t.tp != nil {
		opts = append(opts, otelchoreo.WithTracerProvider(t.tp))
	}
	if t.mp != nil {
		opts = append(opts, otelchoreo.WithMeterProvider(t.mp))
	}
	return []bus.Option{otelchoreo.Instrument(opts...)}
}

// shutdown stops the metrics endpoint and flushes the providers.
func (t *telemetry) shutdown() {
	if t == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if t.srv != nil {
		_ = t.srv.Shutdown(ctx)
	}
	if t.tp != nil {
		_ = t.tp.Shutdown(ctx)
	}
	if t.mp != nil {
		_ = t.mp.Shutdown(ctx)
	}
}

// report prints what -trace and -metrics show at the end of the
// all-in-one run: the trace of the signup whose welcome email was retried,
// and the choreo metrics as Prometheus scrapes them.
func (t *telemetry) report(ctx context.Context, out io.Writer) error {
	if t == nil {
		return nil
	}
	if t.spans != nil {
		if err := printSignupTrace(out, t.spans.GetSpans()); err != nil {
			return err
		}
	}
	if t.url != "" {
		return t.printScrape(ctx, out)
	}
	return nil
}

// printScrape reads the service's own /metrics endpoint and prints the
// counters of messages (sent, consumed, settled by outcome); the
// durations' histograms are there too, but long to read.
func (t *telemetry) printScrape(ctx context.Context, out io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("scraping %s: %w", t.url, err)
	}
	defer resp.Body.Close()
	fmt.Fprintf(out, "\nmessage counters, as Prometheus scrapes them from %s:\n", t.url)
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if (strings.HasPrefix(line, "messaging_") || strings.HasPrefix(line, "choreo_")) && strings.Contains(line, "_total{") {
			fmt.Fprintln(out, "  "+line)
		}
	}
	return sc.Err()
}
