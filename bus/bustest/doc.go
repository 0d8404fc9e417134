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
// For several services (several buses) on one server, start the server with
// NewServer and connect each bus with Connect.
package bustest
