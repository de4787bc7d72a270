# sysprep, always last: generalise the image so each instance gets its own
# SID, name and Administrator password.
#
# Sysprep must not run inside the WinRM command: it resets WinRM, and Packer's
# WinRM client then sees a dropped connection or a 401 instead of an exit
# status. So this step prepares the launch agent, writes a runner program and
# reports `detach`; main.ps1 starts the runner after the end marker as a
# process of its own (WMI's Win32_Process, outside the WinRM shell's job, so
# it survives WinRM's reset), and the provisioner polls its state with
# poll.ps1 until Sysprep is done. The runner verifies the image state itself;
# with sysprep_shutdown it shuts the machine down only after the provisioner
# has read that result. Nothing of it stays in the image: the runner's file
# removes itself as it starts, its state folder goes with the last poll.
$SysprepStateDir = Join-Path $AmiHardenHome 'sysprep'
$SysprepRunnerFile = Join-Path $AmiHardenHome 'sysprep-runner.ps1'
$SysprepAnswerPath = Join-Path $AmiHardenHome 'sysprep-unattend.xml'
$SysprepExe = Join-Path $env:SystemRoot 'System32\Sysprep\sysprep.exe'
$script:SysprepRunner = $null

# Resolve-SysprepMode: what `auto` means on this machine: the launch agent,
# else plain sysprep.exe.
function Resolve-SysprepMode {
    if ($AmiHardenSysprep -ne 'auto') { return $AmiHardenSysprep }
    $agent = Get-LaunchAgent
    if ($agent -ne 'none') { return $agent }
    return 'sysprep'
}

