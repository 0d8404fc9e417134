package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus/bustest"
)

// The readiness probe answers 200 while the bus is healthy and 503 with
// the reason once the broker is gone.
func TestReadinessProbeFollowsTheBus(t *testing.T) {
	t.Parallel()
	srv := bustest.NewServer(t)
	b := bustest.Connect(t, srv)
	probe := func() *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		readyHandler(b)(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		return rec
	}
	require.Equal(t, http.StatusOK, probe().Code)
	srv.Shutdown()
	require.Eventually(t, func() bool { return probe().Code == http.StatusServiceUnavailable }, 30*time.Second, 50*time.Millisecond)
	require.Contains(t, probe().Body.String(), "unhealthy")
}
