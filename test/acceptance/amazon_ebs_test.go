package acceptance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/acctest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ami-harden/packer-plugin-ami-harden/test/ec2fake"
	"github.com/ami-harden/packer-plugin-ami-harden/test/winrmfake"
)

// The amazon-ebs tests: real `packer build`s with packer-plugin-amazon's
// amazon-ebs builder against a fake EC2 (test/ec2fake) whose Windows
// instance is a fake Windows machine's WinRM service (test/winrmfake) on
// 127.0.0.1. The one provisioner is ami-harden's default block: the fake
// machine answers its script with a recorded run
// (testdata/windows/full-report.txt) that hands Sysprep over, then behaves
// as the public record says a generalizing EC2 Windows instance does
// (winrmfake.Generalizing: every new WinRM shell refused with 401 until the
// power-off), and its power-off stops the fake EC2's instance. ami-harden
// waits for that power-off before it returns (provisioner/poweroff.go);
// then amazon-ebs, whether it stops the instance itself (its default) or
// waits for the guest to (disable_stop_instance), makes the AMI of a
// stopped instance (builder/common/step_stop_ebs_instance.go). No root, no
// rig.

// amazonEBSTemplate is a Windows amazon-ebs build over WinRM, pointed at
// the fakes by its variables, with SOURCE_SETTINGS in its source and
// PROVISIONER_SETTINGS in the ami-harden block.
const amazonEBSTemplate = `
variable "ec2_endpoint" {
  type = string
}
variable "source_ami" {
  type = string
}
variable "winrm_host" {
  type = string
}
variable "winrm_port" {
  type = number
}
variable "winrm_username" {
  type = string
}
variable "winrm_password" {
  type      = string
  sensitive = true
}

source "amazon-ebs" "windows" {
  region              = "` + ec2fake.Region + `"
  custom_endpoint_ec2 = var.ec2_endpoint
  # Credentials come from the environment (amazonEBSBuild): nothing to
  # validate against AWS.
  skip_credential_validation = true

  source_ami    = var.source_ami
  instance_type = "t3.large"
  ami_name      = "ami-harden-ebs-test-{{timestamp}}"
  tags = {
    Name = "ami-harden-ebs-test"
  }

  communicator   = "winrm"
  winrm_host     = var.winrm_host
  winrm_port     = var.winrm_port
  winrm_username = var.winrm_username
  winrm_password = var.winrm_password
  winrm_timeout  = "1m"

  SOURCE_SETTINGS
}

build {
  sources = ["source.amazon-ebs.windows"]

  provisioner "ami-harden" {
    PROVISIONER_SETTINGS
  }
}
`

// amazonEBSBuildTimeout bounds one build: a hung build fails its test.
const amazonEBSBuildTimeout = 90 * time.Second

// amazonEBSAcc skips without PACKER_ACC, checks that packer and
// packer-plugin-amazon are there, and runs the test in parallel with the
// other WinRM tests.
func amazonEBSAcc(t *testing.T) {
	t.Helper()
	if os.Getenv(acctest.TestEnvVar) == "" {
		t.Skipf("acceptance tests run only with %s=1 (make testacc)", acctest.TestEnvVar)
	}
	_, err := exec.LookPath("packer")
	require.NoError(t, err, "packer must be on PATH (PATH=$PWD/bin:$PATH)")
	pluginPath := os.Getenv("PACKER_PLUGIN_PATH")
	if pluginPath == "" {
		home, _ := os.UserHomeDir()
		pluginPath = filepath.Join(home, ".config", "packer", "plugins")
	}
	for plugin, how := range map[string]string{"hashicorp/amazon/packer-plugin-amazon_*": "make amazon-plugin", "ami-harden/ami-harden/packer-plugin-ami-harden_*": "make dev"} {
		if m, _ := filepath.Glob(filepath.Join(pluginPath, "github.com", plugin)); len(m) == 0 {
			t.Fatalf("no %s in PACKER_PLUGIN_PATH=%s: run %s", plugin, pluginPath, how)
		}
	}
	t.Parallel()
}

