// Package winrmfake is a fake Windows machine's WinRM service for tests: it
// speaks WS-Management (SOAP over HTTP, Basic auth, no TLS) as the Windows
// Remote Shell does, closely enough that the real clients Packer uses
// (github.com/masterzen/winrm for commands, github.com/packer-community/winrmcp
// for uploads, both under the SDK's WinRM communicator) run against it
// unchanged. It records every request, command and upload, runs uploads
// itself, and answers every other command with what a test's Responder
// says, faults included: dropped connections, HTTP errors, a machine that
// goes away.
//
// The shapes (actions, namespaces, ShellId and CommandId, rsp:Stream base64
// output, CommandState Running and Done with ExitCode, w:TimedOut and
// InvalidSelectors faults) follow MS-WSMV and what Windows sends, as
// recorded in masterzen/winrm's and pywinrm's test fixtures.
//
// A test scripts the machine with a Scenario:
//
//	f := winrmfake.Start(t, winrmfake.Options{Responder: winrmfake.NewScenario().
//		On(winrmfake.Contains(`-File "C:/Windows/Temp/ami-harden-`), winrmfake.Reply{Stdout: report, Chunks: 6}).
//		OnNth(winrmfake.Contains("@@ami-harden waiting"), 2, winrmfake.Reply{
//			Drop: winrmfake.DropBeforeOutput, Then: winrmfake.Outage{Status: 401, Count: 3}})})
//	// ... connect to f.Host(), f.Port() as f.User() with f.Password() ...
//	f.Runs(); f.Upload(`C:\Windows\Temp\x.ps1`); f.Stats()
//
// What it simplifies: one cmd shell resource only (no PowerShell remoting
// plugin), Basic auth over HTTP only (no NTLM, Kerberos, TLS or message
// encryption), stdin ignored, and commands do nothing but answer: an upload
// is the one command whose effect (a file) the fake keeps.
package winrmfake

import (
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options configure a fake machine.
type Options struct {
	// User and Password are the only Basic auth credentials accepted;
	// defaults "Administrator" and "Fake-Passw0rd".
	User, Password string
	// Responder answers every command that is not part of an upload; nil:
	// DefaultReply.
	Responder Responder
	// Verbose logs every request with t.Logf.
	Verbose bool
	// OnPowerOff is called, once, when the machine powers off (an
	// Outage's PowerOffAfter): a fake cloud stops the instance.
	OnPowerOff func()
}

// Request is one HTTP request the fake received: one round trip.
type Request struct {
	Seq    int
	Action string // Create, Command, Receive, Signal, Delete, Send (the action URI's last part)
	// Status is the HTTP status answered, 0 when the fake dropped the
	// connection instead.
	Status  int
	Bytes   int // request body size
	Command int // Seq of the command it concerned (Command, Receive, Signal), 0 for none
	// Refused: an outage answered it (Status its error, or 0: dropped).
	Refused bool
	// Anonymous: it carried no credentials (no Authorization header): not
	// a logon, whatever it asked.
	Anonymous bool
}

// Fake is a running fake machine.
type Fake struct {
	t    testing.TB
	opts Options
	ln   net.Listener
	srv  *http.Server
	port int

	mu        sync.Mutex
	shells    map[string]bool
	running   map[string]*command // by CommandId
	records   []*Command
	requests  []Request
	respBytes int
	outage    Outage
	offAt     time.Time         // when the machine powered off; zero while it runs
	closed    bool              // Close was called: no timer acts any more
	temp      map[string][]byte // winrmcp temp files, by windowsPath
	files     map[string]*file  // uploaded files, by windowsPath
	uploaded  int               // files written by upload restores
	upBytes   int               // their bytes
	upBase64  int               // base64 characters of the chunk commands
}

type file struct {
	path string // as the restore script named it
	data []byte
}

// command is a command's state on the fake machine.
type command struct {
	id      string
	shell   string
	rec     *Command
	reply   Reply
	started time.Time
	chunks  []chunk
	next    int  // the next chunk to send
	done    bool // Done was sent
	over    bool // dropped or signalled: nothing more to send
}

// chunk is the output one Receive answer carries, available at the
// command's start plus at.
type chunk struct {
	at     time.Duration
	stdout []byte
	stderr []byte
}

// Start serves a fake machine on 127.0.0.1 and a free port until the test
// ends.
func Start(t testing.TB, opts Options) *Fake {
	t.Helper()
	if opts.User == "" {
		opts.User = "Administrator"
	}
	if opts.Password == "" {
		opts.Password = "Fake-Passw0rd"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("winrmfake: %v", err)
	}
	f := &Fake{
		t: t, opts: opts, ln: ln, port: ln.Addr().(*net.TCPAddr).Port,
		shells: map[string]bool{}, running: map[string]*command{},
		temp: map[string][]byte{}, files: map[string]*file{},
	}
	f.srv = &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = f.srv.Serve(ln) }()
	t.Cleanup(f.Close)
	return f
}

