// Package ec2fake is a fake Amazon EC2 endpoint for tests: the EC2 Query
// API over HTTP on a loopback port, answered in EC2's XML, closely enough
// that Packer's real amazon-ebs builder (packer-plugin-amazon v1.3.2, over
// aws-sdk-go v1.45.6) runs a whole build against it with
// `custom_endpoint_ec2` set to URL(): source AMI, temporary key pair and
// security group, an instance that goes pending -> running, the AMI, and
// the cleanup. The instance's public and private address is 127.0.0.1: the
// test puts the machine the build talks to (a WinRM service, say
// test/winrmfake) on that address.
//
// The fake keeps the state EC2 keeps (instances, images, snapshots,
// volumes, key pairs, security groups, tags) and moves it the way EC2's
// documentation says it moves. Every behaviour below names its source: a
// page of the EC2 API reference or user guide, the aws-sdk-go model the
// plugin is built with (service/ec2/api.go and waiters.go of aws-sdk-go
// v1.45.6: element names, waiter acceptors), or the file of
// packer-plugin-amazon v1.3.2 whose call it serves. A call, parameter or
// filter the fake does not model fails the test (t.Errorf) and is answered
// with an error, rather than with a guess.
//
// What it simplifies:
//   - Time. EC2 moves an instance or an image through its transitional
//     states (pending, stopping, shutting-down; an image's pending) in its
//     own time; the fake moves it one step each time a Describe call shows
//     it, so every transitional state is seen exactly once, by one poll, and
//     a waiter's outcome does not depend on the machine's speed.
//   - Addresses. An instance keeps 127.0.0.1 as its public and private
//     address in every state.
//   - CreateImage on a running instance without NoReboot: EC2 reboots the
//     instance first (API reference, CreateImage); the fake records the
//     instance's state at the call (Image.InstanceState) and does not
//     reboot it.
//   - One account, one region (eu-west-1), its default VPC and one subnet.
//
// A test scripts the guest with PowerOff (the operating system shut the
// machine down) and reads what happened with Calls, Instances, Images,
// KeyPairs and SecurityGroups:
//
//	ec2 := ec2fake.Start(t)
//	// ... packer build with custom_endpoint_ec2 = ec2.URL(),
//	//     source_ami = ec2.SourceAMI(), region = ec2fake.Region ...
//	id, _ := ec2.Running()
//	ec2.PowerOff(id)
package ec2fake

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	// Region is the fake's only region; its one availability zone is
	// AvailabilityZone.
	Region           = "eu-west-1"
	AvailabilityZone = "eu-west-1a"
	// Account is the account that owns what the fake creates (the 12-digit
	// example account of the EC2 documentation).
	Account = "123456789012"
	// Address is every instance's public and private IPv4 address.
	Address = "127.0.0.1"

	// namespace is the XML namespace of EC2's answers: the API version
	// aws-sdk-go v1.45.6 sends (service/ec2/api.go: "Version": "2016-11-15").
	namespace = "http://ec2.amazonaws.com/doc/2016-11-15/"
	// Unsupported is the error code of an answer to a call, parameter or
	// filter the fake does not model. It is not an EC2 code: it says the
	// fake, not EC2, refused.
	Unsupported = "Ec2Fake.Unsupported"
)

// Instance states, with their codes (API reference, InstanceState:
// 0 pending, 16 running, 32 shutting-down, 48 terminated, 64 stopping,
// 80 stopped).
const (
	Pending      = "pending"
	Running      = "running"
	ShuttingDown = "shutting-down"
	Terminated   = "terminated"
	Stopping     = "stopping"
	Stopped      = "stopped"
)

var stateCodes = map[string]int{Pending: 0, Running: 16, ShuttingDown: 32, Terminated: 48, Stopping: 64, Stopped: 80}

