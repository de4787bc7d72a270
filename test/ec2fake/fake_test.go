package ec2fake

import (
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// call posts one Query API request as aws-sdk-go's ec2query protocol does
// and returns the HTTP status and body.
func call(t *testing.T, f *Fake, action string, kv ...string) (int, string) {
	t.Helper()
	form := url.Values{"Action": {action}, "Version": {"2016-11-15"}}
	for i := 0; i < len(kv); i += 2 {
		form.Set(kv[i], kv[i+1])
	}
	resp, err := http.PostForm(f.URL()+"/", form)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// state is the instance state a DescribeInstances answer shows.
func state(t *testing.T, f *Fake, id string) string {
	t.Helper()
	status, body := call(t, f, "DescribeInstances", "InstanceId.1", id)
	require.Equal(t, http.StatusOK, status, body)
	var out struct {
		Reservations []struct {
			Instances []struct {
				ID    string `xml:"instanceId"`
				State struct {
					Code int    `xml:"code"`
					Name string `xml:"name"`
				} `xml:"instanceState"`
				PublicIP string `xml:"ipAddress"`
			} `xml:"instancesSet>item"`
		} `xml:"reservationSet>item"`
	}
	require.NoError(t, xml.Unmarshal([]byte(body), &out))
	require.Len(t, out.Reservations, 1)
	in := out.Reservations[0].Instances[0]
	assert.Equal(t, id, in.ID)
	assert.Equal(t, Address, in.PublicIP)
	assert.Equal(t, stateCodes[in.State.Name], in.State.Code, "code of %s", in.State.Name)
	return in.State.Name
}

func run(t *testing.T, f *Fake, kv ...string) string {
	t.Helper()
	status, body := call(t, f, "RunInstances", append([]string{"ImageId", f.SourceAMI(), "InstanceType", "t3.large",
		"MinCount", "1", "MaxCount", "1"}, kv...)...)
	require.Equal(t, http.StatusOK, status, body)
	var out struct {
		Instances []struct {
			ID    string `xml:"instanceId"`
			State string `xml:"instanceState>name"`
		} `xml:"instancesSet>item"`
	}
	require.NoError(t, xml.Unmarshal([]byte(body), &out))
	require.Len(t, out.Instances, 1)
	assert.Equal(t, Pending, out.Instances[0].State, "RunInstances answers pending")
	return out.Instances[0].ID
}

func TestPowerOffStops(t *testing.T) {
	f := Start(t)
	id := run(t, f)
	_, ok := f.Running()
	assert.False(t, ok, "running before it was described")
	assert.Equal(t, Pending, state(t, f, id))
	assert.Equal(t, Running, state(t, f, id))
	got, ok := f.Running()
	assert.True(t, ok)
	assert.Equal(t, id, got)

	require.NoError(t, f.PowerOff(id))
	assert.Equal(t, Stopping, state(t, f, id))
	assert.Equal(t, Stopped, state(t, f, id))
	assert.Equal(t, Stopped, state(t, f, id))
	assert.Error(t, f.PowerOff(id), "a stopped instance cannot shut itself down")

	in := f.Instances()[0]
	assert.Equal(t, []string{Pending, Running, Stopping, Stopped}, in.States)
	assert.Equal(t, "stop", in.ShutdownBehavior)
	assert.Equal(t, "Client.InstanceInitiatedShutdown", in.StateReason)

	status, body := call(t, f, "CreateImage", "InstanceId", id, "Name", "test-image")
	require.Equal(t, http.StatusOK, status, body)
	images := f.Images()
	require.Len(t, images, 1)
	assert.True(t, images[0].FromStopped)
	assert.Equal(t, "pending", images[0].State)
}

func TestPowerOffTerminatesWithTerminateBehavior(t *testing.T) {
	f := Start(t)
	id := run(t, f, "InstanceInitiatedShutdownBehavior", "terminate")
	state(t, f, id)
	require.NoError(t, f.PowerOff(id))
	assert.Equal(t, ShuttingDown, state(t, f, id))
	assert.Equal(t, Terminated, state(t, f, id))
}

func TestErrorsAreEC2Errors(t *testing.T) {
	f := Start(t)
	status, body := call(t, f, "DescribeInstances", "InstanceId.1", "i-0000000000000000f")
	assert.Equal(t, http.StatusBadRequest, status)
	var e struct {
		Code      string `xml:"Errors>Error>Code"`
		RequestID string `xml:"RequestID"`
	}
	require.NoError(t, xml.Unmarshal([]byte(body), &e))
	assert.Equal(t, "InvalidInstanceID.NotFound", e.Code)
	assert.NotEmpty(t, e.RequestID)

	id := run(t, f)
	status, body = call(t, f, "CreateImage", "InstanceId", id, "Name", "test-image")
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, "Instance is not in state", "CreateImage of a pending instance")
}

// recorder is a testing.TB that keeps Errorf's messages.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, format)
}

func TestUnmodelledCallsFailTheTest(t *testing.T) {
	r := &recorder{TB: t}
	f := Start(r)
	status, body := call(t, f, "ModifyInstanceAttribute", "InstanceId", "i-1")
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, Unsupported)
	status, _ = call(t, f, "DescribeImages", "Filter.1.Name", "tag:Name", "Filter.1.Value.1", "x")
	assert.Equal(t, http.StatusBadRequest, status)
	status, _ = call(t, f, "DescribeInstances", "Filter.1.Name", "instance-state-name", "Filter.1.Value.1", "running")
	assert.Equal(t, http.StatusBadRequest, status)
	r.mu.Lock()
	defer r.mu.Unlock()
	assert.Len(t, r.errs, 3)
	assert.Equal(t, "ModifyInstanceAttribute DescribeImages DescribeInstances", strings.Join(f.Actions(), " "))
}

// TestSourceAMIFilter: the source_ami_filter of example/amazon-windows
// (owners amazon, most_recent) finds the fake's Windows AMI, and the
// prevalidation's query for the AMI name (owner self) finds nothing.
func TestSourceAMIFilter(t *testing.T) {
	f := Start(t)
	status, body := call(t, f, "DescribeImages", "Owner.1", "amazon", "IncludeDeprecated", "false",
		"Filter.1.Name", "name", "Filter.1.Value.1", "Windows_Server-2022-English-Full-Base-*",
		"Filter.2.Name", "root-device-type", "Filter.2.Value.1", "ebs",
		"Filter.3.Name", "virtualization-type", "Filter.3.Value.1", "hvm")
	require.Equal(t, http.StatusOK, status, body)
	assert.Contains(t, body, "<imageId>"+f.SourceAMI()+"</imageId>")
	assert.Contains(t, body, "<platform>windows</platform>")

	status, body = call(t, f, "DescribeImages", "Owner.1", "self", "Filter.1.Name", "name",
		"Filter.1.Value.1", "Windows_Server-2022-English-Full-Base-*")
	require.Equal(t, http.StatusOK, status, body)
	assert.NotContains(t, body, "<imageId>")
}
