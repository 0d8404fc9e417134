package otelchoreo

import (
	"strings"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/topic"
)

// What a message is sent to and received from is known per topic and per
// consumer, not per message: the span names, the span start options and
// the metric attribute sets are built once for each and kept, so that a
// message adds no attribute set of its own to the metrics.

// systemNATS is messaging.system: choreo speaks NATS JetStream, which the
// conventions do not list, so the value is the system's own lower-case
// name, as they ask.
var systemNATS = semconv.MessagingSystemKey.String("nats")

// Attributes choreo adds where the conventions have none.
const (
	// attrAttempt is the delivery attempt, 1 on the first delivery.
	attrAttempt = attribute.Key("choreo.delivery.attempt")
	// attrSettlement is what the bus did with a delivery: ack, retry,
	// dead_letter or release (bus.Decision).
	attrSettlement = attribute.Key("choreo.settlement")
	// attrRetryDelay is when a retried message comes back, in seconds.
	attrRetryDelay = attribute.Key("choreo.retry.delay")
	// attrDeadLetterReason is why a message was dead-lettered, as stored
	// with the dead letter.
	attrDeadLetterReason = attribute.Key("choreo.dead_letter.reason")
)

// measure holds the options of one measurement: an attribute set, ready
// for counters (add) and histograms (record) without allocating.
type measure struct {
	add []metric.AddOption
	rec []metric.RecordOption
}

func newMeasure(kvs ...attribute.KeyValue) *measure {
	o := metric.WithAttributeSet(attribute.NewSet(kvs...))
	return &measure{add: []metric.AddOption{o}, rec: []metric.RecordOption{o}}
}

// lazyMeasure is built on first use; two goroutines may both build it, and
// either result is right.
type lazyMeasure struct{ p atomic.Pointer[measure] }

func (l *lazyMeasure) get(build func() *measure) *measure {
	if m := l.p.Load(); m != nil {
		return m
	}
	m := build()
	l.p.Store(m)
	return m
}

// producer is what is known about sending to one topic.
type producer struct {
	spanName  string
	startOpts []trace.SpanStartOption
	metricKVs []attribute.KeyValue
	sent      [numErrorTypes]lazyMeasure
	duration  [numErrorTypes]lazyMeasure
}

func newProducer(k topic.Kind, n string) *producer {
	op := "publish"
	if k == topic.KindCommand {
		op = "send"
	}
	metricKVs := []attribute.KeyValue{systemNATS, semconv.MessagingOperationName(op), semconv.MessagingDestinationName(n)}
	spanKVs := append(append([]attribute.KeyValue(nil), metricKVs...), semconv.MessagingOperationTypeSend)
	return &producer{
		spanName:  op + " " + n,
		startOpts: []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(spanKVs...)},
		metricKVs: metricKVs,
	}
}

// sentMeasure is the attribute set of messaging.client.sent.messages.
func (p *producer) sentMeasure(et errorType) *measure {
	return p.sent[et].get(func() *measure { return newMeasure(withErrorType(p.metricKVs, et)...) })
}

// durationMeasure is the attribute set of
// messaging.client.operation.duration.
func (p *producer) durationMeasure(et errorType) *measure {
	return p.duration[et].get(func() *measure {
		return newMeasure(withErrorType(append(p.metricKVs[:len(p.metricKVs):len(p.metricKVs)], semconv.MessagingOperationTypeSend), et)...)
	})
}

// consumer is what is known about one subscription's consumer.
type consumer struct {
	stream     string
	isEvent    bool
	spanName   string
	startOpts  []trace.SpanStartOption
	metricKVs  []attribute.KeyValue
	consumed   *measure
	lagMeasure []metric.ObserveOption
	process    [numErrorTypes]lazyMeasure
	settled    [bus.DecisionRelease + 1][numErrorTypes]lazyMeasure
}

// newConsumer describes a consumer from its names. A choreo consumer is
// named "<group>__<topic with '_' for '.'>" (topic.ConsumerName), and a
// topic has no '_' of its own, so both split back; its stream,
// "[ns_]CMD_<entity>" or "[ns_]EVT_<entity>", says whether it reads
// commands or events.
func newConsumer(stream, name string) *consumer {
	group, rest, ok := strings.Cut(name, "__")
	dest := strings.ReplaceAll(rest, "_", ".")
	if !ok || rest == "" { // not a name choreo made: describe it by itself
		group, dest = name, name
	}
	isEvent := false
	if n, err := topic.Parse(dest); err == nil {
		isEvent = strings.HasSuffix(stream, "EVT_"+n.Entity)
	}
	metricKVs := []attribute.KeyValue{
		systemNATS, semconv.MessagingOperationName("process"),
		semconv.MessagingDestinationName(dest), semconv.MessagingConsumerGroupName(group),
		semconv.MessagingDestinationSubscriptionName(name),
	}
	spanKVs := append(append([]attribute.KeyValue(nil), metricKVs...), semconv.MessagingOperationTypeProcess)
	lagSet := attribute.NewSet(systemNATS, semconv.MessagingDestinationName(dest),
		semconv.MessagingConsumerGroupName(group), semconv.MessagingDestinationSubscriptionName(name))
	return &consumer{
		stream:     stream,
		isEvent:    isEvent,
		spanName:   "process " + dest,
		startOpts:  []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(spanKVs...)},
		metricKVs:  metricKVs,
		consumed:   newMeasure(metricKVs...),
		lagMeasure: []metric.ObserveOption{metric.WithAttributeSet(lagSet)},
	}
}

// processMeasure is the attribute set of messaging.process.duration.
func (c *consumer) processMeasure(et errorType) *measure {
	return c.process[et].get(func() *measure { return newMeasure(withErrorType(c.metricKVs, et)...) })
}

// settledMeasure is the attribute set of choreo.messages.settled.
func (c *consumer) settledMeasure(d bus.Decision, et errorType) *measure {
	if d > bus.DecisionRelease {
		d = 0 // a decision this version does not know: counted apart
	}
	return c.settled[d][et].get(func() *measure {
		kvs := append(c.metricKVs[:len(c.metricKVs):len(c.metricKVs)], attrSettlement.String(d.String()))
		return newMeasure(withErrorType(kvs, et)...)
	})
}

// withErrorType returns kvs plus error.type when et is an error, in a new
// slice.
func withErrorType(kvs []attribute.KeyValue, et errorType) []attribute.KeyValue {
	out := append([]attribute.KeyValue(nil), kvs...)
	if et != errNone {
		out = append(out, semconv.ErrorTypeKey.String(errorTypeNames[et]))
	}
	return out
}

// table is a read-mostly map: lookups take no lock and do not allocate;
// adding a key (once per topic or consumer) copies it.
type table[V any] struct {
	mu sync.Mutex
	m  atomic.Pointer[map[string]V]
}

func (t *table[V]) get(key string) (V, bool) {
	if m := t.m.Load(); m != nil {
		v, ok := (*m)[key]
		return v, ok
	}
	var zero V
	return zero, false
}

// add stores v under key unless a value is there already, and returns the
// stored value.
func (t *table[V]) add(key string, v V) V {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.m.Load()
	if old != nil {
		if have, ok := (*old)[key]; ok {
			return have
		}
	}
	n := make(map[string]V, 1)
	if old != nil {
		n = make(map[string]V, len(*old)+1)
		for k, x := range *old {
			n[k] = x
		}
	}
	n[key] = v
	t.m.Store(&n)
	return v
}
