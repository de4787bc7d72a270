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
    $r = Remove-Each $items
    Write-Removal 'logs' $r 'in use by running programs, left' "overwrote and removed $($r.Removed) launch agent log(s) and crash dump(s)" 'no launch agent log or crash dump'
}
$script:Steps['logs'] = 'Invoke-LogsStep'
