// Command signup runs the user-signup choreography of choreo: web sends
// the command v1.user.signup; accounts creates the user and publishes the
// event v1.user.signedup; email (welcome email, then v1.email.welcome.sent)
// and metrics (a sign-up count) react to it. No service calls another.
//
// With no flags it runs everything in one process, on a JetStream server of
// its own, and checks the outcome:
//
//	go run ./examples/signup
//
// With -trace it also prints one signup's OpenTelemetry trace as a tree,
// and with -metrics ADDR it serves the messaging metrics for Prometheus
// (and prints them at the end):
//
//	go run ./examples/signup -trace -metrics localhost:9464
//
// With -service it runs one service against a NATS server with JetStream,
// so that each can run in its own terminal, as separate microservices:
//
//	go run ./cmd/choreo dev                      # or: nats-server -js
//	go run ./examples/signup -service accounts   # in a second terminal
//	go run ./examples/signup -service email      # a third
//	go run ./examples/signup -service metrics    # a fourth
//	go run ./examples/signup -service web        # sends the signups, exits
package main