// Close stops the service; open connections are closed, and an outage or a
// power-off still to come does not happen.
func (f *Fake) Close() {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	_ = f.srv.Close()
}

// Host is the address to connect to.
func (f *Fake) Host() string { return "127.0.0.1" }

// Port is the port the service listens on.
func (f *Fake) Port() int { return f.port }

// User and Password are the credentials the service accepts.
func (f *Fake) User() string     { return f.opts.User }
func (f *Fake) Password() string { return f.opts.Password }

// Outage begins o now (see Outage).
func (f *Fake) Outage(o Outage) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.beginOutage(o)
}

// Gone makes the machine go away: every request from now on is dropped.
func (f *Fake) Gone() { f.Outage(Gone) }

// powerOff: the machine goes away for good, and says so once.
func (f *Fake) powerOff() {
	f.mu.Lock()
	if !f.offAt.IsZero() || f.closed {
		f.mu.Unlock()
		return
	}
	f.offAt = time.Now()
	f.beginOutage(Gone)
	f.mu.Unlock()
	// A machine that is off takes no connection at all.
	_ = f.srv.Close()
	f.t.Logf("winrmfake: the machine powered off")
	if f.opts.OnPowerOff != nil {
		f.opts.OnPowerOff()
	}
}

// PoweredOff tells when the machine powered off (an Outage's
// PowerOffAfter); zero while it runs.
func (f *Fake) PoweredOff() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.offAt
}

func (f *Fake) beginOutage(o Outage) {
	if o.Count == 0 {
		return
	}
	if o.Delay > 0 {
		later := o
		later.Delay = 0
		time.AfterFunc(o.Delay, func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			if !f.closed {
				f.beginOutage(later)
			}
		})
		return
	}
	if o.PowerOffAfter > 0 {
		time.AfterFunc(o.PowerOffAfter, f.powerOff)
	}
	f.outage = o
	if o.Restart {
		f.shells = map[string]bool{}
		for _, c := range f.running {
			c.over = true
		}
		f.running = map[string]*command{}
	}
}

// Commands are every command line run so far, in order, uploads included.
func (f *Fake) Commands() []Command {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Command, len(f.records))
	for i, r := range f.records {
		out[i] = *r
	}
	return out
}

// Runs are the commands that were not part of an upload, in order.
func (f *Fake) Runs() []Command {
	var out []Command
	for _, c := range f.Commands() {
		if c.Upload == "" {
			out = append(out, c)
		}
	}
	return out
}

// Requests are every HTTP request so far, in order.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.requests...)
}

// Upload is the content of the file uploaded to path (slashes or
// backslashes, any case), and whether there is one.
func (f *Fake) Upload(path string) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.files[windowsPath(path)]
	if !ok {
		return nil, false
	}
	return append([]byte(nil), u.data...), true
}

// Uploads are the uploaded files by the path the upload named (backslashes).
func (f *Fake) Uploads() map[string][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string][]byte{}
	for _, u := range f.files {
		out[u.path] = append([]byte(nil), u.data...)
	}
	return out
}

