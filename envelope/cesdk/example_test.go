package cesdk_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/choreo-bus/choreo/envelope"
	"github.com/choreo-bus/choreo/envelope/cesdk"
)

// ToEvent hands a choreo event to sdk-go, here to serialize it in the JSON
// event format; FromEvent brings it back unchanged.
func Example() {
	e := &envelope.Envelope{
		ID:              "0190f8f0-7c4e-7b8a-9d2e-4f1a2b3c4d5e",
		Source:          "signup-service",
		Type:            "v1.user.signedup",
		Time:            time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC),
		DataContentType: "application/json",
		CorrelationID:   "0190f8f0-7c4d-7000-8000-000000000001",
		Data:            []byte(`{"user_id":"u-1842"}`),
	}
	ev, err := cesdk.ToEvent(e)
	if err != nil {
		fmt.Println(err)
		return
	}
	body, err := json.Marshal(ev)
	if err != nil {
		fmt.Println(err)
		return
	}
	var members map[string]any
	if err := json.Unmarshal(body, &members); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(members["correlationid"], members["data"])

	back, err := cesdk.FromEvent(ev)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(back.CorrelationID == e.CorrelationID, string(back.Data))

	// sdk-go checks what package envelope carries opaquely: here a
	// dataschema that is not an absolute URI.
	_, err = cesdk.ToEvent(&envelope.Envelope{ID: "1", Source: "s", Type: "t", DataSchema: "relative/path"})
	fmt.Println(errors.Is(err, envelope.ErrMalformed))
	// Output:
	// 0190f8f0-7c4d-7000-8000-000000000001 map[user_id:u-1842]
	// true {"user_id":"u-1842"}
	// true
}
