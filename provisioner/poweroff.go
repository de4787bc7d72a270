package provisioner

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/report"
)

// After a Windows run hands Sysprep over, the machine powers itself off
// only when Sysprep and the work left for after the build's last command
// all worked (script/windows/handover.ps1). The provisioner waits for that
// before it returns, so that no builder makes an image of a machine that is
// still generalising, whatever the builder does next (amazon-ebs stops the
// instance unless disable_stop_instance is set, and with a spot instance
// makes the image at once).
//
// It watches without logging in, or sending WinRM anything: once Sysprep
// runs, Windows refuses every new WinRM shell until the machine is off
// (hashicorp/packer#10129, #12320; hashicorp/packer-plugin-amazon#637), and
// the threads show nothing of the build that may reach it then. It only
// connects to the WinRM port and closes the connection. A machine that
// accepts the connection is up (Sysprep running, or the runner's final
// work); no connection for offFor in a row (refused, unreachable, timed
// out) means it is off. A WinRM service that restarts is back within
// seconds; a machine that is off does not answer again. The runner closes
// the build's HTTPS listener only as its last act before the power-off.
var (
	// offFor is how long the endpoint must stay silent to count as off.
	offFor = 30 * time.Second
	// probeEvery is the time between two looks.
	probeEvery = 5 * time.Second
	// probeTimeout bounds one look (the connection).
	probeTimeout = 5 * time.Second
)

// waitForPowerOff waits, up to within, for the machine at host:port to
// power itself off. It returns nil once it has, and an error naming what
// to do when it stays up, when its endpoint cannot be seen from here at
// all, or when the build is cancelled.
func waitForPowerOff(ctx context.Context, ui packersdk.Ui, host string, port int, within time.Duration) error {
	if host == "" || port == 0 {
		return fmt.Errorf("ami-harden: the communicator's host and port are unknown (%q, %d), so the power-off cannot be watched: "+
			"do not use this image unless the builder waited for the machine to stop by itself", host, port)
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	ui.Say(fmt.Sprintf("ami-harden: waiting up to %s (power_off_timeout) for the machine to power itself off; watching whether %s takes connections, without logging in", within, addr))
	started := time.Now()
	deadline := started.Add(within)
	var silentSince time.Time
	seen := false
	for {
		up := probe(ctx, addr)
		now := time.Now()
		switch {
		case up:
			seen, silentSince = true, time.Time{}
		case silentSince.IsZero():
			silentSince = now
		}
		if !seen && !silentSince.IsZero() && now.Sub(started) >= offFor {
			// Silent from the start: this machine's endpoint cannot be seen
			// from here (the communicator may reach it another way).
			return fmt.Errorf("ami-harden: %s did not answer from the start, so the power-off cannot be watched from here: "+
				"do not use this image unless the builder waited for the machine to stop by itself", addr)
		}
		if seen && !silentSince.IsZero() && now.Sub(silentSince) >= offFor {
			ui.Say(fmt.Sprintf("ami-harden: the machine powered itself off %s after the run (its WinRM port closed for %s): what was handed over is done",
				silentSince.Sub(started).Round(time.Second), offFor))
			return nil
		}
		if now.After(deadline) {
			return fmt.Errorf("ami-harden: the image is not hardened: the machine did not power itself off within power_off_timeout (%s) of the run, "+
				"so Sysprep or the work handed over after it failed or is still running; it says why in its Application event log (source ami-harden) "+
				"and on its serial console (EC2: the instance's system log, kept with packer build -on-error=abort). Do not use this image", within)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("ami-harden: cancelled while waiting for the machine to power itself off: the image may be half generalised, do not use it")
		case <-time.After(probeEvery):
		}
	}
}

// probe tells whether the machine accepts a TCP connection at addr.
func probe(ctx context.Context, addr string) bool {
	d := net.Dialer{Timeout: probeTimeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	_ = conn.Close()
	return true
}

// finishWindows says what the run handed over and waits for the power-off.
// It runs only after a run that is otherwise sound: a failed or incomplete
// run has already failed the build. A withheld handover leaves the machine
// up on purpose: nothing to wait for.
func finishWindows(ctx context.Context, ui packersdk.Ui, run *report.Run, generatedData map[string]interface{}, within time.Duration) error {
	if run.Handover().State != report.HandoverStarted {
		sayHandover(ui, run.Handover())
		return nil
	}
	sayHandover(ui, run.Handover())
	host, _ := generatedData["Host"].(string)
	return waitForPowerOff(ctx, ui, host, portOf(generatedData["Port"]), within)
}

// portOf is the communicator's port from the build's generated data, which
// may come through Packer's plugin RPC as any kind of number.
func portOf(v interface{}) int {
	switch p := v.(type) {
	case int:
		return p
	case int64:
		return int(p)
	case float64:
		return int(p)
	case string:
		n, _ := strconv.Atoi(p)
		return n
	}
	return 0
}
