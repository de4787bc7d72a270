# sysprep, always last: generalise the image so each instance gets its own
# SID, name and Administrator password.
#
# Sysprep runs after the run, in the handover's process of its own
# (handover.ps1): once it begins, Windows refuses every new WinRM logon until
# the machine is off, so nothing of the build may come after it. This step
# checks in the run what makes Sysprep fail in the field (main.ps1 asks
# Get-SysprepBlockers before the first change), resets the launch agent,
# writes the answer file, and hands Sysprep over. The handover powers the
# machine off only when ImageState says generalised, and the provisioner
# waits for that power-off (provisioner/poweroff.go).
$SysprepAnswerPath = Join-Path $AmiHardenHome 'sysprep-unattend.xml'
$SysprepExe = Join-Path $env:SystemRoot 'System32\Sysprep\sysprep.exe'
$EC2ConfigBeforeSysprep = Join-Path $env:ProgramFiles 'Amazon\Ec2ConfigService\Scripts\BeforeSysprep.cmd'

# Resolve-SysprepMode: what `auto` means on this machine: the launch agent,
# else plain sysprep.exe.
function Resolve-SysprepMode {
    if ($AmiHardenSysprep -ne 'auto') { return $AmiHardenSysprep }
    $agent = Get-LaunchAgent
    if ($agent -ne 'none') { return $agent }
    return 'sysprep'
}

# Get-SysprepCommand: the program and arguments that generalise the image in
# Mode and return (never shut down: the handover does that after checking).
# No /mode:vm: it is only for redeploying on the same virtual hardware, and
# an AMI launches on other instance families; AWS's agents do not use it.
# EC2Launch v2's --clean removes its own logs of the build.
function Get-SysprepCommand([string]$Mode) {
    switch ($Mode) {
        'ec2launch-v2' { return @{ Exe = $EC2LaunchV2Exe; Needs = $EC2LaunchV2Exe; Before = ''; Args = 'sysprep --block --clean' } }
        'ec2launch-v1' {
            # The agent's script, through Windows PowerShell by its full path
            # (Test-Path does not search the PATH).
            $prep = Join-Path $EC2LaunchV1Scripts 'SysprepInstance.ps1'
            return @{ Exe = (Join-Path $env:SystemRoot 'System32\WindowsPowerShell\v1.0\powershell.exe'); Needs = $prep; Before = ''
                Args = "-NoProfile -NonInteractive -ExecutionPolicy Bypass -File `"$prep`" -NoShutdown" }
        }
        # EC2Config's answer file, after its BeforeSysprep.cmd, as its own
        # Shutdown with Sysprep does.
        'ec2config' { return @{ Exe = $SysprepExe; Needs = $EC2ConfigAnswerFile; Before = $EC2ConfigBeforeSysprep; Args = "/generalize /oobe /quiet /quit /unattend:`"$EC2ConfigAnswerFile`"" } }
        default { return @{ Exe = $SysprepExe; Needs = $SysprepExe; Before = ''; Args = "/generalize /oobe /quiet /quit /unattend:`"$SysprepAnswerPath`"" } }
    }
}

# The answer file of plain sysprep mode: OOBE passes without anyone at the
# console (an instance would wait there otherwise), and the drivers stay
# installed through generalize (PersistAllDeviceInstalls, as EC2Config's own
# answer file sets it), so the image boots on other instance families. It
# holds no password.
$SysprepAnswerFile = @'
<?xml version="1.0" encoding="utf-8"?>
<unattend xmlns="urn:schemas-microsoft-com:unattend">
  <settings pass="generalize">
    <component name="Microsoft-Windows-PnpSysprep" processorArchitecture="amd64" publicKeyToken="31bf3856ad364e35" language="neutral" versionScope="nonSxS">
      <PersistAllDeviceInstalls>true</PersistAllDeviceInstalls>
    </component>
  </settings>
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
            $r = Invoke-Native $EC2LaunchV2Exe @('reset', '--block', '--clean')
            if ($r.Exit -ne 0) { throw "ec2launch reset --block --clean exited $($r.Exit): $($r.Output)" }
            return 'ec2launch reset --block --clean'
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

# Get-SysprepBlockers: what would make Sysprep fail once it runs, when
# nothing of the build can report it any more: a pending reboot, an app
# installed for a user but not provisioned for all (Sysprep's AppX check
# fails the generalize), the program or files of the mode missing. main.ps1
# aborts before the first change on any of them.
function Get-SysprepBlockers {
    $out = New-List
    foreach ($r in Get-PendingReboot) { [void]$out.Add("a reboot is pending ($r): Sysprep would hang or fail") }
    $mode = Resolve-SysprepMode
    if ($mode -eq 'none') { return , $out }
    $command = Get-SysprepCommand $mode
    foreach ($f in @($command.Exe, $command.Needs, $command.Before) | Where-Object { $_ } | Select-Object -Unique) {
        if (-not (Test-Path -LiteralPath $f)) { [void]$out.Add("$f is not there for sysprep mode $mode") }
    }
    if ((Get-Command -Name Get-AppxPackage -ErrorAction SilentlyContinue) -and (Get-Command -Name Get-AppxProvisionedPackage -ErrorAction SilentlyContinue)) {
        $provisioned = @(Get-AppxProvisionedPackage -Online | ForEach-Object { $_.DisplayName })
        foreach ($a in @(Get-AppxPackage -AllUsers)) {
            if ($a.IsFramework -or $a.NonRemovable -or [string]$a.SignatureKind -eq 'System') { continue }
            if ($provisioned -notcontains $a.Name) {
                [void]$out.Add("the app $($a.Name) is installed for a user but not provisioned for all users: Sysprep fails on it (remove it with Remove-AppxPackage -AllUsers, or provision it)")
            }
        }
    }
    return , $out
}

function Invoke-SysprepStep {
    $mode = Resolve-SysprepMode
    if ($mode -eq 'none') {
        Write-Report 'sysprep' 'skipped' 'sysprep = "none"'
        return
    }
    $command = Get-SysprepCommand $mode
    if ($Audit) {
        foreach ($b in Get-SysprepBlockers) { Write-Finding 'sysprep' $b }
        Complete-Audit 'sysprep' "audit runs no Sysprep; enforce would hand over $mode (ImageState now $(Get-ImageState))"
        return
    }
    if ($script:Failed.Count -gt 0) {
        Write-Report 'sysprep' 'failed' "not handed over because step(s) $($script:Failed -join ', ') failed: the machine stays reachable to fix them"
        return
    }
    $done = @()
    $reset = Reset-LaunchAgent
    if ($reset) { $done += $reset }
    if ($mode -eq 'sysprep') {
        if (-not (Test-Path -LiteralPath $AmiHardenHome)) { [void](New-Item -ItemType Directory -Path $AmiHardenHome) }
        # Sysprep keeps its own copy (Panther\unattend.xml); the handover removes this one.
        [IO.File]::WriteAllText($SysprepAnswerPath, $SysprepAnswerFile)
        $done += 'wrote an answer file that passes OOBE unattended'
    }
    $answer = if ($mode -eq 'sysprep') { $SysprepAnswerPath } else { '' }
    Set-SysprepHandover $mode $command.Exe $command.Args $command.Before $answer
    $prepared = if ($done) { " (prepared: $($done -join '; '))" } else { '' }
    Write-Report 'sysprep' 'changed' "handed over: $mode runs after this run, in a process of its own, and powers the machine off when ImageState is IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE; otherwise the machine stays up$prepared"
}
$script:Steps['sysprep'] = 'Invoke-SysprepStep'