// amazonEBSBuild runs `packer build` of amazonEBSTemplate (with the source's
// and the provisioner's settings) against ec2 and
// machine, with the environment's AWS_* variables replaced by env (static
// credentials, no instance metadata, no shared config files), and returns
// packer's output, its log (PACKER_LOG) and its error.
func amazonEBSBuild(t *testing.T, ec2 *ec2fake.Fake, machine *winrmfake.Fake, source, provisioner string, env ...string) (string, string, error) {
	t.Helper()
	dir := t.TempDir()
	tmpl := strings.NewReplacer("SOURCE_SETTINGS", source, "PROVISIONER_SETTINGS", provisioner).Replace(amazonEBSTemplate)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "build.pkr.hcl"), []byte(tmpl), 0o644))
	logfile := filepath.Join(dir, "packer.log")

	cmd := exec.Command("packer", "build", "-color=false",
		"-var", "ec2_endpoint="+ec2.URL(), "-var", "source_ami="+ec2.SourceAMI(),
		"-var", "winrm_host="+machine.Host(), "-var", "winrm_port="+strconv.Itoa(machine.Port()),
		"-var", "winrm_username="+machine.User(), "-var", "winrm_password="+machine.Password(), ".")
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "CHECKPOINT_DISABLE=1", "PACKER_LOG=1", "PACKER_LOG_PATH="+logfile,
		"AWS_ACCESS_KEY_ID=AKIDFAKEFORTHETEST00", "AWS_SECRET_ACCESS_KEY=fake",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE="+filepath.Join(dir, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "no-aws-credentials"))
	cmd.Env = append(cmd.Env, env...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}

	started := time.Now()
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	ctx, cancel := context.WithTimeout(context.Background(), amazonEBSBuildTimeout)
	defer cancel()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // packer and its plugins
		err = fmt.Errorf("packer build did not finish within %s (killed: %v)", amazonEBSBuildTimeout, <-done)
	}
	t.Logf("packer build: %s, %v", time.Since(started).Round(100*time.Millisecond), err)
	log, _ := os.ReadFile(logfile)
	return out.String(), string(log), err
}

// ebsLogEC2 logs the fake EC2's calls, instances and images.
func ebsLogEC2(t *testing.T, ec2 *ec2fake.Fake) {
	t.Helper()
	var calls []string
	for _, c := range ec2.Calls() {
		calls = append(calls, fmt.Sprintf("%3d %s", c.Seq, c))
	}
	t.Logf("EC2 calls:\n%s", strings.Join(calls, "\n"))
	for _, in := range ec2.Instances() {
		t.Logf("instance %s: %s (states %s; reason %q)", in.ID, in.State, strings.Join(in.States, " -> "), in.StateReason)
	}
	for _, im := range ec2.Images() {
		t.Logf("image %s %q: %s, from %s while %s", im.ID, im.Name, im.State, im.InstanceID, im.InstanceState)
	}
}

// ebsCount is how many calls of action there were.
func ebsCount(ec2 *ec2fake.Fake, action string) int {
	n := 0
	for _, a := range ec2.Actions() {
		if a == action {
			n++
		}
	}
	return n
}

// ebsCleanedUp: the build's temporary key pair and security group are
// gone, and its one instance is terminated.
func ebsCleanedUp(t *testing.T, ec2 *ec2fake.Fake) ec2fake.Instance {
	t.Helper()
	assert.Empty(t, ec2.KeyPairs(), "temporary key pairs left")
	assert.Empty(t, ec2.SecurityGroups(), "temporary security groups left")
	instances := ec2.Instances()
	require.Len(t, instances, 1, "instances launched")
	assert.Equal(t, ec2fake.Terminated, instances[0].State, "the instance at the end")
	return instances[0]
}

