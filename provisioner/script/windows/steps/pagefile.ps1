# pagefile: memory written to disk (the page file, the hibernation file) can
# hold anything the build had in memory, passwords included. Windows clears
# the page file at shutdown when ClearPageFileAtShutdown is set, but reads
# that setting at boot only: set here, it clears the page file of every
# instance, not this build's, which the snapshot then holds. The step says so
# in a note; a build that must not ship its own page file sets it before a
# windows-restart provisioner that comes before ami-harden. Hibernation is
# turned off, which deletes hiberfil.sys.
function Invoke-PagefileStep {
    $mm = 'HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager\Memory Management'
    $power = 'HKLM:\SYSTEM\CurrentControlSet\Control\Power'
    $clear = Get-ItemProperty -Path $mm
    $clearOn = ($clear.PSObject.Properties.Name -contains 'ClearPageFileAtShutdown') -and $clear.ClearPageFileAtShutdown -eq 1
    $hiberfil = Join-Path $env:SystemDrive 'hiberfil.sys'
    $p = Get-ItemProperty -Path $power -ErrorAction SilentlyContinue
    $hibernate = (Test-Path -LiteralPath $hiberfil) -or ($p -and ($p.PSObject.Properties.Name -contains 'HibernateEnabled') -and $p.HibernateEnabled -eq 1)
    if ($clearOn -and -not $hibernate) {
        Write-Report 'pagefile' 'ok' 'ClearPageFileAtShutdown is set (Windows reads it at boot: this build''s own page file is cleared only if it was set before this boot); hibernation is off'
        return
    }
    if ($Audit) {
        if (-not $clearOn) { Write-Finding 'pagefile' 'the page file is not cleared at shutdown (ClearPageFileAtShutdown)' }
        if ($hibernate) { Write-Finding 'pagefile' "hibernation is on or $hiberfil exists" }
        Complete-Audit 'pagefile' ''
        return
    }
    $done = @()
    if (-not $clearOn) {
        Set-ItemProperty -Path $mm -Name ClearPageFileAtShutdown -Value 1 -Type DWord
        $done += 'the page file is cleared at every shutdown from the next boot on'
        Write-Note 'pagefile' 'this build''s own page file is not cleared at its shutdown (Windows reads ClearPageFileAtShutdown at boot) and goes into the image; to clear it too, set ClearPageFileAtShutdown and restart (windows-restart) before ami-harden'
    }
    if ($hibernate) {
        $r = Invoke-Native 'powercfg.exe' @('/hibernate', 'off')
        if ($r.Exit -ne 0 -or (Test-Path -LiteralPath $hiberfil)) {
            Write-Report 'pagefile' 'failed' "powercfg /hibernate off exited $($r.Exit) and $hiberfil is $(if (Test-Path -LiteralPath $hiberfil) { 'still there' } else { 'gone' }): $($r.Output)"
            return
        }
        $done += 'hibernation turned off, hiberfil.sys deleted'
    }
    Write-Report 'pagefile' 'changed' ($done -join '; ')
}
$script:Steps['pagefile'] = 'Invoke-PagefileStep'
