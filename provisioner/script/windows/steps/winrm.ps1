# winrm: the WinRM the build talked through (an HTTP listener, often with
# Basic auth and unencrypted traffic allowed: packer#6143) does not stay open
# on the instances. Never during the build, which still needs it: the
# first-boot task removes the HTTP listeners, turns Basic auth and
# unencrypted traffic off and disables the firewall rules for port 5985 at
# each instance's first boot. HTTPS listeners stay.
function Invoke-WinRMStep {
    $open = New-List
    try {
        foreach ($l in @(Get-ChildItem -Path 'WSMan:\localhost\Listener')) {
            if (@($l.Keys) -contains 'Transport=HTTP') { [void]$open.Add('an HTTP listener') }
        }
        if ((Get-Item -Path 'WSMan:\localhost\Service\Auth\Basic').Value -eq 'true') { [void]$open.Add('Basic auth') }
        if ((Get-Item -Path 'WSMan:\localhost\Service\AllowUnencrypted').Value -eq 'true') { [void]$open.Add('unencrypted traffic') }
    } catch {
        Write-Report 'winrm' 'failed' "could not read WinRM's settings: $($_.Exception.Message)"
        return
    }
    if ($open.Count -eq 0) {
        Write-Report 'winrm' 'ok' 'no HTTP listener, Basic auth or unencrypted traffic'
        return
    }
    if ($Audit) {
        foreach ($o in $open) { Write-Finding 'winrm' "WinRM allows $o (enforce closes it at each instance's first boot)" }
        Complete-Audit 'winrm' ''
        return
    }
    try {
        Add-FirstBootWork 'Close-BuildWinRM' @()
    } catch {
        Write-Report 'winrm' 'failed' "could not arm the first-boot task: $($_.Exception.Message)"
        return
    }
    Write-Report 'winrm' 'changed' "$(Join-List $open) closed at each instance's first boot (scheduled task ami-harden-first-boot); open for the rest of this build"
}

# Close-BuildWinRM: first-boot work, on each instance, as SYSTEM.
function Close-BuildWinRM {
    param()
    Start-Service -Name WinRM -ErrorAction SilentlyContinue
    foreach ($l in @(Get-ChildItem -Path 'WSMan:\localhost\Listener')) {
        if (@($l.Keys) -contains 'Transport=HTTP') { Remove-Item -Path $l.PSPath -Recurse -Force }
    }
    Set-Item -Path 'WSMan:\localhost\Service\Auth\Basic' -Value $false -Force
    Set-Item -Path 'WSMan:\localhost\Service\AllowUnencrypted' -Value $false -Force
    Get-NetFirewallPortFilter -Protocol TCP | Where-Object { @($_.LocalPort) -contains '5985' } |
        Get-NetFirewallRule | Disable-NetFirewallRule
}
$script:Steps['winrm'] = 'Invoke-WinRMStep'
