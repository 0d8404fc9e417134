package idempotency_test

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/choreo-bus/choreo/embedded"
)

// startJetStream starts an embedded server for tb and returns a JetStream
// handle on a connection closed with tb.
func startJetStream(tb testing.TB) (jetstream.JetStream, *embedded.Server) {
	tb.Helper()
	srv, err := embedded.Start(context.Background())
	if err != nil {
		tb.Fatalf("start embedded server: %v", err)
	}
	tb.Cleanup(srv.Shutdown)
	return connectJetStream(tb, srv.ClientURL()), srv
}

func connectJetStream(tb testing.TB, url string) jetstream.JetStream {
	tb.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		tb.Fatalf("connect to %s: %v", url, err)
	}
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatalf("jetstream: %v", err)
	}
	return js
}
