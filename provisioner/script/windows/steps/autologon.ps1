# autologon: Winlogon's automatic logon keeps a password in clear text in
# the registry (DefaultPassword); it goes, and AutoAdminLogon is turned off.
# Not checked: a password the Sysinternals Autologon tool keeps as an LSA
# secret instead.
function Invoke-AutologonStep {
    $key = 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon'
    $w = Get-ItemProperty -Path $key
    $names = @($w.PSObject.Properties | ForEach-Object { $_.Name })
    $wrong = @()
    if ($names -contains 'DefaultPassword') { $wrong += 'DefaultPassword is set' }
    if (($names -contains 'AutoAdminLogon') -and [string]$w.AutoAdminLogon -ne '0') { $wrong += "AutoAdminLogon is $($w.AutoAdminLogon)" }
    if ($names -contains 'AutoLogonCount') { $wrong += 'AutoLogonCount is set' }
    if ($wrong.Count -eq 0) {
        Write-Report 'autologon' 'ok' 'no automatic logon and no stored password'
        return
    }
    if ($Audit) {
        foreach ($x in $wrong) { Write-Finding 'autologon' "Winlogon: $x" }
        Complete-Audit 'autologon' ''
        return
    }
    foreach ($name in 'DefaultPassword', 'AutoLogonCount') {
        if ($names -contains $name) { Remove-ItemProperty -Path $key -Name $name }
    }
    if ($names -contains 'AutoAdminLogon') { Set-ItemProperty -Path $key -Name AutoAdminLogon -Value '0' }
    $after = Get-ItemProperty -Path $key
    if (@($after.PSObject.Properties | ForEach-Object { $_.Name }) -contains 'DefaultPassword') {
        Write-Report 'autologon' 'failed' 'Winlogon DefaultPassword is still there'
        return
    }
    Write-Report 'autologon' 'changed' "Winlogon: $($wrong -join ', '); now no stored password, AutoAdminLogon 0"
}
$script:Steps['autologon'] = 'Invoke-AutologonStep'
