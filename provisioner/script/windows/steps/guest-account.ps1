# guest-account: the built-in Guest account (RID 501, whatever its name) disabled.
function Invoke-GuestAccountStep {
    $guest = @(Get-CimInstance -ClassName Win32_UserAccount -Filter 'LocalAccount = True' |
            Where-Object { $_.SID -match '-501$' })
    if ($guest.Count -eq 0) {
        Write-Report 'guest-account' 'skipped' 'this machine has no Guest account'
        return
    }
    $guest = $guest[0]
    if ($guest.Disabled) {
        Write-Report 'guest-account' 'ok' "$($guest.Name) is disabled"
        return
    }
    if ($Audit) {
        Write-Finding 'guest-account' "the Guest account $($guest.Name) is enabled"
        Complete-Audit 'guest-account' ''
        return
    }
    Disable-LocalUser -SID $guest.SID
    # Read back: a lookup that finds nothing must not read as "disabled".
    $after = @(Get-CimInstance -ClassName Win32_UserAccount -Filter "LocalAccount = True AND SID = '$($guest.SID)'")
    if ($after.Count -eq 1 -and $after[0].Disabled) {
        Write-Report 'guest-account' 'changed' "disabled $($guest.Name)"
    } else {
        Write-Report 'guest-account' 'failed' "$($guest.Name) is still enabled after Disable-LocalUser"
    }
}
$script:Steps['guest-account'] = 'Invoke-GuestAccountStep'
