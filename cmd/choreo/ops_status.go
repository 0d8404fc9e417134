package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/choreo-bus/choreo/bus"
)

const statusHelp = `
Usage: choreo status [-window 5s] [-target 10s] [-per-instance RATE] [-watch]

Watches the namespace for one window and prints, per stream, its messages,
size, last message and arrival rate, and per consumer group on each topic:

	PENDING      messages not yet delivered, and delivered but not yet
	             acknowledged (the lag), with its change over the window
	ACK-PENDING  delivered and not yet acknowledged
	REDELIVERED  being retried
	DEAD         dead letters of the group on that topic
	LAST ACTIVE  when the group last delivered or acknowledged a message
	IN/s DONE/s  arrivals and finished messages per second in the window
	INSTANCES    instances pulling (pull requests open on the server)
	NEEDED       instances that would finish the lag within -target while
	             keeping up with arrivals: ceil((IN/s + PENDING/target) / rate
	             per instance), the rate per instance being DONE/s / INSTANCES
	             as observed, or -per-instance when given
	STATE        idle, ok, behind (NEEDED > INSTANCES), or stuck: a lag and
	             nothing finished in the window

-watch repeats every window until Ctrl+C and remembers each group's last
observed rate per instance, so a stopped group still gets a recommendation.

Kubernetes: KEDA's nats-jetstream scaler scales a deployment on the same
signal. It reads a consumer's pending messages from the server's monitoring
endpoint (/jsz) and asks for ceil(pending / lagThreshold) replicas; set
stream and consumer to STREAM and the consumer name (group__topic) and
lagThreshold to rate per instance x target, which -json reports as
keda_lag_threshold.

-json prints one object per stream and per consumer and window, told apart
by "type". Streams: type "stream", time, stream, kind, messages, bytes,
last_message, arrival_rate. Consumers: type "consumer", time,
window_seconds, stream, consumer, group, kind, topic, pending,
pending_change, ack_pending, redelivered, dead_letters, last_active,
arrival_rate, processing_rate, instances, per_instance_rate, rate_source
(observed, flag, learned or empty), target_seconds, recommended_instances
and keda_lag_threshold (absent without a rate), state, note.

Examples:

	choreo status
	choreo status -watch -window 10s -target 30s
	choreo status -json | jq 'select(.state == "stuck")'
`

// statusStreamJSON is a stream line of 'status -json'.
type statusStreamJSON struct {
	Type        string     `json:"type"`
	Time        time.Time  `json:"time"`
	Stream      string     `json:"stream"`
	Kind        string     `json:"kind"`
	Messages    uint64     `json:"messages"`
	Bytes       uint64     `json:"bytes"`
	LastMessage *time.Time `json:"last_message,omitempty"`
	ArrivalRate float64    `json:"arrival_rate"`
}

// statusConsumerJSON is a consumer line of 'status -json'.
type statusConsumerJSON struct {
	Type             string     `json:"type"`
	Time             time.Time  `json:"time"`
	WindowSeconds    float64    `json:"window_seconds"`
	Stream           string     `json:"stream"`
	Consumer         string     `json:"consumer"`
	Group            string     `json:"group"`
	Kind             string     `json:"kind"`
	Topic            string     `json:"topic,omitempty"`
	Pending          uint64     `json:"pending"`
	PendingChange    int64      `json:"pending_change"`
	AckPending       int        `json:"ack_pending"`
	Redelivered      int        `json:"redelivered"`
	DeadLetters      int        `json:"dead_letters"`
	LastActive       *time.Time `json:"last_active,omitempty"`
	ArrivalRate      float64    `json:"arrival_rate"`
	ProcessingRate   float64    `json:"processing_rate"`
	Instances        int        `json:"instances"`
	PerInstanceRate  float64    `json:"per_instance_rate"`
	RateSource       string     `json:"rate_source"`
	TargetSeconds    float64    `json:"target_seconds"`
	Recommended      *int       `json:"recommended_instances,omitempty"`
	KEDALagThreshold *int       `json:"keda_lag_threshold,omitempty"`
	State            string     `json:"state"`
	Note             string     `json:"note,omitempty"`
}

// statusRun holds what status remembers between windows of -watch.
type statusRun struct {
	o           *opsCommand
	b           *bus.Bus
	window      time.Duration
	target      time.Duration
	perInstance float64
	learned     map[string]float64 // rate per instance last observed, by stream/consumer
}

