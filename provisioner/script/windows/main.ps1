# main: checks that the run can start, then runs the selected steps in order,
# then hands over what must wait until the build has let go (handover.ps1).

# The script was read whole before it started: it can delete its own file.
if ($AmiHardenRemoveSelf -and $PSCommandPath) {
    Remove-Item -LiteralPath $PSCommandPath -Force -ErrorAction SilentlyContinue
}

$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    Write-Line '@@ami-harden abort not-admin: the script needs an elevated administrator (see elevated_user)'
    exit 2
}
# Preflight: once Sysprep runs, nothing of the build can report on it any
# more, and by then every other step has changed the machine. What makes it
# fail in the field is asked before the first change.
if (-not $Audit -and ($AmiHardenSteps -contains 'sysprep') -and $AmiHardenSysprep -ne 'none') {
    $blockers = Get-SysprepBlockers
    if ($blockers.Count -gt 0) {
        Write-Line "@@ami-harden abort sysprep-blocked: $(Join-List $blockers) (nothing was changed; a reboot pending: add a windows-restart provisioner before ami-harden)"
        exit 2
    }
}

Write-Line '@@ami-harden begin 1'
foreach ($step in $AmiHardenSteps) {
    Write-Line "@@ami-harden start $step"
    try {
        if (-not $script:Steps.Contains($step)) { throw "the script has no step $step" }
        & $script:Steps[$step]
    } catch {
        if (-not $script:Reported.ContainsKey($step)) {
            Write-Report $step 'failed' "stopped before reporting: $($_.Exception.Message)"
        }
    }
    if (-not $script:Reported.ContainsKey($step)) {
        Write-Report $step 'failed' 'the step ended without reporting'
    }
}
# The handover starts before the end marker, so that one that cannot start
# is part of the report; it waits for this process to end. Not after a
# failed step: the machine stays as it is, reachable, to be looked at.
if ($script:FinalWork.Count -gt 0 -or $script:Handover) {
    if ($script:Failed.Count -gt 0) {
        Write-Line "@@ami-harden handover withheld step(s) $($script:Failed -join ', ') failed, so this was not done: $(Get-HandoverText); the machine stays up and reachable"
    } else {
        $why = ''
        try { $why = Start-Handover } catch { $why = $_.Exception.Message }
        if ($why) {
            Write-Line "@@ami-harden abort handover-failed: could not start the process that does the work left for after the run ($why), so this was not done: $(Get-HandoverText); do not use this image"
            exit 2
        }
        Write-Line "@@ami-harden handover started after this run: $(Get-HandoverText); then the machine powers itself off, or stays up and says why in its Application event log and on COM1"
    }
}
Write-Line "@@ami-harden end $($script:Failed.Count)"
if ($script:Failed.Count -gt 0 -or $script:Findings.Count -gt 0) { exit 1 }
exit 0
