package otelchoreo

import (
	"context"
	"sync"
	"time"
	"weak"

	"go.opentelemetry.io/otel/metric"

	"github.com/choreo-bus/choreo/bus"
)

// lagReadTimeout bounds one refresh of the lag gauges: a collection does
// not wait longer for a server that does not answer.
const lagReadTimeout = 5 * time.Second

// lagObserver reports, for each running subscription of the instrumented
// buses, the consumer's pending messages (its group's lag: stored, not yet
// delivered) and the messages awaiting acknowledgement, as the server
// counts them. It reads them when a metric reader collects and the last
// read is older than the interval: one consumer-info request per
// subscription, and none at all while nobody collects.
type lagObserver struct {
	interval            time.Duration
	describe            func(stream, consumer string) *consumer
	pending, ackPending metric.Int64ObservableGauge

	// busesMu guards buses alone, so that a bus being made (add) never
	// waits for a refresh that is talking to the server.
	busesMu sync.Mutex
	// buses are held weakly: a bus that was closed and dropped by the
	// program leaves the list instead of being kept alive by a gauge.
	buses []weak.Pointer[bus.Bus]
	fresh bool // a bus was added since the last refresh

	mu     sync.Mutex // guards read and values, and serializes refreshes
	read   time.Time  // when values were read; zero: never
	values []lagValue
}

type lagValue struct {
	c                   *consumer
	pending, ackPending int64
}

func newLagObserver(meter metric.Meter, interval time.Duration, describe func(stream, consumer string) *consumer) *lagObserver {
	l := &lagObserver{interval: interval, describe: describe}
	var err error
	l.pending, err = meter.Int64ObservableGauge("choreo.consumer.pending",
		metric.WithUnit("{message}"),
		metric.WithDescription("Messages of the consumer's topic stored but not yet delivered to its group: the group's lag."))
	handle(err)
	l.ackPending, err = meter.Int64ObservableGauge("choreo.consumer.ack_pending",
		metric.WithUnit("{message}"),
		metric.WithDescription("Messages delivered to the consumer's group and awaiting acknowledgement."))
	handle(err)
	_, err = meter.RegisterCallback(l.observe, l.pending, l.ackPending)
	handle(err)
	return l
}

// add starts observing b's subscriptions; it is the bus's Open hook.
func (l *lagObserver) add(b *bus.Bus) {
	l.busesMu.Lock()
	defer l.busesMu.Unlock()
	l.buses = append(l.buses, weak.Make(b))
	l.fresh = true
}

// live returns the buses still in use, dropping the collected ones, and
// whether one was added since the last call.
func (l *lagObserver) live() ([]*bus.Bus, bool) {
	l.busesMu.Lock()
	defer l.busesMu.Unlock()
	out := make([]*bus.Bus, 0, len(l.buses))
	kept := l.buses[:0]
	for _, wp := range l.buses {
		if b := wp.Value(); b != nil {
			out = append(out, b)
			kept = append(kept, wp)
		}
	}
	clear(l.buses[len(kept):])
	l.buses = kept
	fresh := l.fresh
	l.fresh = false
	return out, fresh
}

func (l *lagObserver) observe(ctx context.Context, o metric.Observer) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	buses, fresh := l.live()
	if fresh || l.read.IsZero() || time.Since(l.read) >= l.interval {
		l.refresh(ctx, buses)
	}
	for _, v := range l.values {
		o.ObserveInt64(l.pending, v.pending, v.c.lagMeasure...)
		o.ObserveInt64(l.ackPending, v.ackPending, v.c.lagMeasure...)
	}
	return nil
}

// refresh reads the consumer info of every running subscription. A
// consumer that cannot be read now (server away) is left out until the
// next refresh rather than reported with old figures.
func (l *lagObserver) refresh(ctx context.Context, buses []*bus.Bus) {
	ctx, cancel := context.WithTimeout(ctx, lagReadTimeout)
	defer cancel()
	l.values = l.values[:0]
	seen := make(map[[2]string]bool)
	for _, b := range buses {
		for _, s := range b.Subscriptions() {
			key := [2]string{s.Stream(), s.Consumer()}
			if seen[key] { // two buses of one process in the same group
				continue
			}
			seen[key] = true
			c, err := b.JetStream().Consumer(ctx, s.Stream(), s.Consumer())
			if err != nil {
				b.Logger().Debug("choreo: cannot read consumer info for the lag gauges; left out of this collection",
					"consumer", s.Consumer(), "error", err)
				continue
			}
			info := c.CachedInfo()
			l.values = append(l.values, lagValue{
				c:          l.describe(s.Stream(), s.Consumer()),
				pending:    int64(info.NumPending),
				ackPending: int64(info.NumAckPending),
			})
		}
	}
	l.read = time.Now()
}
