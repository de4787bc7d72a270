# pagefile: memory written to disk (the page file, the hibernation file) can
# hold anything the build had in memory, passwords included. The page file
# is cleared at shutdown (the build's own, before the snapshot), and
# hibernation is turned off, which deletes hiberfil.sys.
function Invoke-PagefileStep {
    $mm = 'HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager\Memory Management'
    $power = 'HKLM:\SYSTEM\CurrentControlSet\Control\Power'
    $clear = Get-ItemProperty -Path $mm
    $clearOn = ($clear.PSObject.Properties.Name -contains 'ClearPageFileAtShutdown') -and $clear.ClearPageFileAtShutdown -eq 1
    $hiberfil = Join-Path $env:SystemDrive 'hiberfil.sys'
    $p = Get-ItemProperty -Path $power -ErrorAction SilentlyContinue
    $hibernate = (Test-Path -LiteralPath $hiberfil) -or ($p -and ($p.PSObject.Properties.Name -contains 'HibernateEnabled') -and $p.HibernateEnabled -eq 1)
    if ($clearOn -and -not $hibernate) {
        Write-Report 'pagefile' 'ok' 'the page file is cleared at shutdown; hibernation is off'
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
        $done += 'the page file is cleared at every shutdown from now on, the build''s included'
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
