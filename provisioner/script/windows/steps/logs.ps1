# logs: the files the build's programs wrote about it, as the Linux step of
# the same name does. The EC2 launch agents log the build's first boot (user
# data runs, the WinRM set-up, passwords set); crash dumps hold whatever
# memory the crashed program or Windows had, secrets included. Everything
# in these folders is overwritten, then removed; the folders stay, for the
# agents and Windows to write the instances' own. EC2Launch v2 also cleans
# its own at Sysprep (sysprep --clean); its folder is here for builds that
# do not run it. A file a running program holds open stays and is named.
function Invoke-LogsStep {
    $dirs = @(
        (Join-Path $env:ProgramData 'Amazon\EC2Launch\log'),
        (Join-Path $env:ProgramData 'Amazon\EC2-Windows\Launch\Log'),
        (Join-Path $env:ProgramFiles 'Amazon\Ec2ConfigService\Logs'),
        (Join-Path $env:SystemRoot 'Minidump'),
        (Join-Path $env:SystemRoot 'LiveKernelReports'),
        (Join-Path $env:ProgramData 'Microsoft\Windows\WER\ReportQueue'),
        (Join-Path $env:ProgramData 'Microsoft\Windows\WER\ReportArchive'))
    foreach ($profilePath in Get-ProfilePaths) { $dirs += Join-Path $profilePath 'AppData\Local\CrashDumps' }
    $items = New-List
    $memoryDump = Join-Path $env:SystemRoot 'MEMORY.DMP'
    if (Test-Path -LiteralPath $memoryDump) { [void]$items.Add($memoryDump) }
    foreach ($dir in $dirs) {
        if (-not (Test-Path -LiteralPath $dir)) { continue }
        foreach ($item in @(Get-ChildItem -LiteralPath $dir -Force)) { [void]$items.Add($item.FullName) }
    }
    if ($Audit) {
        foreach ($i in $items) { Write-Finding 'logs' "$i exists" }
        Complete-Audit 'logs' 'no launch agent log or crash dump'
        return
    }
    $removed = 0
    $inUse = New-List
    $problems = New-List
    foreach ($i in $items) {
        try {
            Remove-Tree $i $true
            $removed++
        } catch {
            $why = Get-ErrorText $_
            if ($why -eq 'in use by another process') { [void]$inUse.Add($i) } else { [void]$problems.Add("$i ($why)") }
        }
    }
    if ($inUse.Count -gt 0) { Write-Note 'logs' "in use by running programs, left: $(Join-List $inUse)" }
    if ($problems.Count -gt 0) {
        Write-Report 'logs' 'failed' "could not remove $(Join-List $problems)"
    } elseif ($removed -gt 0) {
        Write-Report 'logs' 'changed' "overwrote and removed $removed launch agent log(s) and crash dump(s)"
    } else {
        Write-Report 'logs' 'ok' 'no launch agent log or crash dump'
    }
}
$script:Steps['logs'] = 'Invoke-LogsStep'