func (c *cli) status(ctx context.Context, args []string) int {
	o := c.newOps("choreo status")
	window := o.fs.Duration("window", 5*time.Second, "how long to observe the rates")
	target := o.fs.Duration("target", 10*time.Second, "the lag each group should be able to finish within")
	perInstance := o.fs.Float64("per-instance", 0, "messages per second one instance handles (default: as observed)")
	watch := o.fs.Bool("watch", false, "repeat every window until interrupted")
	if _, code, ok := o.parse(statusHelp, args, 0, 0); !ok {
		return code
	}
	switch {
	case *window < 100*time.Millisecond:
		return o.usage("-window %s: use at least 100ms", *window)
	case *target <= 0:
		return o.usage("-target %s: use a positive duration such as 10s", *target)
	case *perInstance < 0 || math.IsNaN(*perInstance) || math.IsInf(*perInstance, 0):
		return o.usage("-per-instance %v: use a positive rate in messages per second, or 0 to observe it", *perInstance)
	}
	if *watch {
		var stop context.CancelFunc
		ctx, stop = interruptible(ctx)
		defer stop()
	}
	b := o.connect(ctx)
	if b == nil {
		return exitFail
	}
	defer closeBus(b)
	r := &statusRun{o: o, b: b, window: *window, target: *target, perInstance: *perInstance, learned: map[string]float64{}}
	for {
		m, err := measure(ctx, b, r.window, o.conn.timeout)
		if err != nil {
			if *watch && errors.Is(err, context.Canceled) && ctx.Err() != nil {
				return exitOK // Ctrl+C ends -watch
			}
			return o.fail(err)
		}
		if err := r.print(m); err != nil {
			return o.fail(err)
		}
		if !*watch {
			return exitOK
		}
	}
}

// consumerStatus works out one consumer's line.
func (r *statusRun) consumerStatus(m *measurement, gc groupConsumer) statusConsumerJSON {
	key := gc.Stream + "/" + gc.Name
	rate := m.rateOf(gc)
	s := statusConsumerJSON{
		Type: "consumer", Time: m.at.UTC(), WindowSeconds: round2(m.window.Seconds()),
		Stream: gc.Stream, Consumer: gc.Name, Group: gc.Group, Kind: gc.Kind.String(), Topic: gc.Topic,
		Pending: gc.backlog(), PendingChange: rate.pendingChange, AckPending: gc.Info.NumAckPending,
		Redelivered: gc.Info.NumRedelivered, DeadLetters: m.deadLetters[key], LastActive: optionalTime(gc.lastActive()),
		ArrivalRate: round2(rate.arrivalRate), ProcessingRate: round2(rate.processingRate), Instances: rate.instances,
		TargetSeconds: r.target.Seconds(),
	}
	switch {
	case r.perInstance > 0:
		s.PerInstanceRate, s.RateSource = r.perInstance, "flag"
	case rate.processed > 0:
		s.PerInstanceRate, s.RateSource = rate.processingRate/float64(rate.instances), "observed"
		r.learned[key] = s.PerInstanceRate
	case r.learned[key] > 0:
		s.PerInstanceRate, s.RateSource = r.learned[key], "learned"
	}
	s.PerInstanceRate = round2(s.PerInstanceRate)
	if n, ok := recommendation(s.Pending, rate.arrivalRate, s.PerInstanceRate, r.target); ok {
		s.Recommended = &n
	}
	if s.PerInstanceRate > 0 {
		lag := max(1, int(math.Round(s.PerInstanceRate*r.target.Seconds())))
		s.KEDALagThreshold = &lag
	}
	s.State, s.Note = stateOf(s, rate)
	return s
}