// ebsMachine is a fake Windows machine for an amazon-ebs build: it answers
// ami-harden's script with the recorded run that hands Sysprep over, then
// generalizes (winrmfake.Generalizing: after a second, every new WinRM
// request refused with 401) and, when powerOff is not 0, powers off that
// long later, which stops ec2's running instance. poweredOff gets the
// result of that stop. mark gets the number of EC2 calls made when the
// script's command came: the builder's wait for the stop comes after them.
func ebsMachine(t *testing.T, ec2 *ec2fake.Fake, powerOff time.Duration, poweredOff chan<- error, mark *atomic.Int64) *winrmfake.Fake {
	t.Helper()
	run := winrmfake.Reply{Stdout: windowsOutput(t, "full-report.txt"), Then: winrmfake.Generalizing(time.Second, powerOff)}
	return winrmfake.Start(t, winrmfake.Options{
		Responder: winrmfake.ResponderFunc(func(c winrmfake.Command) winrmfake.Reply {
			if !scriptRun(c) {
				return winrmfake.DefaultReply(c)
			}
			mark.Store(int64(len(ec2.Calls())))
			return run
		}),
		OnPowerOff: func() {
			id, running := ec2.Running()
			if !running {
				poweredOff <- errors.New("no instance was running when the machine powered off")
				return
			}
			poweredOff <- ec2.PowerOff(id)
		},
	})
}

// ebsLooks are the states the DescribeInstances calls after mark saw, up to
// the first call of another action (CreateImage, or TerminateInstances in
// the cleanup), and that action.
func ebsLooks(ec2 *ec2fake.Fake, mark int64) ([]string, string) {
	var looks []string
	for _, c := range ec2.Calls()[mark:] {
		if c.Action != "DescribeInstances" {
			return looks, c.Action
		}
		looks = append(looks, c.Detail[strings.LastIndex(c.Detail, " ")+1:])
	}
	return looks, ""
}

// ebsOneRun: over WinRM the build ran the connection check and the script,
// and nothing after the script's run but that command's own Signal and
// Delete.
func ebsOneRun(t *testing.T, m *winrmfake.Fake) {
	t.Helper()
	runs := m.Runs()
	require.Len(t, runs, 2, "the connection check and the script: nothing over WinRM after the handover")
	require.True(t, scriptRun(runs[1]) && runs[1].Finished, "the script's run: %.100s", runs[1].Text())
	assertNothingAfterGeneralize(t, m, runs[1])
}