// Stats are counts of what went over the wire.
type Stats struct {
	RoundTrips int            // HTTP requests
	ByAction   map[string]int // HTTP requests by action
	Dropped    int            // requests whose connection the fake dropped
	Refused    int            // requests answered with an HTTP error status
	Commands   int            // command lines run
	// UploadCommands of them were winrmcp's (chunks, restores, cleanups).
	UploadCommands int
	Uploads        int // files written
	UploadBytes    int // the bytes of those files
	// UploadBase64 is the base64 characters the chunk commands carried.
	UploadBase64  int
	RequestBytes  int // HTTP request bodies
	ResponseBytes int // HTTP response bodies
}

var actionOrder = []string{"Create", "Command", "Receive", "Signal", "Delete", "Send"}

// Actions lists the round trips by action: "Create 4, Command 5, ...".
func (s Stats) Actions() string {
	var parts []string
	seen := map[string]bool{}
	for _, a := range actionOrder {
		seen[a] = true
		if n := s.ByAction[a]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", a, n))
		}
	}
	var rest []string
	for a := range s.ByAction {
		if !seen[a] {
			rest = append(rest, a)
		}
	}
	sort.Strings(rest)
	for _, a := range rest {
		parts = append(parts, fmt.Sprintf("%s %d", a, s.ByAction[a]))
	}
	return strings.Join(parts, ", ")
}

// Stats counts what went over the wire so far.
func (f *Fake) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := Stats{RoundTrips: len(f.requests), ByAction: map[string]int{}, Commands: len(f.records),
		Uploads: f.uploaded, UploadBytes: f.upBytes, UploadBase64: f.upBase64, ResponseBytes: f.respBytes}
	for _, r := range f.requests {
		s.ByAction[r.Action]++
		s.RequestBytes += r.Bytes
		switch {
		case r.Status == 0:
			s.Dropped++
		case r.Status != http.StatusOK:
			s.Refused++
		}
	}
	for _, c := range f.records {
		if c.Upload != "" {
			s.UploadCommands++
		}
	}
	return s
}

// ---------------------------------------------------------------- serving

// exchange is one request being answered.
type exchange struct {
	f   *Fake
	w   http.ResponseWriter
	r   *http.Request
	idx int // in f.requests
	env envelope
}

func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	x := &exchange{f: f, w: w, r: r}
	parseErr := xml.Unmarshal(body, &x.env)
	action := shortAction(x.env.Header.Action)

	f.mu.Lock()
	x.idx = len(f.requests)
	f.requests = append(f.requests, Request{Seq: x.idx + 1, Action: action, Bytes: len(body)})
	o := f.outage
	f.requests[x.idx].Refused = o.Count != 0
	f.requests[x.idx].Anonymous = r.Header.Get("Authorization") == ""
	if f.outage.Count > 0 {
		f.outage.Count--
	}
	f.mu.Unlock()

	if o.Count != 0 {
		x.refuse(o.Status, false)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/wsman" {
		// HTTP.sys: no listener for this URL.
		x.plain(http.StatusNotFound, "text/html; charset=us-ascii", "")
		return
	}
	user, pass, ok := r.BasicAuth()
	if !ok || user != f.opts.User || pass != f.opts.Password {
		x.refuse(http.StatusUnauthorized, false)
		return
	}
	if parseErr != nil {
		x.plain(http.StatusBadRequest, "text/html; charset=us-ascii", "")
		return
	}
	switch x.env.Header.Action {
	case actionCreate:
		x.create()
	case actionCommand:
		x.command()
	case actionReceive:
		x.receive()
	case actionSignal:
		x.signal()
	case actionDelete:
		x.delete()
	case actionSend:
		if !x.knownShell() {
			return
		}
		x.soap(sendResponse(x.env.Header.MessageID))
	default:
		x.fault(faultNotSupported)
	}
}

