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

	mu sync.Mutex
	// buses are held weakly: a bus that was closed and dropped by the
	// program leaves the list instead of being kept alive by a gauge.
	buses  []weak.Pointer[bus.Bus]
	read   time.Time // of the values; zero: read at the next collection
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
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buses = append(l.buses, weak.Make(b))
	l.read = time.Time{}
}

func (l *lagObserver) observe(ctx context.Context, o metric.Observer) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.read.IsZero() || time.Since(l.read) >= l.interval {
		l.refresh(ctx)
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
func (l *lagObserver) refresh(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, lagReadTimeout)
	defer cancel()
	l.values = l.values[:0]
	seen := make(map[[2]string]bool)
	live := l.buses[:0]
	for _, wp := range l.buses {
		b := wp.Value()
		if b == nil {
			continue
		}
		live = append(live, wp)
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
	clear(l.buses[len(live):])
	l.buses = live
	l.read = time.Now()
}