// TestAmazonEBSWindowsGeneralized: the whole Windows flow, in the outcome
// that makes an image, with amazon-ebs as it is by default and with
// disable_stop_instance. ami-harden's run hands Sysprep over and ends; the
// machine then refuses WinRM (generalizing) and powers itself off;
// ami-harden sees the power-off (its WinRM endpoint silent) and returns.
// amazon-ebs then finds the instance stopping or stopped, calls
// StopInstances (by default, which changes nothing then) or not, and makes
// exactly one AMI from the stopped instance. Nothing of the build went over
// WinRM after the script's run.
func TestAmazonEBSWindowsGeneralized(t *testing.T) {
	amazonEBSAcc(t)
	for _, c := range []struct {
		name, source string
		stops        int
	}{
		{"builder default", "", 1},
		{"disable_stop_instance", "disable_stop_instance = true", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ec2 := ec2fake.Start(t)
			poweredOff := make(chan error, 1)
			var mark atomic.Int64
			m := ebsMachine(t, ec2, 2*time.Second, poweredOff, &mark)

			out, log, err := amazonEBSBuild(t, ec2, m, c.source, "", "AWS_POLL_DELAY_SECONDS=1")
			ebsLogEC2(t, ec2)
			logWinRMStats(t, m)
			if err != nil {
				t.Fatalf("packer build: %v\n%s\nlog ends:\n%s", err, out, ebsTail(log, 40))
			}
			select {
			case err := <-poweredOff:
				require.NoError(t, err, "the machine's power-off stops the instance")
			default:
				t.Fatalf("the machine never powered off:\n%s", out)
			}

			for _, want := range []string{
				"sysprep        changed  handed over: ec2launch-v2 runs after this run",
				"ami-harden: handed over to a process on the machine: after this run:",
				"ami-harden: waiting up to 45m0s (power_off_timeout) for the machine to power itself off",
				"ami-harden: the machine powered itself off",
				"ami-harden: 18 of 18 steps reported: 9 changed, 8 ok, 1 skipped, 0 failed",
			} {
				assert.Contains(t, out, want)
			}
			ebsOneRun(t, m)
			assert.False(t, m.PoweredOff().IsZero())

			assert.Equal(t, c.stops, ebsCount(ec2, "StopInstances"), "StopInstances calls")
			instance := ebsCleanedUp(t, ec2)
			assert.Equal(t, []string{ec2fake.Pending, ec2fake.Running, ec2fake.Stopping, ec2fake.Stopped, ec2fake.ShuttingDown, ec2fake.Terminated},
				instance.States, "the instance's states")
			images := ec2.Images()
			require.Len(t, images, 1, "AMIs registered")
			assert.Equal(t, instance.ID, images[0].InstanceID, "the AMI's instance")
			assert.True(t, images[0].FromStopped, "the AMI was made from a stopped instance (it was %s)", images[0].InstanceState)
			assert.Equal(t, "available", images[0].State)
			assert.Contains(t, out, images[0].ID, "packer names the AMI")

			// What amazon-ebs saw of the instance from the script's run to
			// CreateImage: never a running instance after ami-harden
			// returned, which it did only once the machine was off.
			looks, next := ebsLooks(ec2, mark.Load())
			t.Logf("after the script's run, EC2 saw: %s; then %s", strings.Join(looks, ", "), next)
			if c.stops == 0 {
				assert.Equal(t, "CreateImage", next)
				assert.Equal(t, []string{ec2fake.Stopping, ec2fake.Stopped}, looks, "the stop waiter's looks")
			} else {
				assert.Equal(t, "StopInstances", next, "amazon-ebs's own stop, of a machine already off")
				assert.Empty(t, looks)
			}
		})
	}
}

// TestAmazonEBSWindowsSysprepFailed: the same build, in the outcome that
// must make no image: Sysprep fails on the machine after the handover, so
// the machine stays up (and refuses WinRM, as the threads show it doing
// once generalizing began). ami-harden's wait for the power-off ends at
// power_off_timeout and fails the build: amazon-ebs never stops the
// instance or makes an image, and terminates it; nothing went over WinRM
// after the script's run.
func TestAmazonEBSWindowsSysprepFailed(t *testing.T) {
	amazonEBSAcc(t)
	ec2 := ec2fake.Start(t)
	var mark atomic.Int64
	m := ebsMachine(t, ec2, 0, nil, &mark)

	out, log, err := amazonEBSBuild(t, ec2, m, "disable_stop_instance = true", `power_off_timeout = "10s"`, "AWS_POLL_DELAY_SECONDS=1")
	ebsLogEC2(t, ec2)
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("packer build: %v, want a failed build\n%s\nlog ends:\n%s", err, out, ebsTail(log, 40))
	}
	assert.Contains(t, out, "ami-harden: handed over to a process on the machine: after this run:")
	assert.Contains(t, out, "the machine did not power itself off within power_off_timeout (10s) of the run")
	assert.Empty(t, ec2.Images(), "AMIs registered")
	assert.Zero(t, ebsCount(ec2, "CreateImage"), "CreateImage calls")
	assert.Zero(t, ebsCount(ec2, "StopInstances"), "StopInstances calls")
	assert.True(t, m.PoweredOff().IsZero(), "the machine stayed up")
	ebsOneRun(t, m)
	instance := ebsCleanedUp(t, ec2)
	assert.Equal(t, []string{ec2fake.Pending, ec2fake.Running, ec2fake.ShuttingDown, ec2fake.Terminated},
		instance.States, "the instance's states")
	_, next := ebsLooks(ec2, mark.Load())
	assert.Equal(t, "TerminateInstances", next, "after the script's run, the cleanup")
}

// ebsTail is the last n lines of s.
func ebsTail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