// Call is one EC2 API request the fake answered, in order.
type Call struct {
	Seq    int    // 1 for the first request
	Action string // the Query API action, e.g. DescribeInstances
	// Detail is what the call concerned and what it was answered, e.g.
	// "i-0fa4e000000000003: running" for a DescribeInstances, or the error
	// code of a refused call.
	Detail string
}

func (c Call) String() string {
	if c.Detail == "" {
		return c.Action
	}
	return c.Action + " (" + c.Detail + ")"
}

// Instance is an instance as the fake holds it.
type Instance struct {
	ID      string
	ImageID string // the AMI it was launched from
	State   string // its current state
	// States are every state it has been in, in order, the current one last.
	States []string
	// ShutdownBehavior is its InstanceInitiatedShutdownBehavior: "stop" or
	// "terminate".
	ShutdownBehavior string
	// StateReason is the code of its last state change's reason
	// (API reference, StateReason), "" when there is none.
	StateReason string
	KeyName     string
	Groups      []string // security group IDs
	Tags        map[string]string
}

// Image is an AMI made by CreateImage.
type Image struct {
	ID, Name string
	State    string // pending, available, deregistered
	// InstanceID is the instance it was made from, InstanceState that
	// instance's state when CreateImage ran; FromStopped is InstanceState ==
	// "stopped".
	InstanceID    string
	InstanceState string
	FromStopped   bool
	NoReboot      bool
	SnapshotID    string
	Tags          map[string]string
}

// Fake is a running fake EC2 endpoint.
type Fake struct {
	t   testing.TB
	srv *httptest.Server

	mu        sync.Mutex
	n         int // the last number used in an ID
	calls     []Call
	source    string
	images    map[string]*image
	imageIDs  []string // in creation order
	instances map[string]*instance
	instIDs   []string
	volumes   map[string]*volume
	snapshots map[string]*snapshot
	keyPairs  map[string]*keyPair
	groups    map[string]*group
}

type image struct {
	id, name, description string
	ownerID, ownerAlias   string
	public                bool
	platform              string // "windows", or "" for Linux/UNIX
	platformDetails       string
	state                 string
	next                  []string // the states it moves to, one per Describe
	rootDevice            string
	snapshotID            string
	volumeSize            int
	created               time.Time
	tags                  map[string]string
	// Set for images made by CreateImage.
	made          bool
	instanceID    string
	instanceState string
	noReboot      bool
}

type instance struct {
	id, imageID, instanceType string
	keyName                   string
	groups                    []string
	shutdownBehavior          string
	state                     string
	next                      []string // the states it moves to, one per Describe
	states                    []string
	reason                    string // StateTransitionReason
	stateReason               *xStateReason
	launched                  time.Time
	rootDevice, volumeID      string
	platform                  string
	tags                      map[string]string
}

type volume struct {
	id, snapshotID, instanceID, device string
	size                               int
	deleteOnTermination                bool
	created                            time.Time
	tags                               map[string]string
}

type snapshot struct {
	id, volumeID string
	size         int
	tags         map[string]string
}

type keyPair struct {
	id, name, fingerprint string
	tags                  map[string]string
}

type group struct {
	id, name, description, vpcID string
	ingress                      []string // "tcp 5985-5985 0.0.0.0/0"
	tags                         map[string]string
}

