package unanswered

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestRetryAsksAgainOnlyWhenUnanswered(t *testing.T) {
	const attempts = 4
	unanswered := fmt.Errorf("choreo/bus: creating stream EVT_order: %w", context.DeadlineExceeded)
	refused := errors.New("stream name already in use with a different configuration")
	for _, c := range []struct {
		name    string
		answers []error // what each attempt returns; the last repeats
		calls   int
		want    error
	}{
		{"answered at once", []error{nil}, 1, nil},
		{"answered the second time", []error{unanswered, nil}, 2, nil},
		{"refused: not asked again", []error{refused}, 1, refused},
		{"never answered: gives up", []error{unanswered}, attempts, context.DeadlineExceeded},
	} {
		t.Run(c.name, func(t *testing.T) {
			calls := 0
			err := Retry(context.Background(), time.Minute, attempts, func(ctx context.Context) error {
				if _, ok := ctx.Deadline(); !ok {
					t.Error("an attempt has no deadline of its own")
				}
				calls++
				return c.answers[min(calls, len(c.answers))-1]
			})
			if calls != c.calls {
				t.Errorf("%d attempts, want %d", calls, c.calls)
			}
			if !errors.Is(err, c.want) && !(c.want == nil && err == nil) {
				t.Errorf("err = %v, want %v", err, c.want)
			}
		})
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := 0
	_ = Retry(ctx, time.Minute, attempts, func(context.Context) error { calls++; return unanswered })
	if calls != 1 {
		t.Errorf("%d attempts after the caller's ctx ended, want 1", calls)
	}
}
