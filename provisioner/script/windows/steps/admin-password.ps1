# admin-password: every instance must get its own random Administrator
# password at first boot, set by the launch agent, and no password the build
# knew may stay in the agent's settings.
function Invoke-AdminPasswordStep {
    switch (Get-LaunchAgent) {
        'ec2launch-v2' { Set-EC2LaunchV2Password; return }
        'ec2launch-v1' { Set-EC2LaunchV1Password; return }
        'ec2config' { Set-EC2ConfigPassword; return }
    }
    Write-Report 'admin-password' 'failed' 'no EC2 launch agent (EC2Launch v2, EC2Launch v1 or EC2Config) found to set a random Administrator password at first boot; install one, or skip this step and set the password another way'
}

# EC2Launch v2: agent-config.yml, task setAdminAccount, inputs.password.type
# random. A static password's `data:` line holds it in clear text: it goes
# too, and the file is rewritten in place over its old bytes.
function Set-EC2LaunchV2Password {
    $lines = [IO.File]::ReadAllLines($EC2LaunchV2Config)
    $inTask = $false
    $taskIndent = -1
    $typeLine = -1
    $dataLines = New-List
    for ($i = 0; $i -lt $lines.Length; $i++) {
        $line = $lines[$i]
        if ($line -match '^(\s*)-\s*task:\s*(\S+)') {
            $inTask = ($Matches[2] -eq 'setAdminAccount')
            $taskIndent = $Matches[1].Length
            continue
        }
        if (-not $inTask) { continue }
        if ($line -match '^(\s*)\S' -and $Matches[1].Length -le $taskIndent) { $inTask = $false; continue }
        if ($line -match '^\s*type:\s*(\S+)') { $typeLine = $i }
        elseif ($line -match '^\s*data:') { [void]$dataLines.Add($i) }
    }
    if ($typeLine -lt 0) {
        Write-Report 'admin-password' 'failed' "$EC2LaunchV2Config has no setAdminAccount task with a password type: add one with password type random"
        return
    }
    $random = $lines[$typeLine] -match 'type:\s*random\s*$'
    if ($random -and $dataLines.Count -eq 0) {
        Write-Report 'admin-password' 'ok' 'EC2Launch v2 sets a random Administrator password (setAdminAccount, type random)'
        return
    }
    if ($Audit) {
        if (-not $random) { Write-Finding 'admin-password' "EC2Launch v2 setAdminAccount password $($lines[$typeLine].Trim()), not random" }
        if ($dataLines.Count -gt 0) { Write-Finding 'admin-password' "EC2Launch v2 setAdminAccount keeps a password in its data: line" }
        Complete-Audit 'admin-password' ''
        return
    }
    $lines[$typeLine] = $lines[$typeLine] -replace 'type:\s*\S+', 'type: random'
    $kept = for ($i = 0; $i -lt $lines.Length; $i++) { if (-not ($dataLines -contains $i)) { $lines[$i] } }
    Set-FileText $EC2LaunchV2Config (($kept -join "`r`n") + "`r`n") (New-Object Text.UTF8Encoding($false))
    $after = [IO.File]::ReadAllText($EC2LaunchV2Config)
    if ($after -notmatch 'type:\s*random') {
        Write-Report 'admin-password' 'failed' "$EC2LaunchV2Config does not say type: random after the edit"
        return
    }
    $removed = if ($dataLines.Count -gt 0) { ", removed the stored password ($($dataLines.Count) data: line(s))" } else { '' }
    Write-Report 'admin-password' 'changed' "EC2Launch v2 setAdminAccount password type set to random$removed"
}

# EC2Launch v1: LaunchConfig.json adminPasswordType Random, and no
# adminPassword property (a Specify password stays there in clear text).
function Set-EC2LaunchV1Password {
    $config = [IO.File]::ReadAllText($EC2LaunchV1Config) | ConvertFrom-Json
    $names = @($config.PSObject.Properties | ForEach-Object { $_.Name })
    $current = if ($names -contains 'adminPasswordType') { $config.adminPasswordType } else { '(unset)' }
    $stored = ($names -contains 'adminPassword') -and $config.adminPassword
    if ($current -eq 'Random' -and -not $stored) {
        Write-Report 'admin-password' 'ok' 'EC2Launch v1 sets a random Administrator password (adminPasswordType Random)'
        return
    }
    if ($Audit) {
        if ($current -ne 'Random') { Write-Finding 'admin-password' "EC2Launch v1 adminPasswordType is $current, not Random" }
        if ($stored) { Write-Finding 'admin-password' 'EC2Launch v1 LaunchConfig.json keeps a password in adminPassword' }
        Complete-Audit 'admin-password' ''
        return
    }
    $config | Add-Member -NotePropertyName adminPasswordType -NotePropertyValue 'Random' -Force
    if ($names -contains 'adminPassword') { $config.PSObject.Properties.Remove('adminPassword') }
    Set-FileText $EC2LaunchV1Config ($config | ConvertTo-Json -Depth 10) (New-Object Text.UTF8Encoding($false))
    Write-Report 'admin-password' 'changed' 'EC2Launch v1 adminPasswordType set to Random, adminPassword removed'
}

# EC2Config: the Ec2SetPassword plugin enabled in config.xml, and
# SetPasswordAfterSysprep Yes in BundleConfig.xml: EC2Config turns the
# plugin off after its first run, and only that setting turns it on again
# for the instances of a Sysprepped image.
function Set-EC2ConfigPassword {
    $xml = [xml][IO.File]::ReadAllText($EC2ConfigSettings)
    $plugin = @($xml.Ec2ConfigurationSettings.Plugins.Plugin | Where-Object { $_.Name -eq 'Ec2SetPassword' })
    $bundle = if (Test-Path -LiteralPath $EC2ConfigBundle) { [xml][IO.File]::ReadAllText($EC2ConfigBundle) } else { $null }
    $after = if ($bundle) { @($bundle.BundleConfig.Property | Where-Object { $_.Name -eq 'SetPasswordAfterSysprep' }) } else { @() }
    if ($plugin.Count -eq 0 -or $after.Count -eq 0) {
        Write-Report 'admin-password' 'failed' "EC2Config has no Ec2SetPassword plugin in $EC2ConfigSettings or no SetPasswordAfterSysprep in $EC2ConfigBundle"
        return
    }
    $wrong = @()
    if ($plugin[0].State -ne 'Enabled') { $wrong += "Ec2SetPassword is $($plugin[0].State)" }
    if ($after[0].Value -ne 'Yes') { $wrong += "SetPasswordAfterSysprep is $($after[0].Value)" }
    if ($wrong.Count -eq 0) {
        Write-Report 'admin-password' 'ok' 'EC2Config sets a random Administrator password (Ec2SetPassword Enabled, SetPasswordAfterSysprep Yes)'
        return
    }
    if ($Audit) {
        foreach ($w in $wrong) { Write-Finding 'admin-password' "EC2Config $w" }
        Complete-Audit 'admin-password' ''
        return
    }
    $plugin[0].State = 'Enabled'
    $after[0].Value = 'Yes'
    $xml.Save($EC2ConfigSettings)
    $bundle.Save($EC2ConfigBundle)
    Write-Report 'admin-password' 'changed' "EC2Config: $($wrong -join ', '); now Enabled and Yes"
}
$script:Steps['admin-password'] = 'Invoke-AdminPasswordStep'
