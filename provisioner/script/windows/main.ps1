# main: checks that the run can start, then runs the selected steps in order.

# The script was read whole before it started: it can delete its own file.
if ($AmiHardenRemoveSelf -and $PSCommandPath) {
    Remove-Item -LiteralPath $PSCommandPath -Force -ErrorAction SilentlyContinue
}

$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    Write-Line '@@ami-harden abort not-admin: the script needs an elevated administrator (see elevated_user)'
    exit 2
}
# Preflight: Sysprep with a reboot pending hangs or fails, and by then every
# other step has changed the machine. Asked before the first change.
if (-not $Audit -and ($AmiHardenSteps -contains 'sysprep') -and $AmiHardenSysprep -ne 'none') {
    $pending = Get-PendingReboot
    if ($pending.Count -gt 0) {
        Write-Line "@@ami-harden abort reboot-pending: a reboot is pending ($($pending -join ', ')) and Sysprep would hang or fail; add a windows-restart provisioner before ami-harden"
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
    if (-not $script:Reported.ContainsKey($step) -and -not ($step -eq 'sysprep' -and $script:SysprepRunner)) {
        Write-Report $step 'failed' 'the step ended without reporting'
    }
}
Write-Line "@@ami-harden end $($script:Failed.Count)"
if ((Test-Path variable:script:SysprepRunner) -and $script:SysprepRunner) {
    Start-SysprepRunner
}
if ($script:Failed.Count -gt 0 -or $script:Findings.Count -gt 0) { exit 1 }
exit 0
