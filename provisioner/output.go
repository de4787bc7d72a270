package provisioner

import (
	"bytes"
	"strings"
	"sync"
)

// lineWriter cuts a stream into lines and hands each one, without its line
// end, to emit. Flush hands over a last line that had no line end.
type lineWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	emit func(string)
	seen bool
}

// Seen tells whether any output arrived.
func (w *lineWriter) Seen() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seen
}

func (w *lineWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(b)
	w.seen = w.seen || len(b) > 0
	for {
		i := bytes.IndexByte(w.buf.Bytes(), '\n')
		if i < 0 {
			return len(b), nil
		}
		line := string(w.buf.Next(i + 1))
		w.emit(strings.TrimRight(line, "\r\n"))
	}
}

// Flush emits what is left after the last line end.
func (w *lineWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.buf.Len() > 0 {
		w.emit(strings.TrimRight(w.buf.String(), "\r\n"))
		w.buf.Reset()
	}
}
