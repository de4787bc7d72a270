# accounts: no needless account and no password the build knew. remove_users
# go, profile and all (overwritten first). Every other enabled local account
# is disabled, except the built-in Administrator (the launch agent gives it a
# new random password at launch), Guest (guest-account) and keep_users. The
# account the build logs in with cannot be disabled under the build's feet
# (every WinRM command logs on anew): the handover (handover.ps1) gives it a
# random password nobody knows and disables it after the build's last
# command instead, right before the power-off. Disabled, not only with a new
# password: that password would be the same on every instance (its hash in
# every copy of the image), and nothing needs the account afterwards.
function Invoke-AccountsStep {
    $me = [Security.Principal.WindowsIdentity]::GetCurrent().User.Value
    $users = @(Get-LocalUser)
    $build = @($users | Where-Object { $AmiHardenBuildUser -and $_.Name -eq $AmiHardenBuildUser -or $_.SID.Value -eq $me })
    $buildSids = @($build | ForEach-Object { $_.SID.Value })
    $removed = New-List
    $problems = New-List
    foreach ($name in $AmiHardenRemoveUsers) {
        $u = @($users | Where-Object { $_.Name -eq $name })
        if ($u.Count -eq 0) { continue }
        $u = $u[0]
        if ($u.SID.Value -match '-50[01]$' -or $buildSids -contains $u.SID.Value) {
            [void]$problems.Add("not removed: $name is the built-in Administrator or Guest, or the account this build runs as")
            continue
        }
        if ($Audit) { Write-Finding 'accounts' "$name exists (remove_users)"; continue }
        try {
            Remove-Account $u
            [void]$removed.Add($name)
        } catch {
            [void]$problems.Add("could not remove $name ($($_.Exception.Message))")
        }
    }
    $disabled = New-List
    $atLaunch = New-List
    foreach ($u in @(Get-LocalUser | Where-Object { $_.Enabled })) {
        if ($u.SID.Value -match '-50[01]$' -or $AmiHardenKeepUsers -contains $u.Name) { continue }
        if ($buildSids -contains $u.SID.Value) {
            if ($Audit) { Write-Finding 'accounts' "$($u.Name) (the build's account) is enabled with the build's password" } else { [void]$atLaunch.Add($u.Name) }
            continue
        }
        if ($Audit) { Write-Finding 'accounts' "$($u.Name) is enabled (disable it, or name it in keep_users)"; continue }
        try {
            Disable-LocalUser -SID $u.SID
            if ((Get-LocalUser -SID $u.SID).Enabled) { throw 'still enabled' }
            [void]$disabled.Add($u.Name)
        } catch {
            [void]$problems.Add("could not disable $($u.Name) ($($_.Exception.Message))")
        }
    }
    if ($Audit) {
        foreach ($p in $problems) { Write-Finding 'accounts' $p }
        Complete-Audit 'accounts' 'no needless enabled account'
        return
    }
    # Disabled only while the built-in Administrator is enabled (the launch
    # agent gives it a new password on each instance): never an image
    # without an account to log in with.
    $admin = @($users | Where-Object { $_.SID.Value -match '-500$' })
    $disable = $admin.Count -gt 0 -and $admin[0].Enabled
    if ($atLaunch.Count -gt 0 -and -not $disable) {
        Write-Note 'accounts' "the built-in Administrator is disabled, so $(Join-List $atLaunch) (the build's account) stays enabled, with a random password nobody knows that is the same on every instance; enable the Administrator, or name another account in keep_users"
    }
    if ($atLaunch.Count -gt 0) {
        $how = if ($disable) { 'disable' } else { 'keep' }
        $what = if ($disable) { 'a random password nobody knows, then disabled' } else { 'a random password nobody knows' }
        Add-FinalWork 'accounts' 'Close-BuildAccount' (@($how) + @($atLaunch)) "${what}: $(Join-List $atLaunch)"
    }
    $done = @()
    if ($removed.Count -gt 0) { $done += "removed $(Join-List $removed)" }
    if ($disabled.Count -gt 0) { $done += "disabled $(Join-List $disabled)" }
    if ($atLaunch.Count -gt 0 -and $disable) { $done += "disables $(Join-List $atLaunch) (the build's account), with a random password, after the build's last command (the handover)" }
    if ($atLaunch.Count -gt 0 -and -not $disable) { $done += "a random password for $(Join-List $atLaunch) (the build's account) after the build's last command (the handover)" }
    if ($problems.Count -gt 0) {
        Write-Report 'accounts' 'failed' "$(Join-List $problems)$(if ($done) { '; ' + ($done -join '; ') })"
    } elseif ($done) {
        Write-Report 'accounts' 'changed' ($done -join '; ')
    } else {
        Write-Report 'accounts' 'ok' 'no needless enabled account'
    }
}

# Remove-Account: the account, and its profile with every file overwritten.
function Remove-Account($User) {
    $profiles = @(Get-CimInstance -ClassName Win32_UserProfile | Where-Object { $_.SID -eq $User.SID.Value })
    foreach ($p in $profiles) {
        if ($p.Loaded) { throw "its profile $($p.LocalPath) is loaded (the account is logged on)" }
        if ($p.LocalPath -and (Test-Path -LiteralPath $p.LocalPath)) {
            foreach ($child in @(Get-ChildItem -LiteralPath $p.LocalPath -Force)) { Remove-Tree $child.FullName $true }
        }
        # The profile's folder and its ProfileList entry.
        $p | Remove-CimInstance
    }
    Remove-LocalUser -SID $User.SID
    if (@(Get-LocalUser | Where-Object { $_.SID.Value -eq $User.SID.Value }).Count -gt 0) { throw 'still there' }
}

# Close-BuildAccount: final work (the handover runs it once the build's last
# command is done): a random password nobody knows for each named account,
# and, when the first argument is 'disable', the account disabled and read
# back. param(), not a parenthesised list: the handover copies the
# function's body.
function Close-BuildAccount {
    param([string[]]$Arguments)
    $rng = New-Object System.Security.Cryptography.RNGCryptoServiceProvider
    foreach ($name in @($Arguments | Select-Object -Skip 1)) {
        $bytes = New-Object byte[] 24
        $rng.GetBytes($bytes)
        # Base64 of random bytes, plus one of each class Windows' complexity rule asks for.
        $plain = [Convert]::ToBase64String($bytes) + 'aA1!'
        $secure = ConvertTo-SecureString -String $plain -AsPlainText -Force
        Set-LocalUser -Name $name -Password $secure
        if ($Arguments[0] -eq 'disable') {
            Disable-LocalUser -Name $name
            if ((Get-LocalUser -Name $name).Enabled) { throw "$name is still enabled" }
        }
    }
}
$script:Steps['accounts'] = 'Invoke-AccountsStep'
