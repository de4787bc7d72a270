# services: no needless services in the image (the whitepaper names file
# sharing, the print spooler and RPC); the list is the default list without
# keep_services, plus disable_services. Names
# may hold a $ (MSSQL$INSTANCE): they are data, matched with -LiteralPath
# style lookups, never a wildcard or a query.
function Get-StartMode([string]$Name) {
    $svc = @(Get-CimInstance -ClassName Win32_Service | Where-Object { $_.Name -eq $Name })
    if ($svc.Count -eq 0) { return 'unknown' }
    return $svc[0].StartMode
}

function Invoke-ServicesStep {
    $changed = New-List
    $wasRunning = New-List
    $problems = New-List
    $absent = New-List
    $all = @(Get-Service)
    foreach ($name in $AmiHardenDisableServices) {
        $svc = @($all | Where-Object { $_.Name -eq $name })
        if ($svc.Count -eq 0) { [void]$absent.Add($name); continue }
        $svc = $svc[0]
        $startType = Get-StartMode $svc.Name
        if ($svc.Status -eq 'Stopped' -and $startType -eq 'Disabled') { continue }
        if ($Audit) {
            Write-Finding 'services' "$($svc.Name) is $($svc.Status), start mode $startType"
            continue
        }
        if ($svc.Status -ne 'Stopped') { [void]$wasRunning.Add($svc.Name) }
        try {
            $svc | Set-Service -StartupType Disabled
            $svc | Stop-Service -Force
        } catch {
            [void]$problems.Add("$($svc.Name) ($($_.Exception.Message))")
            continue
        }
        $svc.Refresh()
        $startType = Get-StartMode $svc.Name
        if ($svc.Status -eq 'Stopped' -and $startType -eq 'Disabled') {
            [void]$changed.Add($svc.Name)
        } else {
            [void]$problems.Add("$($svc.Name) is $($svc.Status), start mode $startType")
        }
    }
    $notes = @()
    if ($wasRunning.Count -gt 0) { $notes += "was running: $(Join-List $wasRunning)" }
    if ($absent.Count -gt 0) { $notes += "not installed: $(Join-List $absent)" }
    if ($AmiHardenKeepServices.Count -gt 0) { $notes += "kept (keep_services): $(Join-List $AmiHardenKeepServices)" }
    $tail = if ($notes) { '; ' + ($notes -join '; ') } else { '' }
    if ($Audit) {
        Complete-Audit 'services' "nothing to disable$tail"
        return
    }
    if ($problems.Count -gt 0) {
        Write-Report 'services' 'failed' "could not disable $(Join-List $problems)$tail"
    } elseif ($changed.Count -gt 0) {
        Write-Report 'services' 'changed' "stopped and disabled $(Join-List $changed)$tail"
    } else {
        Write-Report 'services' 'ok' "nothing to disable$tail"
    }
}
$script:Steps['services'] = 'Invoke-ServicesStep'
