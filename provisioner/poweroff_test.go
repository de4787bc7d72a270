package provisioner

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// quickWatch makes the watcher's clock short for a test. Not parallel: the
// settings are the package's.
func quickWatch(t *testing.T) {
	t.Helper()
	o, e, p := offFor, probeEvery, probeTimeout
	offFor, probeEvery, probeTimeout = 300*time.Millisecond, 50*time.Millisecond, 200*time.Millisecond
	t.Cleanup(func() { offFor, probeEvery, probeTimeout = o, e, p })
}

// endpoint is a stand-in WinRM listener of a generalising machine: it
// takes connections (and answers every request with 401 and no body, as
// the threads record), until srv.Close closes it, as a machine that powers
// off does; tls serves it over TLS, as an HTTPS listener does.
type endpoint struct {
	srv  *httptest.Server
	mu   sync.Mutex
	hits int
}

func newEndpoint(t *testing.T, tls bool) *endpoint {
	e := &endpoint{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.hits++
		e.mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
	})
	if tls {
		e.srv = httptest.NewTLSServer(h)
	} else {
		e.srv = httptest.NewServer(h)
	}
	t.Cleanup(e.srv.Close)
	return e
}

func (e *endpoint) hostPort(t *testing.T) (string, int) {
	host, port, err := net.SplitHostPort(e.srv.Listener.Addr().String())
	require.NoError(t, err)
	n, _ := strconv.Atoi(port)
	return host, n
}

func TestWaitForPowerOff(t *testing.T) {
	quickWatch(t)
	for _, tls := range []bool{false, true} {
		t.Run("tls="+strconv.FormatBool(tls), func(t *testing.T) {
			e := newEndpoint(t, tls)
			host, port := e.hostPort(t)
			go func() { time.Sleep(400 * time.Millisecond); e.srv.Close() }()
			ui := &recordingUi{}
			started := time.Now()
			require.NoError(t, waitForPowerOff(t.Context(), ui, host, port, 10*time.Second))
			took := time.Since(started)
			assert.GreaterOrEqual(t, took, 700*time.Millisecond, "up for 400ms, then silent for offFor (300ms)")
			assert.Less(t, took, 3*time.Second)
			assert.Contains(t, ui.all(), "ami-harden: the machine powered itself off")
			e.mu.Lock()
			assert.Zero(t, e.hits, "the watcher only connects: it sends WinRM nothing")
			e.mu.Unlock()
		})
	}
}

// A machine that stays up (Sysprep failed: it answers 401 for ever) fails
// the build at power_off_timeout, saying where to look.
func TestWaitForPowerOffStaysUp(t *testing.T) {
	quickWatch(t)
	host, port := newEndpoint(t, false).hostPort(t)
	err := waitForPowerOff(t.Context(), &recordingUi{}, host, port, time.Second)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "did not power itself off within power_off_timeout (1s)")
	assert.Contains(t, err.Error(), "Application event log (source ami-harden)")
}

// An endpoint silent from the first look cannot be watched from here: that
// is not a power-off.
func TestWaitForPowerOffUnseen(t *testing.T) {
	quickWatch(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().(*net.TCPAddr)
	require.NoError(t, ln.Close())
	err = waitForPowerOff(t.Context(), &recordingUi{}, "127.0.0.1", addr.Port, 10*time.Second)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "did not answer from the start")

	err = waitForPowerOff(t.Context(), &recordingUi{}, "", 0, time.Second)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "host and port are unknown")
}

// A WinRM service that restarts (silent for less than offFor) is not a
// power-off.
func TestWaitForPowerOffRestartIsNotOff(t *testing.T) {
	quickWatch(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusUnauthorized) })
	first := &http.Server{Handler: h, ReadHeaderTimeout: time.Second}
	go func() { _ = first.Serve(ln) }()
	go func() {
		time.Sleep(200 * time.Millisecond)
		_ = first.Close()
		time.Sleep(150 * time.Millisecond) // silent for less than offFor
		ln2, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			return
		}
		second := &http.Server{Handler: h, ReadHeaderTimeout: time.Second}
		t.Cleanup(func() { _ = second.Close() })
		_ = second.Serve(ln2)
	}()
	err = waitForPowerOff(t.Context(), &recordingUi{}, "127.0.0.1", port, 1500*time.Millisecond)
	require.Error(t, err, "back up after a short silence: still up at the deadline")
	assert.Contains(t, err.Error(), "did not power itself off")
}

func TestPortOf(t *testing.T) {
	for _, v := range []interface{}{5986, int64(5986), float64(5986), "5986"} {
		assert.Equal(t, 5986, portOf(v))
	}
	assert.Equal(t, 0, portOf(nil))
}