func (x *exchange) logf(format string, args ...any) {
	if x.f.opts.Verbose {
		x.f.t.Logf("winrmfake: #%d %s: "+format, append([]any{x.idx + 1, shortAction(x.env.Header.Action)}, args...)...)
	}
}

func (x *exchange) setStatus(status, n int, cmd *Command) {
	x.f.mu.Lock()
	defer x.f.mu.Unlock()
	x.f.requests[x.idx].Status = status
	x.f.respBytes += n
	if cmd != nil {
		x.f.requests[x.idx].Command = cmd.Seq
	}
}

// soap answers 200 with a SOAP envelope.
func (x *exchange) soap(body string) { x.soapFor(nil, body) }

func (x *exchange) soapFor(cmd *Command, body string) {
	x.setStatus(http.StatusOK, len(body), cmd)
	x.write(http.StatusOK, "application/soap+xml;charset=UTF-8", body)
	x.logf("200")
}

// fault answers 500 with a WS-Management fault, as Windows does.
func (x *exchange) fault(f fault) {
	body := f.envelope(x.env.Header.MessageID, x.f.Host())
	x.setStatus(http.StatusInternalServerError, len(body), nil)
	x.write(http.StatusInternalServerError, "application/soap+xml;charset=UTF-8", body)
	x.logf("500 %s", f.subcode)
}

func (x *exchange) plain(status int, contentType, body string) {
	x.setStatus(status, len(body), nil)
	x.write(status, contentType, body)
	x.logf("%d", status)
}

func (x *exchange) write(status int, contentType, body string) {
	h := x.w.Header()
	h.Set("Server", "Microsoft-HTTPAPI/2.0")
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	x.w.WriteHeader(status)
	_, _ = io.WriteString(x.w, body)
}

// refuse answers as a machine in an outage: drop (status 0), or an HTTP
// error the way Windows sends it.
func (x *exchange) refuse(status int, reset bool) {
	switch status {
	case 0:
		x.drop(reset, nil)
	case http.StatusUnauthorized:
		// The listener offers its schemes and sends no body.
		x.w.Header()["WWW-Authenticate"] = []string{"Negotiate", `Basic realm="WSMAN"`}
		x.plain(status, "", "")
	case http.StatusInternalServerError:
		x.fault(faultInternal)
	case http.StatusServiceUnavailable:
		x.plain(status, "text/html; charset=us-ascii", serviceUnavailable)
	default:
		x.plain(status, "text/html; charset=us-ascii", "")
	}
}