// Start serves a fake EC2 endpoint on 127.0.0.1 until the test ends. It
// holds one Windows AMI owned by Amazon: SourceAMI.
func Start(t testing.TB) *Fake {
	t.Helper()
	f := &Fake{
		t: t, images: map[string]*image{}, instances: map[string]*instance{}, volumes: map[string]*volume{},
		snapshots: map[string]*snapshot{}, keyPairs: map[string]*keyPair{}, groups: map[string]*group{},
	}
	f.source = f.addSourceImage()
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// addSourceImage registers the Windows AMI builds start from, shaped like
// Amazon's Windows Server AMIs: public, EBS root device /dev/sda1, HVM,
// x86_64, platform "windows" (API reference, Image: platform is "windows
// for Windows AMIs; otherwise blank"), owner alias "amazon" (what
// owners = ["amazon"] in a source_ami_filter matches, as in
// example/amazon-windows).
func (f *Fake) addSourceImage() string {
	snap := &snapshot{id: f.newID("snap"), size: 30}
	f.snapshots[snap.id] = snap
	im := &image{
		id: f.newID("ami"), name: "Windows_Server-2022-English-Full-Base-2024.01.10",
		description: "Microsoft Windows Server 2022 Full Locale English AMI provided by Amazon",
		ownerID:     "801119661308", ownerAlias: "amazon", public: true, platform: "windows", platformDetails: "Windows",
		state: "available", rootDevice: "/dev/sda1", snapshotID: snap.id, volumeSize: 30,
		created: time.Date(2024, 1, 10, 0, 0, 0, 0, time.UTC), tags: map[string]string{},
	}
	f.images[im.id] = im
	f.imageIDs = append(f.imageIDs, im.id)
	return im.id
}

// URL is the endpoint: custom_endpoint_ec2.
func (f *Fake) URL() string { return f.srv.URL }

// SourceAMI is the ID of the Windows AMI the fake holds: source_ami.
func (f *Fake) SourceAMI() string { return f.source }

// newID makes a resource ID: the prefix, a dash and 17 hex digits, as EC2's
// long IDs are (i-0123456789abcdef0). Caller holds f.mu or owns f.
func (f *Fake) newID(prefix string) string {
	f.n++
	return fmt.Sprintf("%s-0fa4e%012x", prefix, f.n)
}

// PowerOff is the guest shutting itself down, as Windows does after
// `shutdown /s`: the instance, which must be running, goes stopping ->
// stopped when its InstanceInitiatedShutdownBehavior is "stop" (the
// default), or shutting-down -> terminated when it is "terminate". EC2 user
// guide, "Change instance initiated shutdown behavior"
// (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/Using_ChangingInstanceInitiatedShutdownBehavior.html):
// "By default, when you initiate a shutdown from an Amazon EBS backed
// instance (using a command such as shutdown or poweroff), the instance
// stops." The state reason is Client.InstanceInitiatedShutdown (API
// reference, StateReason: "The instance was shut down from the operating
// system of the instance").
func (f *Fake) PowerOff(instanceID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	in, ok := f.instances[instanceID]
	if !ok {
		return fmt.Errorf("ec2fake: no instance %s", instanceID)
	}
	if in.state != Running {
		return fmt.Errorf("ec2fake: instance %s is %s: only a running guest can shut itself down", instanceID, in.state)
	}
	in.stateReason = &xStateReason{Code: "Client.InstanceInitiatedShutdown",
		Message: "Client.InstanceInitiatedShutdown: The instance was shut down from the operating system of the instance."}
	if in.shutdownBehavior == "terminate" {
		f.terminate(in)
		return nil
	}
	in.set(Stopping, Stopped)
	return nil
}

// Running is the ID of the first instance (in launch order) that is
// running now.
func (f *Fake) Running() (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range f.instIDs {
		if f.instances[id].state == Running {
			return id, true
		}
	}
	return "", false
}

// Instances are every instance launched, in launch order (terminated ones
// included: EC2 shows them for about an hour, API reference,
// TerminateInstances).
func (f *Fake) Instances() []Instance {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Instance
	for _, id := range f.instIDs {
		in := f.instances[id]
		x := Instance{ID: in.id, ImageID: in.imageID, State: in.state, States: slices.Clone(in.states),
			ShutdownBehavior: in.shutdownBehavior, KeyName: in.keyName, Groups: slices.Clone(in.groups), Tags: clone(in.tags)}
		if in.stateReason != nil {
			x.StateReason = in.stateReason.Code
		}
		out = append(out, x)
	}
	return out
}

// Images are the AMIs made by CreateImage, in order (deregistered ones
// included, with State "deregistered").
func (f *Fake) Images() []Image {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Image
	for _, id := range f.imageIDs {
		im := f.images[id]
		if !im.made {
			continue
		}
		out = append(out, Image{ID: im.id, Name: im.name, State: im.state, InstanceID: im.instanceID,
			InstanceState: im.instanceState, FromStopped: im.instanceState == Stopped, NoReboot: im.noReboot,
			SnapshotID: im.snapshotID, Tags: clone(im.tags)})
	}
	return out
}

// Calls are every request answered so far, in order.
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// Actions are the actions of Calls, in order.
func (f *Fake) Actions() []string {
	var out []string
	for _, c := range f.Calls() {
		out = append(out, c.Action)
	}
	return out
}

// KeyPairs are the names of the key pairs that exist now.
func (f *Fake) KeyPairs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for name := range f.keyPairs {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// SecurityGroups are the IDs of the security groups that exist now.
func (f *Fake) SecurityGroups() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for id := range f.groups {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// set moves the instance to state now, and then, one Describe at a time,
// through next.
func (in *instance) set(now string, next ...string) {
	in.state = now
	in.next = next
	in.states = append(in.states, now)
}

// described is the instance's state as a Describe call shows it; then the
// instance moves on to its next state, if it has one (see the package
// comment, "Time").
func (in *instance) described() string {
	shown := in.state
	if len(in.next) > 0 {
		in.set(in.next[0], in.next[1:]...)
	}
	return shown
}

func (im *image) described() string {
	shown := im.state
	if len(im.next) > 0 {
		im.state, im.next = im.next[0], im.next[1:]
	}
	return shown
}

// serve answers one Query API request: a form (POST body or query string)
// with Action, Version and the action's parameters (aws-sdk-go's ec2query
// protocol, private/protocol/ec2query/build.go).
func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	action := r.Form.Get("Action")
	f.mu.Lock()
	defer f.mu.Unlock()
	call := Call{Seq: len(f.calls) + 1, Action: action}
	body, detail, err := f.act(action, params(r.Form))
	call.Detail = detail
	if err != nil {
		e := asAPIError(err)
		if call.Detail == "" {
			call.Detail = e.Code
		} else {
			call.Detail += ": " + e.Code
		}
		f.calls = append(f.calls, call)
		if e.Code == Unsupported {
			f.t.Errorf("ec2fake: %s: %s", action, e.Message)
		}
		writeError(w, e)
		return
	}
	f.calls = append(f.calls, call)
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	enc := xml.NewEncoder(w)
	start := xml.StartElement{Name: xml.Name{Space: namespace, Local: action + "Response"}}
	if err := enc.EncodeElement(body, start); err != nil {
		f.t.Errorf("ec2fake: %s: encoding the answer: %v", action, err)
	}
}

// apiError is an EC2 error answer (API reference, "Error codes": the Code
// and Message of Response/Errors/Error, HTTP 400 for client errors).
type apiError struct {
	Code, Message string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func errorf(code, format string, args ...any) error {
	return &apiError{Code: code, Message: fmt.Sprintf(format, args...)}
}

func asAPIError(err error) *apiError {
	if e, ok := err.(*apiError); ok {
		return e
	}
	return &apiError{Code: Unsupported, Message: err.Error()}
}

// writeError writes EC2's error document, which aws-sdk-go's ec2query
// protocol reads (private/protocol/ec2query/unmarshal_error.go:
// Response/Errors/Error/Code, Message, and RequestID).
func writeError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(http.StatusBadRequest)
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(e.Code))
	code := b.String()
	b.Reset()
	_ = xml.EscapeText(&b, []byte(e.Message))
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
		`<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>`,
		code, b.String(), requestID)
}

func clone(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// The default VPC and its subnet, where RunInstances puts an instance that
// names no subnet (API reference, RunInstances, SubnetId).
const (
	defaultVPC    = "vpc-0fa4e00000000d1f0"
	defaultSubnet = "subnet-0fa4e00000005b1e0"
)
