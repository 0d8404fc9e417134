// Package topics holds the typed topics of the signup example: a constant
// per topic name, a payload struct per topic and a typed
// topic.Command/topic.Event for each, ready for bus.Send, bus.Publish,
// bus.HandleCommand and bus.Subscribe.
//
// Everything except this file is generated from ../catalog.yaml by
// `go generate ./...`; edit the catalog, not topics.go.
package topics

//go:generate go run github.com/choreo-bus/choreo/cmd/choreo gen go -catalog ../catalog.yaml -out topics.go