// drop closes the request's connection without an answer: a close (the
// client reads EOF), or with reset a TCP reset.
func (x *exchange) drop(reset bool, cmd *Command) {
	x.setStatus(0, 0, cmd)
	x.logf("dropped")
	hj, ok := x.w.(http.Hijacker)
	if !ok {
		panic("winrmfake: the connection cannot be hijacked")
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tcp, ok := conn.(*net.TCPConn); ok && reset {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}

// knownShell answers Windows' fault for a ShellId it does not know.
func (x *exchange) knownShell() bool {
	id := x.env.selector("ShellId")
	x.f.mu.Lock()
	ok := x.f.shells[id]
	x.f.mu.Unlock()
	if !ok {
		x.fault(faultNoShell(id))
	}
	return ok
}

func (x *exchange) create() {
	id := newUUID()
	x.f.mu.Lock()
	x.f.shells[id] = true
	x.f.mu.Unlock()
	client, _, _ := net.SplitHostPort(x.r.RemoteAddr)
	address := fmt.Sprintf("http://%s:%d/wsman", x.f.Host(), x.f.port)
	x.soap(createResponse(x.env.Header.MessageID, address, id, x.f.opts.User, client))
}

func (x *exchange) delete() {
	if !x.knownShell() {
		return
	}
	id := x.env.selector("ShellId")
	x.f.mu.Lock()
	delete(x.f.shells, id)
	for cid, c := range x.f.running {
		if c.shell == id {
			delete(x.f.running, cid)
		}
	}
	x.f.mu.Unlock()
	x.soap(deleteResponse(x.env.Header.MessageID))
}

func (x *exchange) command() {
	if x.env.Body.CommandLine == nil {
		x.plain(http.StatusBadRequest, "", "")
		return
	}
	if !x.knownShell() {
		return
	}
	line := strings.TrimSpace(x.env.Body.CommandLine.Command)
	for _, a := range x.env.Body.CommandLine.Arguments {
		line += " " + a
	}
	script := decodeEncodedCommand(line)
	f := x.f
	f.mu.Lock()
	rec := &Command{Seq: len(f.records) + 1, Line: line, Script: script, Upload: uploadKind(line, script),
		Shell: x.env.selector("ShellId")}
	f.records = append(f.records, rec)
	f.mu.Unlock()
	x.logf("%q", shorten(rec.Text()))

	var reply Reply
	if rec.Upload != "" {
		x.upload(rec)
	} else {
		r := f.opts.Responder
		if r == nil {
			r = ResponderFunc(DefaultReply)
		}
		reply = r.Respond(*rec)
	}
	c := &command{id: newUUID(), shell: rec.Shell, rec: rec, reply: reply, started: time.Now(), chunks: plan(reply)}

	f.mu.Lock()
	if reply.Drop == DropOnCommand {
		rec.Dropped = true
		f.beginOutage(reply.Then)
		f.mu.Unlock()
		x.drop(reply.Reset, rec)
		return
	}
	f.running[c.id] = c
	f.mu.Unlock()
	x.soapFor(rec, commandResponse(x.env.Header.MessageID, c.id))
}

// upload does a part of a winrmcp upload on the fake machine's files.
func (x *exchange) upload(rec *Command) {
	f := x.f
	f.mu.Lock()
	defer f.mu.Unlock()
	switch rec.Upload {
	case UploadChunk:
		m := echoChunk.FindStringSubmatch(rec.Line)
		key := windowsPath(expandTemp(m[2]))
		// cmd.exe's echo writes the text, the blank before >>, and CRLF.
		f.temp[key] = append(f.temp[key], m[1]+" \r\n"...)
		f.upBase64 += len(m[1])
	case UploadRestore:
		tmp := windowsPath(expandTemp(restoreTmp.FindStringSubmatch(rec.Script)[1]))
		dest := strings.Trim(restoreDest.FindStringSubmatch(rec.Script)[1], "'")
		data, err := decodeLines(f.temp[tmp])
		if err != nil {
			f.t.Errorf("winrmfake: upload to %s: the temp file holds no base64: %v", dest, err)
		}
		f.files[windowsPath(dest)] = &file{path: dest, data: data}
		f.uploaded++
		f.upBytes += len(data)
	case UploadCleanup:
		delete(f.temp, windowsPath(expandTemp(restoreTmp.FindStringSubmatch(rec.Script)[1])))
	}
}

func (x *exchange) signal() {
	if !x.knownShell() {
		return
	}
	var rec *Command
	if s := x.env.Body.Signal; s != nil {
		x.f.mu.Lock()
		if c := x.f.running[s.CommandID]; c != nil {
			c.over = true
			rec = c.rec
		}
		x.f.mu.Unlock()
	}
	x.soapFor(rec, signalResponse(x.env.Header.MessageID))
}

// receive answers with the command's next output once it is there, its
// end, or the drop its reply asks for.
func (x *exchange) receive() {
	if x.env.Body.Receive == nil {
		x.plain(http.StatusBadRequest, "", "")
		return
	}
	if !x.knownShell() {
		return
	}
	id := x.env.Body.Receive.DesiredStream.CommandID
	deadline := time.Now().Add(x.env.operationTimeout(60 * time.Second))
	f := x.f
	for {
		f.mu.Lock()
		c := f.running[id]
		if c == nil {
			f.mu.Unlock()
			x.fault(faultNoShell(x.env.selector("ShellId")))
			return
		}
		rec := c.rec
		now := time.Now()
		switch {
		case c.done || c.over:
			// Windows sends Done again, with exit code 0 after the first time.
			f.mu.Unlock()
			x.soapFor(rec, receiveResponse(x.env.Header.MessageID, id, nil, true, 0))
			return
		case c.next < len(c.chunks):
			ch := c.chunks[c.next]
			if ready := c.started.Add(ch.at); now.Before(ready) {
				f.mu.Unlock()
				if !x.wait(ready, deadline) {
					return
				}
				continue
			}
			c.next++
			last := c.next == len(c.chunks) && c.reply.Drop == NoDrop
			if last {
				c.done = true
				rec.Finished, rec.Exit = true, c.reply.ExitCode
				f.beginOutage(c.reply.Then)
			}
			f.mu.Unlock()
			x.soapFor(rec, receiveResponse(x.env.Header.MessageID, id, streams(ch), last, c.reply.ExitCode))
			return
		default:
			// Everything it was to send is sent: the drop.
			if ready := c.started.Add(c.reply.Delay + time.Duration(len(c.chunks))*c.reply.Pace); now.Before(ready) {
				f.mu.Unlock()
				if !x.wait(ready, deadline) {
					return
				}
				continue
			}
			c.over = true
			rec.Dropped = true
			f.beginOutage(c.reply.Then)
			f.mu.Unlock()
			x.drop(c.reply.Reset, rec)
			return
		}
	}
}

// wait sleeps until ready; when the deadline (OperationTimeout) comes
// first it answers w:TimedOut, as Windows does, and says to stop.
func (x *exchange) wait(ready, deadline time.Time) bool {
	until, timedOut := ready, false
	if deadline.Before(ready) {
		until, timedOut = deadline, true
	}
	timer := time.NewTimer(time.Until(until))
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-x.r.Context().Done():
		return false
	}
	if timedOut {
		x.fault(faultTimedOut)
		return false
	}
	return true
}

func streams(ch chunk) []stream {
	var out []stream
	if len(ch.stdout) > 0 {
		out = append(out, stream{"stdout", ch.stdout})
	}
	if len(ch.stderr) > 0 {
		if rest, ok := strings.CutPrefix(string(ch.stderr), CLIXMLHeader); ok && rest != "" {
			out = append(out, stream{"stderr", []byte(CLIXMLHeader)}, stream{"stderr", []byte(rest)})
		} else {
			out = append(out, stream{"stderr", ch.stderr})
		}
	}
	return out
}

// plan cuts a reply's output into the Receive answers that carry it.
func plan(r Reply) []chunk {
	out := []byte(r.Stdout)
	n := r.Chunks
	if n <= 0 {
		n = 1
		if len(out) >= 1024 {
			n = 3
		}
	}
	limit := len(out)
	switch r.Drop {
	case DropBeforeOutput, DropOnCommand:
		limit = 0
	case DropAfterStdout:
		limit = min(max(r.DropAfter, 0), len(out))
	}
	errAt := len(out) / 2
	if r.StderrAfter != "" {
		if i := strings.Index(r.Stdout, r.StderrAfter); i >= 0 {
			errAt = i + len(r.StderrAfter)
		}
	}
	var chunks []chunk
	for k := 0; k < n; k++ {
		start, end := k*len(out)/n, (k+1)*len(out)/n
		ch := chunk{}
		if start < limit {
			ch.stdout = out[start:min(end, limit)]
		}
		if r.Stderr != "" && ((errAt > start && errAt <= end) || (errAt == 0 && k == 0)) && errAt <= limit {
			ch.stderr = []byte(r.Stderr)
		}
		if len(ch.stdout) == 0 && len(ch.stderr) == 0 && !(r.Drop == NoDrop && k == n-1) {
			continue
		}
		ch.at = r.Delay + time.Duration(len(chunks))*r.Pace
		chunks = append(chunks, ch)
	}
	return chunks
}

func shorten(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 120 {
		return s[:117] + "..."
	}
	return s
}