// stateOf sums a consumer's line up in a word, with why.
func stateOf(s statusConsumerJSON, rate groupRate) (state, note string) {
	switch {
	case !rate.known:
		return "new", "created during the window; rates next time"
	case s.Pending > 0 && rate.processed == 0:
		trend := "not shrinking"
		if s.PendingChange > 0 {
			trend = fmt.Sprintf("growing (+%d)", s.PendingChange)
		}
		if s.Instances == 0 {
			return "stuck", fmt.Sprintf("lag %s and no instance pulling: start one", trend)
		}
		return "stuck", fmt.Sprintf("lag %s and nothing finished: handlers hanging or failing (see REDELIVERED, DEAD)", trend)
	case s.Pending == 0 && rate.arrived == 0:
		return "idle", ""
	case s.Recommended == nil:
		return "ok", "no rate per instance observed yet"
	case *s.Recommended > s.Instances:
		return "behind", fmt.Sprintf("scale to %d instances to finish the lag within %s", *s.Recommended, time.Duration(s.TargetSeconds*float64(time.Second)))
	}
	return "ok", ""
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// print writes one window.
func (r *statusRun) print(m *measurement) error {
	o := r.o
	var streamLines []statusStreamJSON
	var lines []statusConsumerJSON
	for _, s := range m.streams {
		arrived := 0
		for subject, n := range m.arrived {
			if subjectInStream(subject, s.Info.Config.Subjects) {
				arrived += n
			}
		}
		streamLines = append(streamLines, statusStreamJSON{
			Type: "stream", Time: m.at.UTC(), Stream: s.Name, Kind: s.Kind.String(),
			Messages: s.Info.State.Msgs, Bytes: s.Info.State.Bytes, LastMessage: optionalTime(s.Info.State.LastTime),
			ArrivalRate: round2(float64(arrived) / m.window.Seconds()),
		})
		for _, gc := range s.Consumers {
			lines = append(lines, r.consumerStatus(m, gc))
		}
	}
	if o.conn.json {
		for _, l := range streamLines {
			if err := o.emit(l); err != nil {
				return err
			}
		}
		for _, l := range lines {
			if err := o.emit(l); err != nil {
				return err
			}
		}
		return nil
	}
	o.printf("%s, over %s%s\n\n", m.at.Local().Format("15:04:05"), m.window.Round(time.Millisecond), inNamespace(r.b.Namespace()))
	if len(streamLines) == 0 {
		o.printf("no topic streams yet\n")
		return nil
	}
	tw := tabwriter.NewWriter(o.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STREAM\tKIND\tMESSAGES\tSIZE\tLAST MESSAGE\tIN/s")
	for _, s := range streamLines {
		last := "never"
		if s.LastMessage != nil {
			last = ago(*s.LastMessage)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%.1f\n", s.Stream, s.Kind, s.Messages, bytesText(s.Bytes), last, s.ArrivalRate)
	}
	tw.Flush()
	o.printf("\n")
	tw = tabwriter.NewWriter(o.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tTOPIC\tPENDING\tACK-PENDING\tREDELIVERED\tDEAD\tLAST ACTIVE\tIN/s\tDONE/s\tINSTANCES\tNEEDED\tSTATE")
	var notes []string
	for _, l := range lines {
		last, needed := "never", "?"
		if l.LastActive != nil {
			last = ago(*l.LastActive)
		}
		if l.Recommended != nil {
			needed = fmt.Sprint(*l.Recommended)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d (%+d)\t%d\t%d\t%d\t%s\t%.1f\t%.1f\t%d\t%s\t%s\n", l.Group, orDash(l.Topic), l.Pending, l.PendingChange,
			l.AckPending, l.Redelivered, l.DeadLetters, last, l.ArrivalRate, l.ProcessingRate, l.Instances, needed, l.State)
		if l.Note != "" {
			notes = append(notes, fmt.Sprintf("  %s: %s", l.Consumer, l.Note))
		}
	}
	tw.Flush()
	if len(notes) > 0 {
		o.printf("\n%s\n", strings.Join(notes, "\n"))
	}
	o.printf("\n")
	return nil
}

// subjectInStream reports whether a topic subject belongs to a stream with
// the given subject filters ("cmd.*.user.>").
func subjectInStream(subject string, filters []string) bool {
	for _, f := range filters {
		if subjectMatches(f, subject) {
			return true
		}
	}
	return false
}

// subjectMatches matches a subject against a NATS filter with * and >.
func subjectMatches(filter, subject string) bool {
	ft, st := strings.Split(filter, "."), strings.Split(subject, ".")
	for i, f := range ft {
		if f == ">" {
			return len(st) > i
		}
		if i >= len(st) || f != "*" && f != st[i] {
			return false
		}
	}
	return len(ft) == len(st)
}

// bytesText is a size for a reader.
func bytesText(n uint64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%dB", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1fKiB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1fMiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1fGiB", float64(n)/(1<<30))
}
