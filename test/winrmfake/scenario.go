package winrmfake

import (
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Command is one command line a client ran (a WS-Management Command
// request), in the order they came.
type Command struct {
	Seq    int    // 1 for the first command the fake received
	Line   string // the command line as sent (rsp:Command, then any rsp:Arguments)
	Script string // the PowerShell script of a `powershell -EncodedCommand` line, decoded; "" for other lines
	Upload string // UploadChunk, UploadRestore or UploadCleanup for the commands of a winrmcp upload; "" for others
	Shell  string // the ShellId it ran in
	Exit   int    // the exit code the fake sent (meaningful once Finished)
	// Dropped: the fake dropped the connection during the command (Reply.Drop
	// or an outage), so the client saw no exit code.
	Dropped  bool
	Finished bool // the client received the command's Done state
}

// Text is the command as a person reads it: the decoded script of an
// encoded PowerShell command, the line itself otherwise.
func (c Command) Text() string {
	if c.Script != "" {
		return c.Script
	}
	return c.Line
}

// Drop is where the fake drops a command's connection: it hijacks the HTTP
// connection of that request and closes it without an answer, as a machine
// that reboots, or a WinRM service that Sysprep resets, does.
type Drop int

const (
	NoDrop Drop = iota
	// DropOnCommand: the Command request gets no answer; the client never
	// learns a CommandId.
	DropOnCommand
	// DropBeforeOutput: the command starts (the client has its CommandId)
	// and its first Receive gets no answer.
	DropBeforeOutput
	// DropAfterStdout: DropAfter bytes of stdout (and the stderr that came
	// before them) reach the client, then the next Receive gets no answer.
	DropAfterStdout
)

// Outage is what the machine does to the requests that come after a point:
// drop them, or answer them with an HTTP error instead of doing them.
type Outage struct {
	// Status is 0 for a dropped connection, or the HTTP status to answer:
	// 401 (the WinRM listener refusing the credentials, as while Sysprep
	// resets the accounts), 500 (a WS-Management fault: InternalError) or
	// 503 (HTTP.sys: the WinRM service is not running).
	Status int
	// Count is how many requests; below 0, every request from then on.
	Count int
	// Restart: the WinRM service restarted when the outage began: every
	// shell and command is gone (later requests for them get Windows'
	// "shell was not found" fault).
	Restart bool
	// Delay: the outage begins this long after its point (a command's end)
	// instead of at once; the requests in between are answered as usual.
	Delay time.Duration
	// PowerOffAfter, when not 0: this long after the outage began, the
	// machine powers off: from then on it takes no connection (its listener
	// closed: a connection is refused), and Options.OnPowerOff is called,
	// once.
	PowerOffAfter time.Duration
}

// Generalizing is a Windows machine whose Sysprep has begun to generalize
// it, after the build's last command: from then on Windows refuses every
// new WinRM shell and command with a 401 that has no SOAP body, which the
// client Packer uses (masterzen/winrm) reports as "http response error:
// 401 - invalid content type", for the rest of that boot. Recorded on EC2
// with EC2Launch v1 SysprepInstance.ps1 -NoShutdown (hashicorp/packer#10129,
// Windows Server 2016), EC2Launch and EC2Launch v2 on Windows Server 2016 to
// 2022 (hashicorp/packer#12320: "the issues does not exist when sysprep is
// not performed"; running Sysprep as the very last task made it go away)
// and EC2Launch v2 (hashicorp/packer-plugin-amazon#637). That the client's
// words come from a 401 with a plain body, not a SOAP fault, is explained in
// jetbrains-infra/packer-builder-vsphere#92. The threads end with Sysprep
// and the machine shutting itself down; none shows the 401 ending before
// the power-off, so the fake never answers again. after is how long after
// the build's last command Sysprep begins (the handover waits for the
// script's process to end, then 10 s). powerOff is how long Sysprep (and
// the final work after it) runs before the machine powers itself off; 0:
// it never does. None of the threads shows a Sysprep that failed: the fake
// takes the case that asks most of the build, a machine that stays up,
// takes connections and answers nothing but 401. A machine that is off
// takes no connection: the fake's listener closes, so a connection is
// refused (a local VM's forwarded port does that; an EC2 instance's address
// stops answering, which the provisioner's watcher treats the same).
func Generalizing(after, powerOff time.Duration) Outage {
	return Outage{Status: http.StatusUnauthorized, Count: -1, Delay: after, PowerOffAfter: powerOff}
}

// Gone is a machine that went away: every request from now on, on a new or
// an old connection, is dropped.
var Gone = Outage{Status: 0, Count: -1, Restart: true}

// Reply is how the fake machine runs one command.
type Reply struct {
	// Stdout and Stderr are what the command prints, as the bytes Windows
	// sends (CRLF line ends: see CRLF; PowerShell's error records: see
	// CLIXML).
	Stdout, Stderr string
	ExitCode       int
	// Chunks is how many Receive answers the stdout is spread over; it is cut
	// at byte offsets, not at line ends, as a real server cuts it. 0: 1 for
	// an output under 1 KiB (a short command's output comes whole), else 3.
	Chunks int
	// StderrAfter: stderr comes in the Receive answer that carries the end
	// of the first occurrence of this stdout text. "": in the middle answer.
	// Stderr that starts with PowerShell's "#< CLIXML\r\n" header comes, as
	// from Windows, as two rsp:Stream elements: the header, then the rest.
	StderrAfter string
	// Delay is how long the command runs before its first output; Pace is
	// the time between two chunks. A Receive waits for output at most the
	// request's OperationTimeout, then gets Windows' w:TimedOut fault (and
	// the client asks again), as from a real server.
	Delay, Pace time.Duration
	// Drop and DropAfter: where the connection drops (see Drop).
	Drop      Drop
	DropAfter int
	// Reset: drop with a TCP reset (RST) instead of a close (FIN). The
	// client reads "connection reset by peer" rather than EOF.
	Reset bool
	// Then begins once the command is over for the client: after the Receive
	// that carried its Done state, or with its drop.
	Then Outage
}

// Responder decides how the fake machine runs each command that is not
// part of an upload (the fake does uploads itself).
type Responder interface {
	Respond(cmd Command) Reply
}

// ResponderFunc makes a function a Responder.
type ResponderFunc func(Command) Reply

func (f ResponderFunc) Respond(c Command) Reply { return f(c) }

// DefaultReply is what a plain Windows machine answers: "WinRM connected."
// to the check the SDK runs after connecting, nothing and exit 0 to every
// other command.
func DefaultReply(c Command) Reply {
	if strings.Contains(c.Script, `echo "WinRM connected."`) {
		return Reply{Stdout: "WinRM connected.\r\n"}
	}
	return Reply{}
}

// Matcher picks commands.
type Matcher func(Command) bool

// Contains matches a command whose line or decoded script holds s.
func Contains(s string) Matcher {
	return func(c Command) bool { return strings.Contains(c.Line, s) || strings.Contains(c.Script, s) }
}

// Matches matches a command whose line or decoded script matches the
// regular expression expr.
func Matches(expr string) Matcher {
	re := regexp.MustCompile(expr)
	return func(c Command) bool { return re.MatchString(c.Line) || re.MatchString(c.Script) }
}

// Scenario is a Responder scripted by rules: "for the command matching X,
// reply Y; for the Nth command matching Z, reply F". Every rule counts the
// commands its matcher matches (whether or not it answers them). A rule
// for the Nth command wins over a rule for every command; among rules of
// the same kind the first added wins. A command no rule answers gets
// Fallback's reply (DefaultReply when nil).
type Scenario struct {
	mu       sync.Mutex
	rules    []*rule
	Fallback Responder
}

type rule struct {
	match   Matcher
	nth     int     // 0: every matching command
	replies []Reply // for Sequence: the nth matching command gets replies[n-1], the last one repeats
	seen    int
}

// NewScenario is a scenario without rules: DefaultReply for every command.
func NewScenario() *Scenario { return &Scenario{} }

// On: every command m matches gets r.
func (s *Scenario) On(m Matcher, r Reply) *Scenario {
	return s.add(&rule{match: m, replies: []Reply{r}})
}

// OnNth: the nth (1 for the first) command m matches gets r.
func (s *Scenario) OnNth(m Matcher, n int, r Reply) *Scenario {
	if n < 1 {
		panic("winrmfake: OnNth counts from 1")
	}
	return s.add(&rule{match: m, nth: n, replies: []Reply{r}})
}

// Sequence: the nth command m matches gets rs[n-1]; once they are used up,
// the last one again.
func (s *Scenario) Sequence(m Matcher, rs ...Reply) *Scenario {
	if len(rs) == 0 {
		panic("winrmfake: Sequence needs a reply")
	}
	return s.add(&rule{match: m, replies: rs})
}

func (s *Scenario) add(r *rule) *Scenario {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = append(s.rules, r)
	return s
}

// Respond implements Responder.
func (s *Scenario) Respond(c Command) Reply {
	s.mu.Lock()
	var nth, every *rule
	var everyN int
	for _, r := range s.rules {
		if !r.match(c) {
			continue
		}
		r.seen++
		switch {
		case r.nth != 0:
			if r.seen == r.nth && nth == nil {
				nth = r
			}
		case every == nil:
			every, everyN = r, r.seen
		}
	}
	fallback := s.Fallback
	s.mu.Unlock()
	switch {
	case nth != nil:
		return nth.replies[0]
	case every != nil:
		return every.replies[min(everyN, len(every.replies))-1]
	case fallback != nil:
		return fallback.Respond(c)
	}
	return DefaultReply(c)
}

// CRLF turns LF line ends into Windows' CRLF (and leaves CRLF alone).
func CRLF(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}
