// Package bustest helps users test their services against a real broker: it
// starts an in-process JetStream server per test and gives a ready *bus.Bus,
// both cleaned up when the test ends.
//
//	func TestSignup(t *testing.T) {
//		b := bustest.New(t, bus.WithSource("accounts"))
//		sub, err := bus.HandleCommand(ctx, b, topics.UserSignupV1Command, handle)
//		...
//	}
//
// Collect records the events a service publishes and Wait waits for them;
// WaitDeadLetters waits for what a service refused. Every wait is bounded by
// Timeout and fails the test from the calling line:
//
//	signedUp := bustest.Collect(t, b, topics.UserSignedupV1Event)
//	// ... send the command the service under test handles ...
//	got := signedUp.Wait(1)
//	signedUp.NoMore(1, time.Second)
//
// For several services (several buses) on one server, start the server with
// NewServer and connect each bus with Connect.
package bustest
