package script

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/steps"
)

// What the review of issue 22 found in the Windows script, held by reading
// the rendered default script: no Windows runs here, so these checks are
// about what the script says, not what Windows does with it. Each failed
// against the script before the fix.

func defaultWindows() string {
	return string(RenderWindows(WindowsParams{Steps: steps.Defaults(steps.Windows), Sysprep: "auto",
		SysprepTimeout: 30 * time.Minute, Mode: "enforce", DisableServices: []string{"Spooler"}}))
}

// The code of function name in the rendered script: from its line to the
// next top-level function.
func psFunction(t *testing.T, script, name string) string {
	t.Helper()
	i := strings.Index(script, "\nfunction "+name+" {")
	if i < 0 {
		i = strings.Index(script, "\nfunction "+name+"(")
	}
	if i < 0 {
		t.Fatalf("no function %s", name)
	}
	rest := script[i+1:]
	if j := strings.Index(rest[1:], "\nfunction "); j >= 0 {
		rest = rest[:j+1]
	}
	return rest
}

// Finding 1: nothing is left to a task at the instances' first boot (it ran
// while Setup may still run, with errors ignored, and removed itself
// whatever happened). The build account's password and the build's WinRM
// are final work of the handover, which fails closed: the machine stays up.
func TestWindowsNoFirstBootTask(t *testing.T) {
	s := defaultWindows()
	for _, gone := range []string{"Register-ScheduledTask", "New-ScheduledTaskTrigger", "first-boot"} {
		assert.NotContains(t, s, gone)
	}
	assert.Contains(t, psFunction(t, s, "Invoke-AccountsStep"), "Add-FinalWork 'accounts' 'Close-BuildAccount'")
	assert.Contains(t, psFunction(t, s, "Invoke-WinRMStep"), "Add-FinalWork 'winrm' 'Close-BuildWinRM'")
	runner := psFunction(t, s, "Invoke-Handover")
	assert.Regexp(t, `(?s)catch \{\n& \$tell "do not use this image: the final work \$c failed[^"]*"\nreturn\n\}`, runner,
		"a part of the final work that fails stops the runner before Sysprep and the power-off")
	assert.NotContains(t, runner, "'Continue'")
}

// Finding 2: the build's self-signed HTTPS listener and its key go; Windows'
// own HTTP listener and its firewall rules stay.
func TestWindowsWinRMKeepsWindowsDefaults(t *testing.T) {
	s := defaultWindows()
	closeFn := psFunction(t, s, "Close-BuildWinRM")
	// The listeners it works on are Get-HttpsListener's, which the runner
	// gets with it.
	assert.Contains(t, closeFn, "foreach ($l in Get-HttpsListener) {")
	assert.Contains(t, psFunction(t, s, "Invoke-WinRMStep"), "Add-FinalWork 'winrm' 'Close-BuildWinRM' @() \"WinRM: Basic auth and unencrypted traffic off, "+
		"self-signed HTTPS listeners removed with their certificates and keys\" @('Get-HttpsListener', 'New-List')")
	listeners := psFunction(t, s, "Get-HttpsListener")
	assert.Contains(t, listeners, "'Transport=HTTPS'")
	assert.NotContains(t, listeners, "'Transport=HTTP'", "no HTTP listener is removed")
	assert.NotContains(t, closeFn, "'Transport=HTTP'", "no HTTP listener is removed")
	assert.NotContains(t, closeFn, "NetFirewall", "no firewall rule is touched")
	assert.Contains(t, closeFn, "$cert.Subject -ne $cert.Issuer", "only self-signed certificates")
	assert.Contains(t, closeFn, "-DeleteKey")
	assert.Contains(t, closeFn, "Remove-Item -LiteralPath \"Cert:\\LocalMachine\\My\\$thumb\" -Force\nClear-FileData $file\n[IO.File]::Delete($file)",
		"the certificate, then its key's file overwritten and deleted")
	assert.Greater(t, strings.Index(closeFn, "foreach ($p in $listeners) { Remove-Item -Path $p -Recurse -Force }"),
		strings.Index(closeFn, "[IO.File]::Delete($file)"), "the listeners go last: the power-off watcher watches the build's port")
}

// Findings 3 and 4: EC2Config's BeforeSysprep.cmd runs before its Sysprep;
// no /mode:vm (AMIs launch on other hardware); the plain answer file keeps
// the drivers (PersistAllDeviceInstalls).
func TestWindowsSysprepCommands(t *testing.T) {
	s := defaultWindows()
	assert.NotContains(t, s, "/mode:vm")
	assert.Contains(t, s, `Scripts\BeforeSysprep.cmd'`)
	assert.Regexp(t, `'ec2config' \{ return @\{ Exe = \$SysprepExe; Needs = \$EC2ConfigAnswerFile; Before = \$EC2ConfigBeforeSysprep;`, s)
	assert.Contains(t, psFunction(t, s, "Invoke-Handover"), "if ($Before) {")
	assert.Contains(t, s, "<PersistAllDeviceInstalls>true</PersistAllDeviceInstalls>")
}

// Finding 5: EC2Launch v2 cleans its logs (--clean); the logs step takes
// the other agents' logs and the crash dumps.
func TestWindowsLogsAndCrashDumps(t *testing.T) {
	s := defaultWindows()
	assert.Contains(t, s, "Args = 'sysprep --block --clean'")
	assert.Contains(t, s, "@('reset', '--block', '--clean')")
	logs := psFunction(t, s, "Invoke-LogsStep")
	for _, p := range []string{`Amazon\EC2-Windows\Launch\Log`, `Amazon\Ec2ConfigService\Logs`, "MEMORY.DMP", "Minidump",
		`WER\ReportQueue`, `WER\ReportArchive`, "LiveKernelReports", `AppData\Local\CrashDumps`} {
		assert.Contains(t, logs, p)
	}
}

// Finding 6: no state file replaced under a reader (Move-Item -Force): there
// is no state file and no poll any more.
func TestWindowsNoStateFile(t *testing.T) {
	s := defaultWindows()
	assert.NotContains(t, s, "Move-Item")
	assert.NotContains(t, s, "state.txt")
}

// Finding 7: the report goes out as UTF-8, not in the console's OEM code
// page.
func TestWindowsReportIsUTF8(t *testing.T) {
	s := defaultWindows()
	assert.NotContains(t, s, "[Console]::Out")
	assert.Contains(t, s, "New-Object IO.StreamWriter([Console]::OpenStandardOutput(), (New-Object Text.UTF8Encoding($false)))")
	assert.Contains(t, psFunction(t, s, "Write-Line"), "$script:Stdout.WriteLine($Text)")
}

// Finding 8: the pagefile step does not claim that this build's shutdown
// clears the page file: Windows reads the setting at boot.
func TestWindowsPagefileClaim(t *testing.T) {
	s := psFunction(t, defaultWindows(), "Invoke-PagefileStep")
	assert.NotContains(t, s, "the build''s included")
	assert.Contains(t, s, "from the next boot on")
}

// The handover is started before the end marker and never after a failed
// step; every report line main.ps1 writes is a protocol kind.
func TestWindowsHandoverInMain(t *testing.T) {
	main := compactPS(file("windows/main.ps1"))
	i, j := strings.Index(main, "Start-Handover"), strings.Index(main, "@@ami-harden end ")
	assert.True(t, i > 0 && i < j, "the handover starts before the end marker")
	assert.Regexp(t, regexp.MustCompile(`if \(\$script:Failed.Count -gt 0\) \{\nWrite-Line "@@ami-harden handover withheld `), main)
}
