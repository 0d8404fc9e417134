package bus

import (
	"context"
	"errors"
	"testing"
	"time"
)

func newTestHandlerContext(parent context.Context, timeout time.Duration) *handlerContext {
	h := &handlerContext{parent: parent}
	h.delivery.Attempt = 3
	h.setDeadline(time.Now().Add(timeout))
	return h
}

func TestHandlerContextCarriesDeliveryAndParentValues(t *testing.T) {
	type key struct{}
	parent := context.WithValue(context.Background(), key{}, "parent value")
	h := newTestHandlerContext(parent, time.Minute)
	defer h.finish()
	if d := DeliveryFrom(h); d != &h.delivery || d.Attempt != 3 {
		t.Fatalf("DeliveryFrom = %+v, want the context's own delivery", d)
	}
	if got := h.Value(key{}); got != "parent value" {
		t.Fatalf("parent value = %v before Done", got)
	}
	_ = h.Done()
	if got := h.Value(key{}); got != "parent value" {
		t.Fatalf("parent value = %v after Done", got)
	}
	if d := DeliveryFrom(h); d != &h.delivery {
		t.Fatal("DeliveryFrom lost the delivery after Done")
	}
	if dl, ok := h.Deadline(); !ok || time.Until(dl) < 50*time.Second {
		t.Fatalf("Deadline = %v, %v; want about a minute ahead", dl, ok)
	}
}

func TestHandlerContextDeadline(t *testing.T) {
	for _, doneFirst := range []bool{true, false} {
		h := newTestHandlerContext(context.Background(), 20*time.Millisecond)
		if doneFirst {
			select {
			case <-h.Done():
			case <-time.After(5 * time.Second):
				t.Fatal("Done not closed at the deadline")
			}
		} else {
			time.Sleep(30 * time.Millisecond)
		}
		if err := h.Err(); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("doneFirst=%v: Err = %v, want DeadlineExceeded", doneFirst, err)
		}
		select {
		case <-h.Done():
		default:
			t.Fatalf("doneFirst=%v: Err is set but Done is open", doneFirst)
		}
		h.finish()
		if err := h.Err(); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("doneFirst=%v: after finish Err = %v, want it to stay DeadlineExceeded", doneFirst, err)
		}
	}
}

func TestHandlerContextClippedToParentDeadline(t *testing.T) {
	parent, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	h := newTestHandlerContext(parent, time.Hour)
	defer h.finish()
	pd, _ := parent.Deadline()
	if dl, _ := h.Deadline(); !dl.Equal(pd) {
		t.Fatalf("Deadline = %v, want the parent's %v", dl, pd)
	}
}

func TestHandlerContextParentCancel(t *testing.T) {
	for _, doneFirst := range []bool{true, false} {
		parent, cancel := context.WithCancel(context.Background())
		h := newTestHandlerContext(parent, time.Hour)
		var done <-chan struct{}
		if doneFirst {
			done = h.Done()
		}
		if h.Err() != nil {
			t.Fatalf("Err = %v before anything happened", h.Err())
		}
		cancel()
		if !errors.Is(h.Err(), context.Canceled) {
			t.Fatalf("doneFirst=%v: Err = %v after the parent was canceled", doneFirst, h.Err())
		}
		if done == nil {
			done = h.Done()
		}
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("doneFirst=%v: Done not closed after the parent was canceled", doneFirst)
		}
		h.finish()
	}
}

func TestHandlerContextFinishCancelsLeftovers(t *testing.T) {
	// A goroutine the handler started keeps the ctx; it must see the
	// handler's end whether it asked for Done before or after it.
	before := newTestHandlerContext(context.Background(), time.Hour)
	derived, stop := context.WithCancel(before) // calls Done, hooks on it
	defer stop()
	before.finish()
	select {
	case <-derived.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("a context derived from the handler's ctx outlived the handler")
	}
	if !errors.Is(before.Err(), context.Canceled) {
		t.Fatalf("Err = %v after finish, want Canceled", before.Err())
	}

	after := newTestHandlerContext(context.Background(), time.Hour)
	after.finish()
	if !errors.Is(after.Err(), context.Canceled) {
		t.Fatalf("Err = %v after finish, want Canceled", after.Err())
	}
	select {
	case <-after.Done():
	default:
		t.Fatal("Done asked for after finish is open")
	}
}

func TestHandlerContextCause(t *testing.T) {
	parent, cancel := context.WithCancelCause(context.Background())
	h := newTestHandlerContext(parent, time.Hour)
	defer h.finish()
	cause := errors.New("shutting down")
	cancel(cause)
	<-h.Done()
	if got := context.Cause(h); !errors.Is(got, cause) {
		t.Fatalf("Cause = %v, want the parent's cause", got)
	}
}

func BenchmarkHandlerContext(b *testing.B) {
	parent, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.Run("choreo", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h := &handlerContext{parent: parent}
			h.setDeadline(time.Now().Add(time.Minute))
			_ = DeliveryFrom(h)
			h.finish()
		}
	})
	b.Run("stdlib", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d := &Delivery{}
			ctx, cancel := context.WithDeadline(context.WithValue(parent, deliveryKey{}, d), time.Now().Add(time.Minute))
			_ = DeliveryFrom(ctx)
			cancel()
		}
	})
}

// Once Err has said DeadlineExceeded it keeps saying so, also when the
// parent is cancelled afterwards and whether or not Done was asked for.
func TestHandlerContextErrIsStable(t *testing.T) {
	for _, doneAfter := range []bool{false, true} {
		parent, cancel := context.WithCancel(context.Background())
		h := newTestHandlerContext(parent, time.Millisecond)
		time.Sleep(5 * time.Millisecond)
		if err := h.Err(); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Err = %v past the deadline", err)
		}
		cancel()
		if doneAfter {
			<-h.Done()
		}
		if err := h.Err(); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("doneAfter=%v: Err changed to %v after the parent was cancelled", doneAfter, err)
		}
		h.finish()
		if err := h.Err(); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("doneAfter=%v: Err changed to %v after finish", doneAfter, err)
		}
	}
	// A deadline that passed while the handler ran, never looked at.
	h := newTestHandlerContext(context.Background(), time.Millisecond)
	time.Sleep(5 * time.Millisecond)
	h.finish()
	if err := h.Err(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Err = %v after finish past the deadline, want DeadlineExceeded", err)
	}
	<-h.Done()
}
