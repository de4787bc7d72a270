# event-logs: every event log that holds records, cleared (what wevtutil cl
# does, through the same API, without a process per log).
function Invoke-EventLogsStep {
    $session = [System.Diagnostics.Eventing.Reader.EventLogSession]::GlobalSession
    $cleared = 0
    $failed = New-List
    foreach ($name in $session.GetLogNames()) {
        try {
            $info = $session.GetLogInformation($name, [System.Diagnostics.Eventing.Reader.PathType]::LogName)
            if (-not $info.RecordCount) { continue }
            if ($Audit) { Write-Finding 'event-logs' "$name holds $($info.RecordCount) record(s)"; continue }
            $session.ClearLog($name)
            $cleared++
        } catch {
            [void]$failed.Add($name)
        }
    }
    if ($Audit) {
        Complete-Audit 'event-logs' 'all event logs are empty'
        return
    }
    $core = @('Application', 'Security', 'System', 'Setup', 'Windows PowerShell') | Where-Object { $failed -contains $_ }
    $tail = if ($failed.Count -gt 0) { "; could not clear $($failed.Count): $(Join-List $failed)" } else { '' }
    if ($core) {
        Write-Report 'event-logs' 'failed' "could not clear $(Join-List $core)$tail"
    } elseif ($cleared -gt 0) {
        Write-Report 'event-logs' 'changed' "cleared $cleared event log(s)$tail"
    } else {
        Write-Report 'event-logs' 'ok' "all event logs are empty$tail"
    }
}
$script:Steps['event-logs'] = 'Invoke-EventLogsStep'