# Get-SysprepCommand: the program and arguments that generalise the image in
# Mode and return (never shut down: the runner does that after checking).
function Get-SysprepCommand([string]$Mode) {
    switch ($Mode) {
        'ec2launch-v2' { return @{ Exe = $EC2LaunchV2Exe; Needs = $EC2LaunchV2Exe; Args = 'sysprep --block' } }
        'ec2launch-v1' {
            # The agent's script, through Windows PowerShell by its full path
            # (the step checks that Exe and Needs exist; Test-Path does not
            # search the PATH).
            $prep = Join-Path $EC2LaunchV1Scripts 'SysprepInstance.ps1'
            return @{ Exe = (Join-Path $env:SystemRoot 'System32\WindowsPowerShell\v1.0\powershell.exe'); Needs = $prep
                Args = "-NoProfile -NonInteractive -ExecutionPolicy Bypass -File `"$prep`" -NoShutdown" }
        }
        'ec2config' { return @{ Exe = $SysprepExe; Needs = $EC2ConfigAnswerFile; Args = "/generalize /oobe /quiet /quit /mode:vm /unattend:`"$EC2ConfigAnswerFile`"" } }
        default { return @{ Exe = $SysprepExe; Needs = $SysprepExe; Args = "/generalize /oobe /quiet /quit /mode:vm /unattend:`"$SysprepAnswerPath`"" } }
    }
}

# The answer file of plain sysprep mode: OOBE passes without anyone at the
# console (an instance would wait there otherwise). It holds no password.
$SysprepAnswerFile = @'
<?xml version="1.0" encoding="utf-8"?>
<unattend xmlns="urn:schemas-microsoft-com:unattend">
  <settings pass="oobeSystem">
    <component name="Microsoft-Windows-Shell-Setup" processorArchitecture="amd64" publicKeyToken="31bf3856ad364e35" language="neutral" versionScope="nonSxS">
      <OOBE>
        <HideEULAPage>true</HideEULAPage>
        <HideLocalAccountScreen>true</HideLocalAccountScreen>
        <HideOnlineAccountScreens>true</HideOnlineAccountScreens>
        <HideWirelessSetupInOOBE>true</HideWirelessSetupInOOBE>
        <ProtectYourPC>3</ProtectYourPC>
        <SkipMachineOOBE>true</SkipMachineOOBE>
        <SkipUserOOBE>true</SkipUserOOBE>
      </OOBE>
    </component>
  </settings>
</unattend>
'@

# Reset-LaunchAgent: the agent's run-once state reset, so that it sets a new
# password (and runs its other first-boot tasks) on every instance. Plain
# sysprep mode does it too when an agent is there: else no new password.
function Reset-LaunchAgent {
    switch (Get-LaunchAgent) {
        'ec2launch-v2' {
            $r = Invoke-Native $EC2LaunchV2Exe @('reset', '--block')
            if ($r.Exit -ne 0) { throw "ec2launch reset --block exited $($r.Exit): $($r.Output)" }
            return 'ec2launch reset --block'
        }
        'ec2launch-v1' {
            & (Join-Path $EC2LaunchV1Scripts 'InitializeInstance.ps1') -Schedule
            return 'InitializeInstance.ps1 -Schedule'
        }
    }
    return ''
}

# Get-ImageState: Setup's ImageState, or '(none)'.
function Get-ImageState {
    $s = Get-ItemProperty -Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Setup\State' -ErrorAction SilentlyContinue
    if ($s -and ($s.PSObject.Properties.Name -contains 'ImageState')) { return [string]$s.ImageState }
    return '(none)'
}

function Invoke-SysprepStep {
    $mode = Resolve-SysprepMode
    if ($mode -eq 'none') {
        Write-Report 'sysprep' 'skipped' 'sysprep = "none"'
        return
    }
    $command = Get-SysprepCommand $mode
    if ($Audit) {
        foreach ($r in Get-PendingReboot) { Write-Finding 'sysprep' "a reboot is pending ($r): Sysprep would hang or fail" }
        foreach ($f in $command.Exe, $command.Needs) {
            if (-not (Test-Path -LiteralPath $f)) { Write-Finding 'sysprep' "$f is not there for sysprep mode $mode" }
        }
        Complete-Audit 'sysprep' "audit runs no Sysprep; enforce would run $mode (ImageState now $(Get-ImageState))"
        return
    }
    if ($script:Failed.Count -gt 0) {
        Write-Report 'sysprep' 'failed' "not started because step(s) $($script:Failed -join ', ') failed: the machine stays reachable to fix them"
        return
    }
    foreach ($f in $command.Exe, $command.Needs) {
        if (-not (Test-Path -LiteralPath $f)) {
            Write-Report 'sysprep' 'failed' "$f is not there for sysprep mode $mode"
            return
        }
    }
    $done = @()
    $reset = Reset-LaunchAgent
    if ($reset) { $done += $reset }
    if (Test-Path -LiteralPath $SysprepStateDir) { Remove-Item -LiteralPath $SysprepStateDir -Recurse -Force }
    [void](New-Item -ItemType Directory -Path $SysprepStateDir -Force)
    # The poll runs as the WinRM login user, which may lack the elevated
    # token this script has: it may read and change the state folder (only
    # state and ack live there; the runner's program does not).
    if ($AmiHardenBuildUser) {
        $acl = Get-Acl -LiteralPath $SysprepStateDir
        $rule = New-Object Security.AccessControl.FileSystemAccessRule($AmiHardenBuildUser, 'Modify', 'ContainerInherit,ObjectInherit', 'None', 'Allow')
        $acl.AddAccessRule($rule)
        Set-Acl -LiteralPath $SysprepStateDir -AclObject $acl
    }
    if ($mode -eq 'sysprep') {
        # Sysprep keeps its own copy (Panther\unattend.xml); the runner removes this one.
        [IO.File]::WriteAllText($SysprepAnswerPath, $SysprepAnswerFile)
        $done += 'wrote an answer file that passes OOBE unattended'
    }
    $runner = $SysprepRunnerFile
    $body = (Get-Item -LiteralPath 'function:Invoke-SysprepRunner').ScriptBlock.ToString()
    $q = { param($s) "'" + ($s -replace "'", "''") + "'" }
    $call = "Invoke-SysprepRunner -Mode $(& $q $mode) -Program $(& $q $command.Exe) -Arguments $(& $q $command.Args) " +
        "-StateDir $(& $q $SysprepStateDir) -Self $(& $q $runner) -Answer $(& $q $SysprepAnswerPath) -Shutdown $(& $q ([string]$AmiHardenSysprepShutdown))"
    [IO.File]::WriteAllText($runner, "function Invoke-SysprepRunner {$body}`r`n$call`r`n", (New-Object Text.UTF8Encoding($true)))
    $script:SysprepRunner = $runner
    $how = if ($AmiHardenSysprepShutdown) { 'then shuts the machine down' } else { 'and leaves the machine running for the builder to stop' }
    $prepared = if ($done) { " (prepared: $($done -join '; '))" } else { '' }
    Write-Line "@@ami-harden detach sysprep $mode runs as a process of its own after this report, checks ImageState $how$prepared"
}

# Start-SysprepRunner: main.ps1 calls it after the end marker. A process
# created through WMI is not in the WinRM shell's job: it lives on when
# WinRM closes the shell or restarts.
function Start-SysprepRunner {
    $line = "powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File `"$script:SysprepRunner`""
    $r = Invoke-CimMethod -ClassName Win32_Process -MethodName Create -Arguments @{ CommandLine = $line }
    if ($r.ReturnValue -ne 0) {
        # Nobody reads a report line now; the poll finds no state and fails the build.
        [Console]::Error.WriteLine("ami-harden: could not start the Sysprep runner: Win32_Process.Create returned $($r.ReturnValue)")
    }
}

# Invoke-SysprepRunner: the detached program, written to its own file. It
# runs Sysprep, checks ImageState, and leaves one line in state.txt for the
# poll: running, done or failed. With Shutdown, it waits for the poll's ack
# (the provisioner has the result) and shuts the machine down.
function Invoke-SysprepRunner {
    param([string]$Mode, [string]$Program, [string]$Arguments, [string]$StateDir, [string]$Self, [string]$Answer, [string]$Shutdown)
    $ErrorActionPreference = 'Stop'
    $state = Join-Path $StateDir 'state.txt'
    # This file was read whole: it goes now, before Sysprep.
    Remove-Item -LiteralPath $Self -Force -ErrorAction SilentlyContinue
    $set = { param($text) [IO.File]::WriteAllText("$state.new", $text); Move-Item -LiteralPath "$state.new" -Destination $state -Force }
    & $set "running $Mode since $(Get-Date -Format s)"
    # Packer reads the rest of the report before Sysprep resets WinRM.
    Start-Sleep -Seconds 10
    try {
        $p = Start-Process -FilePath $Program -ArgumentList $Arguments -Wait -PassThru -WindowStyle Hidden
        $exit = $p.ExitCode
    } catch {
        & $set "failed $Mode could not start $Program`: $($_.Exception.Message)"
        return
    }
    # Sysprep has its own copy of the answer file by now.
    Remove-Item -LiteralPath $Answer -Force -ErrorAction SilentlyContinue
    $s = Get-ItemProperty -Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Setup\State' -ErrorAction SilentlyContinue
    $image = if ($s -and ($s.PSObject.Properties.Name -contains 'ImageState')) { [string]$s.ImageState } else { '(none)' }
    if ($image -ne 'IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE') {
        & $set "failed $Mode exited $exit, ImageState $image"
        return
    }
    & $set "done $Mode exited $exit, ImageState $image"
    if ($Shutdown -ne 'True') { return }
    for ($i = 0; $i -lt 3600 -and -not (Test-Path -LiteralPath (Join-Path $StateDir 'ack')); $i++) { Start-Sleep -Seconds 1 }
    if (-not (Test-Path -LiteralPath (Join-Path $StateDir 'ack'))) { return }
    # The poll that wrote ack is still sending its result to Packer.
    Start-Sleep -Seconds 5
    Remove-Item -LiteralPath $StateDir -Recurse -Force
    $parent = Split-Path -Parent $StateDir
    if (-not @(Get-ChildItem -LiteralPath $parent -Force)) { Remove-Item -LiteralPath $parent -Force }
    & shutdown.exe /s /t 0 /d p:4:1 /c 'ami-harden: Sysprep done'
}
$script:Steps['sysprep'] = 'Invoke-SysprepStep'
