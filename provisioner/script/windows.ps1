# ami-harden: cleans and hardens a Windows machine before it becomes a shared image.
#
# The Packer provisioner uploads this file once, with its parameters written as
# plain PowerShell assignments above this comment, runs it once with
# Windows PowerShell 5.1 as an administrator, and reads its report from
# standard output. Never run it on a machine you want to keep using: it
# disables services, deletes keys and runs Sysprep.
#
# Report protocol, one line each, on standard output (nothing else starts with @@ami-harden):
#   @@ami-harden begin 1                      running as an administrator, protocol version 1
#   @@ami-harden start NAME                   step NAME starts
#   @@ami-harden finding NAME TEXT            audit mode: one thing step NAME found wrong
#   @@ami-harden step NAME STATUS DETAIL      STATUS is ok | changed | skipped | failed | finding
#   @@ami-harden end FAILED                   all steps ran; FAILED of them failed
#   @@ami-harden abort REASON                 nothing was changed, the run stopped
# DETAIL names files, accounts, services and counts; never the contents of a file.
#
# Why each step exists: docs/provisioners/ami-harden.mdx and ../shared/seeds.

# Parameters. The provisioner sets them above; the defaults are what an empty
# `provisioner "ami-harden" {}` block means on a WinRM build.
if (-not (Test-Path variable:AmiHardenSteps)) {
    $AmiHardenSteps = @('domain', 'guest-account', 'services', 'admin-password', 'user-keys', 'host-keys',
        'credentials', 'history', 'temp', 'event-logs', 'sysprep')
}
if (-not (Test-Path variable:AmiHardenExtraPaths)) { $AmiHardenExtraPaths = @() }
if (-not (Test-Path variable:AmiHardenDisableServices)) { $AmiHardenDisableServices = @('Spooler') }
# auto | ec2launch-v2 | ec2launch-v1 | ec2config | sysprep | none
if (-not (Test-Path variable:AmiHardenSysprep)) { $AmiHardenSysprep = 'auto' }
if (-not (Test-Path variable:AmiHardenSysprepShutdown)) { $AmiHardenSysprepShutdown = $false }
if (-not (Test-Path variable:AmiHardenRemoveSelf)) { $AmiHardenRemoveSelf = $false }
# enforce: change what needs changing, then verify it. audit: change nothing,
# report as a finding everything enforce would change.
if (-not (Test-Path variable:AmiHardenMode)) { $AmiHardenMode = 'enforce' }
$Audit = ($AmiHardenMode -eq 'audit')

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$script:Reported = @{}
$script:Failed = New-Object System.Collections.ArrayList
$script:Findings = @{}

# ---------------------------------------------------------------- reporting

# Write-Report: the one line the provisioner reads for a step.
function Write-Report([string]$Step, [string]$Status, [string]$Detail) {
    $text = ($Detail -replace '[\r\n\t]+', ' ').Trim()
    if (-not $text) { $text = '-' }
    [Console]::Out.WriteLine("@@ami-harden step $Step $Status $text")
    $script:Reported[$Step] = $Status
    if ($Status -eq 'failed') { [void]$script:Failed.Add($Step) }
}

# Write-Finding: in audit mode, one thing the step would change. The first 50
# of a step are sent; the rest are counted in the step's line.
function Write-Finding([string]$Step, [string]$Text) {
    $script:Findings[$Step] = 1 + $(if ($script:Findings.ContainsKey($Step)) { $script:Findings[$Step] } else { 0 })
    if ($script:Findings[$Step] -le 50) {
        [Console]::Out.WriteLine("@@ami-harden finding $Step $(($Text -replace '[\r\n\t]+', ' ').Trim())")
    }
}

# Complete-Audit: the step's line in audit mode.
function Complete-Audit([string]$Step, [string]$OkDetail) {
    if ($script:Findings.ContainsKey($Step)) {
        Write-Report $Step 'finding' "$($script:Findings[$Step]) finding(s)"
    } else {
        Write-Report $Step 'ok' $OkDetail
    }
}

# Join-List: at most 20 items joined with ", ", then "and N more".
function Join-List([object[]]$Items) {
    $all = @($Items | Where-Object { $_ })
    if ($all.Count -le 20) { return ($all -join ', ') }
    return (($all[0..19] -join ', ') + ", and $($all.Count - 20) more")
}

# ---------------------------------------------------------------- wiping files

# Remove-Secret: overwrite a file with zeros over its whole length, flush it
# to the disk, then delete it, so that its contents are not left in the
# blocks an image snapshot copies. Links are deleted, never followed.
function Remove-Secret([string]$Path) {
    $item = Get-Item -LiteralPath $Path -Force -ErrorAction SilentlyContinue
    if ($null -eq $item) { return }
    if (($item.Attributes -band [IO.FileAttributes]::ReparsePoint) -or $item.PSIsContainer) {
        Remove-Tree $item.FullName $true
        return
    }
    if ($item.IsReadOnly) { $item.IsReadOnly = $false }
    $stream = [IO.File]::Open($item.FullName, [IO.FileMode]::Open, [IO.FileAccess]::Write, [IO.FileShare]::None)
    try {
        $zeros = New-Object byte[] 65536
        $left = $stream.Length
        while ($left -gt 0) {
            $n = [int][Math]::Min($left, $zeros.Length)
            $stream.Write($zeros, 0, $n)
            $left -= $n
        }
        $stream.Flush($true)
    } finally {
        $stream.Dispose()
    }
    Remove-Item -LiteralPath $item.FullName -Force
}

# Remove-Tree: delete a file or a folder with everything in it, overwriting
# files first when $Overwrite. Links (symbolic links, junctions) are deleted
# themselves, never followed: Windows PowerShell 5.1's Get-ChildItem -Recurse
# and Remove-Item -Recurse follow them, into folders outside the tree.
function Remove-Tree([string]$Path, [bool]$Overwrite) {
    $item = Get-Item -LiteralPath $Path -Force
    if ($item.Attributes -band [IO.FileAttributes]::ReparsePoint) {
        if ($item.PSIsContainer) { [IO.Directory]::Delete($item.FullName, $false) } else { [IO.File]::Delete($item.FullName) }
        return
    }
    if ($item.PSIsContainer) {
        foreach ($child in @(Get-ChildItem -LiteralPath $item.FullName -Force)) { Remove-Tree $child.FullName $Overwrite }
        [IO.Directory]::Delete($item.FullName, $false)
        return
    }
    if ($Overwrite) {
        Remove-Secret $item.FullName
    } else {
        if ($item.IsReadOnly) { $item.IsReadOnly = $false }
        [IO.File]::Delete($item.FullName)
    }
}

# Remove-Found: wipe every path in $Paths that exists and report the step;
# $Done lists what the step already removed another way.
function Remove-Found([string]$Step, [string[]]$Paths, [string[]]$Done = @()) {
    if ($Audit) {
        foreach ($p in $Paths) {
            if (Test-Path -LiteralPath $p) { Write-Finding $Step "$p exists" }
        }
        Complete-Audit $Step 'none found'
        return
    }
    $found = New-Object System.Collections.ArrayList
    foreach ($d in $Done) { [void]$found.Add($d) }
    $left = New-Object System.Collections.ArrayList
    foreach ($p in $Paths) {
        if (-not (Test-Path -LiteralPath $p)) { continue }
        [void]$found.Add($p)
        try {
            Remove-Tree $p $true
        } catch {
            [void]$left.Add("$p ($($_.Exception.Message))")
        }
    }
    if ($left.Count -gt 0) {
        Write-Report $Step 'failed' "could not remove $(Join-List $left)"
    } elseif ($found.Count -gt 0) {
        Write-Report $Step 'changed' "overwrote and removed $($found.Count) item(s): $(Join-List $found)"
    } else {
        Write-Report $Step 'ok' 'none found'
    }
}

# Get-ProfilePaths: the folder of every local user profile (not the system's).
function Get-ProfilePaths {
    Get-CimInstance -ClassName Win32_UserProfile |
        Where-Object { -not $_.Special -and $_.LocalPath } |
        ForEach-Object { $_.LocalPath }
}

# ---------------------------------------------------------------- steps

# domain: an image must not be a member of a domain.
function Invoke-DomainStep {
    $cs = Get-CimInstance -ClassName Win32_ComputerSystem
    if ($cs.PartOfDomain -and $Audit) {
        Write-Finding 'domain' "the machine is joined to the domain $($cs.Domain)"
        Complete-Audit 'domain' ''
    } elseif ($cs.PartOfDomain) {
        Write-Report 'domain' 'failed' "the machine is joined to the domain $($cs.Domain): remove it (Remove-Computer) before the image is made"
    } else {
        Write-Report 'domain' 'ok' "not joined to a domain (workgroup $($cs.Workgroup))"
    }
}

# guest-account: the built-in Guest account (RID 501, whatever its name) disabled.
function Invoke-GuestAccountStep {
    $guest = Get-CimInstance -ClassName Win32_UserAccount -Filter 'LocalAccount = True' |
        Where-Object { $_.SID -match '-501$' }
    if ($null -eq $guest) {
        Write-Report 'guest-account' 'skipped' 'this machine has no Guest account'
        return
    }
    if ($guest.Disabled) {
        Write-Report 'guest-account' 'ok' "$($guest.Name) is disabled"
        return
    }
    if ($Audit) {
        Write-Finding 'guest-account' "the Guest account $($guest.Name) is enabled"
        Complete-Audit 'guest-account' ''
        return
    }
    & net.exe user $guest.Name /active:no | Out-Null
    $after = Get-CimInstance -ClassName Win32_UserAccount -Filter "LocalAccount = True AND SID = '$($guest.SID)'"
    if ($after.Disabled) {
        Write-Report 'guest-account' 'changed' "disabled $($guest.Name)"
    } else {
        Write-Report 'guest-account' 'failed' "$($guest.Name) is still enabled after net user /active:no"
    }
}

# services: no needless services in the image (the whitepaper names file
# sharing, the print spooler and RPC); the list is disable_services.
function Invoke-ServicesStep {
    $changed = New-Object System.Collections.ArrayList
    $wasRunning = New-Object System.Collections.ArrayList
    $problems = New-Object System.Collections.ArrayList
    $absent = New-Object System.Collections.ArrayList
    foreach ($name in $AmiHardenDisableServices) {
        $svc = Get-Service -Name $name -ErrorAction SilentlyContinue
        if ($null -eq $svc) { [void]$absent.Add($name); continue }
        $startType = (Get-CimInstance -ClassName Win32_Service -Filter "Name = '$($svc.Name)'").StartMode
        if ($svc.Status -eq 'Stopped' -and $startType -eq 'Disabled') { continue }
        if ($Audit) {
            Write-Finding 'services' "$($svc.Name) is $($svc.Status), start mode $startType"
            continue
        }
        if ($svc.Status -ne 'Stopped') { [void]$wasRunning.Add($svc.Name) }
        try {
            Stop-Service -Name $svc.Name -Force
            Set-Service -Name $svc.Name -StartupType Disabled
        } catch {
            [void]$problems.Add("$($svc.Name) ($($_.Exception.Message))")
            continue
        }
        $svc = Get-Service -Name $svc.Name
        $startType = (Get-CimInstance -ClassName Win32_Service -Filter "Name = '$($svc.Name)'").StartMode
        if ($svc.Status -eq 'Stopped' -and $startType -eq 'Disabled') {
            [void]$changed.Add($svc.Name)
        } else {
            [void]$problems.Add("$($svc.Name) is $($svc.Status), start mode $startType")
        }
    }
    $notes = @()
    if ($wasRunning.Count -gt 0) { $notes += "was running: $(Join-List $wasRunning)" }
    if ($absent.Count -gt 0) { $notes += "not installed: $(Join-List $absent)" }
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

# The launch agents of EC2 Windows images, newest first.
$EC2LaunchV2Exe = Join-Path $env:ProgramFiles 'Amazon\EC2Launch\EC2Launch.exe'
$EC2LaunchV2Config = Join-Path $env:ProgramData 'Amazon\EC2Launch\config\agent-config.yml'
$EC2LaunchV1Scripts = Join-Path $env:ProgramData 'Amazon\EC2-Windows\Launch\Scripts'
$EC2LaunchV1Config = Join-Path $env:ProgramData 'Amazon\EC2-Windows\Launch\Config\LaunchConfig.json'
$EC2ConfigExe = Join-Path $env:ProgramFiles 'Amazon\Ec2ConfigService\Ec2Config.exe'
$EC2ConfigSettings = Join-Path $env:ProgramFiles 'Amazon\Ec2ConfigService\Settings\config.xml'

# admin-password: every instance must get its own random Administrator
# password at first boot, set by the launch agent.
function Invoke-AdminPasswordStep {
    if (Test-Path -LiteralPath $EC2LaunchV2Config) {
        $lines = [IO.File]::ReadAllLines($EC2LaunchV2Config)
        $inTask = $false
        $typeLine = -1
        for ($i = 0; $i -lt $lines.Length; $i++) {
            if ($lines[$i] -match '^\s*-\s*task:\s*(\S+)') { $inTask = ($Matches[1] -eq 'setAdminAccount') }
            elseif ($inTask -and $lines[$i] -match '^\s*type:\s*(\S+)') { $typeLine = $i; break }
        }
        if ($typeLine -lt 0) {
            Write-Report 'admin-password' 'failed' "$EC2LaunchV2Config has no setAdminAccount task with a password type: add one with password type random"
            return
        }
        if ($lines[$typeLine] -match 'type:\s*random\s*$') {
            Write-Report 'admin-password' 'ok' 'EC2Launch v2 sets a random Administrator password (setAdminAccount, type random)'
            return
        }
        if ($Audit) {
            Write-Finding 'admin-password' "EC2Launch v2 setAdminAccount password $($lines[$typeLine].Trim()), not random"
            Complete-Audit 'admin-password' ''
            return
        }
        $lines[$typeLine] = $lines[$typeLine] -replace 'type:\s*\S+', 'type: random'
        [IO.File]::WriteAllLines($EC2LaunchV2Config, $lines)
        Write-Report 'admin-password' 'changed' 'EC2Launch v2 setAdminAccount password type set to random'
        return
    }
    if (Test-Path -LiteralPath $EC2LaunchV1Config) {
        $config = Get-Content -LiteralPath $EC2LaunchV1Config -Raw | ConvertFrom-Json
        $current = if ($config.PSObject.Properties.Name -contains 'adminPasswordType') { $config.adminPasswordType } else { '(unset)' }
        if ($current -eq 'Random') {
            Write-Report 'admin-password' 'ok' 'EC2Launch v1 sets a random Administrator password (adminPasswordType Random)'
            return
        }
        if ($Audit) {
            Write-Finding 'admin-password' "EC2Launch v1 adminPasswordType is $current, not Random"
            Complete-Audit 'admin-password' ''
            return
        }
        $config | Add-Member -NotePropertyName adminPasswordType -NotePropertyValue 'Random' -Force
        if ($config.PSObject.Properties.Name -contains 'adminPassword') { $config.adminPassword = '' }
        $config | ConvertTo-Json -Depth 10 | Set-Content -LiteralPath $EC2LaunchV1Config -Encoding UTF8
        Write-Report 'admin-password' 'changed' 'EC2Launch v1 adminPasswordType set to Random'
        return
    }
    if (Test-Path -LiteralPath $EC2ConfigSettings) {
        $xml = [xml](Get-Content -LiteralPath $EC2ConfigSettings -Raw)
        $plugin = $xml.Ec2ConfigurationSettings.Plugins.Plugin | Where-Object { $_.Name -eq 'Ec2SetPassword' }
        if ($null -eq $plugin) {
            Write-Report 'admin-password' 'failed' "$EC2ConfigSettings has no Ec2SetPassword plugin"
            return
        }
        if ($plugin.State -eq 'Enabled') {
            Write-Report 'admin-password' 'ok' 'EC2Config sets a random Administrator password (Ec2SetPassword Enabled)'
            return
        }
        if ($Audit) {
            Write-Finding 'admin-password' "EC2Config Ec2SetPassword is $($plugin.State)"
            Complete-Audit 'admin-password' ''
            return
        }
        $plugin.State = 'Enabled'
        $xml.Save($EC2ConfigSettings)
        Write-Report 'admin-password' 'changed' 'EC2Config Ec2SetPassword enabled'
        return
    }
    Write-Report 'admin-password' 'failed' 'no EC2 launch agent (EC2Launch v2, EC2Launch v1 or EC2Config) found to set a random Administrator password at first boot; install one, or skip this step and set the password another way'
}

# user-keys: nobody's SSH keys ship in the image.
function Invoke-UserKeysStep {
    $paths = @(Join-Path $env:ProgramData 'ssh\administrators_authorized_keys')
    foreach ($profilePath in Get-ProfilePaths) {
        $ssh = Join-Path $profilePath '.ssh'
        $paths += (Join-Path $ssh 'authorized_keys'), (Join-Path $ssh 'authorized_keys2')
        if (Test-Path -LiteralPath $ssh) {
            $paths += @(Get-ChildItem -LiteralPath $ssh -Force -Filter 'id_*' | ForEach-Object { $_.FullName })
        }
    }
    Remove-Found 'user-keys' $paths
}

# host-keys: the OpenSSH server makes new host keys when it starts without them.
function Invoke-HostKeysStep {
    if ($null -eq (Get-Service -Name sshd -ErrorAction SilentlyContinue)) {
        Write-Report 'host-keys' 'skipped' 'the OpenSSH server is not installed'
        return
    }
    $dir = Join-Path $env:ProgramData 'ssh'
    $keys = @(Get-ChildItem -LiteralPath $dir -Force -Filter 'ssh_host_*' -ErrorAction SilentlyContinue |
            ForEach-Object { $_.FullName })
    Remove-Found 'host-keys' $keys
}

# Credential Manager through its API (CredEnumerate, CredDelete): cmdkey's
# output is translated into the display language, the API's is not.
$CredentialManagerApi = @'
using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;

public static class AmiHardenCredentials {
    [DllImport("advapi32.dll", CharSet = CharSet.Unicode, SetLastError = true)]
    static extern bool CredEnumerateW(string filter, int flags, out int count, out IntPtr credentials);
    [DllImport("advapi32.dll", CharSet = CharSet.Unicode, SetLastError = true)]
    static extern bool CredDeleteW(string target, int type, int flags);
    [DllImport("advapi32.dll")]
    static extern void CredFree(IntPtr buffer);

    // Each entry as "type|target". Throws with the Win32 error when the
    // logon session has no Credential Manager (error 1312).
    public static List<string> List() {
        var found = new List<string>();
        int count;
        IntPtr list;
        if (!CredEnumerateW(null, 0, out count, out list)) {
            int error = Marshal.GetLastWin32Error();
            if (error == 1168) { return found; } // ERROR_NOT_FOUND: none
            throw new System.ComponentModel.Win32Exception(error);
        }
        try {
            for (int i = 0; i < count; i++) {
                IntPtr credential = Marshal.ReadIntPtr(list, i * IntPtr.Size);
                int type = Marshal.ReadInt32(credential, 4);
                string target = Marshal.PtrToStringUni(Marshal.ReadIntPtr(credential, 8));
                found.Add(type + "|" + target);
            }
        } finally {
            CredFree(list);
        }
        return found;
    }

    public static bool Delete(string target, int type) {
        return CredDeleteW(target, type, 0);
    }
}
'@

# credentials: Credential Manager entries of the user running the script and
# credential files in every profile, plus extra_paths.
function Invoke-CredentialsStep {
    Add-Type -TypeDefinition $CredentialManagerApi
    $vaultDone = New-Object System.Collections.ArrayList
    $vaultLeft = New-Object System.Collections.ArrayList
    $vaultNote = ''
    try {
        foreach ($entry in [AmiHardenCredentials]::List()) {
            $type, $target = $entry -split '\|', 2
            if ($Audit) { Write-Finding 'credentials' "Credential Manager holds $target"; continue }
            if ([AmiHardenCredentials]::Delete($target, [int]$type)) {
                [void]$vaultDone.Add("Credential Manager entry $target")
            } else {
                [void]$vaultLeft.Add($target)
            }
        }
    } catch {
        # A WinRM network logon has no Credential Manager of its own; the
        # elevated runner's scheduled task has.
        $vaultNote = "; Credential Manager not reachable from this logon ($($_.Exception.Message)): run with elevated_user to clear it"
    }
    if ($vaultLeft.Count -gt 0) {
        Write-Report 'credentials' 'failed' "could not delete the Credential Manager entries $(Join-List $vaultLeft)"
        return
    }
    $paths = @()
    foreach ($profilePath in Get-ProfilePaths) {
        foreach ($rel in '.aws\credentials', '.aws\sso\cache', '.docker\config.json', '.git-credentials', '.netrc',
            '.kube\config', '.azure\accessTokens.json', '.azure\msal_token_cache.json',
            'AppData\Roaming\gcloud\credentials.db', 'AppData\Roaming\gcloud\access_tokens.db',
            'AppData\Roaming\gcloud\application_default_credentials.json') {
            $paths += Join-Path $profilePath $rel
        }
    }
    $paths += $AmiHardenExtraPaths
    if ($vaultNote) { Write-Output "credentials: $($vaultNote.TrimStart('; '))" }
    Remove-Found 'credentials' $paths $vaultDone
}

# history: this session's history and every profile's PSReadLine history.
function Invoke-HistoryStep {
    if (-not $Audit) { Clear-History }
    $paths = @()
    foreach ($profilePath in Get-ProfilePaths) {
        $dir = Join-Path $profilePath 'AppData\Roaming\Microsoft\Windows\PowerShell\PSReadLine'
        if (Test-Path -LiteralPath $dir) {
            $paths += @(Get-ChildItem -LiteralPath $dir -Force -Filter '*_history.txt' | ForEach-Object { $_.FullName })
        }
    }
    Remove-Found 'history' $paths
}

# temp: the Windows temp folder and every profile's, but not this script.
function Invoke-TempStep {
    $dirs = @(Join-Path $env:SystemRoot 'Temp')
    foreach ($profilePath in Get-ProfilePaths) { $dirs += Join-Path $profilePath 'AppData\Local\Temp' }
    $removed = 0
    $inUse = New-Object System.Collections.ArrayList
    foreach ($dir in $dirs) {
        if (-not (Test-Path -LiteralPath $dir)) { continue }
        foreach ($item in @(Get-ChildItem -LiteralPath $dir -Force)) {
            if ($item.FullName -eq $PSCommandPath) { continue }
            if ($Audit) { Write-Finding 'temp' "$($item.FullName) exists"; continue }
            try {
                Remove-Tree $item.FullName $false
                $removed++
            } catch {
                # Files held open by running processes (the build's own among them) stay.
                [void]$inUse.Add($item.FullName)
            }
        }
    }
    if ($Audit) {
        Complete-Audit 'temp' 'temp folders are empty'
        return
    }
    $tail = if ($inUse.Count -gt 0) { "; in use by running processes, left: $(Join-List $inUse)" } else { '' }
    if ($removed -gt 0) {
        Write-Report 'temp' 'changed' "removed $removed item(s) from $($dirs.Count) temp folder(s)$tail"
    } else {
        Write-Report 'temp' 'ok' "temp folders are empty$tail"
    }
}

# event-logs: every event log that holds records, cleared (what wevtutil cl
# does, through the same API, without a process per log).
function Invoke-EventLogsStep {
    $session = [System.Diagnostics.Eventing.Reader.EventLogSession]::GlobalSession
    $cleared = 0
    $failed = New-Object System.Collections.ArrayList
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

# Test-PendingReboot: the reasons Windows wants a reboot, if any. Sysprep
# run with a reboot pending hangs or fails.
function Test-PendingReboot {
    $reasons = @()
    if (Test-Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending') {
        $reasons += 'Component Based Servicing'
    }
    if (Test-Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired') {
        $reasons += 'Windows Update'
    }
    $sm = Get-ItemProperty -Path 'HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager' -ErrorAction SilentlyContinue
    if ($sm -and ($sm.PSObject.Properties.Name -contains 'PendingFileRenameOperations') -and $sm.PendingFileRenameOperations) {
        $reasons += 'pending file renames'
    }
    return $reasons
}

# Resolve-SysprepMode: what `auto` means on this machine.
function Resolve-SysprepMode {
    if ($AmiHardenSysprep -ne 'auto') { return $AmiHardenSysprep }
    if (Test-Path -LiteralPath $EC2LaunchV2Exe) { return 'ec2launch-v2' }
    if (Test-Path -LiteralPath (Join-Path $EC2LaunchV1Scripts 'SysprepInstance.ps1')) { return 'ec2launch-v1' }
    if (Test-Path -LiteralPath $EC2ConfigExe) { return 'ec2config' }
    return 'sysprep'
}

# Get-SysprepCommand: the program and arguments that generalise the image with Mode.
function Get-SysprepCommand([string]$Mode, [bool]$Shutdown) {
    switch ($Mode) {
        'ec2launch-v2' {
            $flag = if ($Shutdown) { 'true' } else { 'false' }
            return @{ Exe = $EC2LaunchV2Exe; Args = @('sysprep', '--clean', "--shutdown=$flag") }
        }
        'ec2launch-v1' {
            $init = Join-Path $EC2LaunchV1Scripts 'InitializeInstance.ps1'
            $prep = Join-Path $EC2LaunchV1Scripts 'SysprepInstance.ps1'
            $noShutdown = if ($Shutdown) { '' } else { ' -NoShutdown' }
            return @{ Exe = 'powershell.exe'; Args = @('-NoProfile', '-ExecutionPolicy', 'Bypass', '-Command',
                    "& '$init' -Schedule; & '$prep'$noShutdown") }
        }
        'ec2config' { return @{ Exe = $EC2ConfigExe; Args = @('-sysprep') } }
        default {
            $end = if ($Shutdown) { '/shutdown' } else { '/quit' }
            return @{ Exe = (Join-Path $env:SystemRoot 'System32\Sysprep\sysprep.exe'); Args = @('/generalize', '/oobe', '/quiet', $end) }
        }
    }
}

# sysprep, always last: generalise the image so each instance gets its own
# SID, name and Administrator password.
function Invoke-SysprepStep {
    $mode = Resolve-SysprepMode
    if ($mode -eq 'none') {
        Write-Report 'sysprep' 'skipped' 'sysprep = "none"'
        return
    }
    if ($script:Failed.Count -gt 0) {
        Write-Report 'sysprep' 'failed' "not started because step(s) $($script:Failed -join ', ') failed: the machine stays reachable to fix them"
        return
    }
    $pending = @(Test-PendingReboot)
    if ($Audit) {
        if ($pending.Count -gt 0) { Write-Finding 'sysprep' "a reboot is pending ($($pending -join ', ')): Sysprep would hang or fail" }
        Complete-Audit 'sysprep' "audit runs no Sysprep; enforce would run $mode"
        return
    }
    if ($pending.Count -gt 0) {
        Write-Report 'sysprep' 'failed' "a reboot is pending ($($pending -join ', ')): Sysprep would hang or fail; add a windows-restart provisioner before ami-harden"
        return
    }
    if ($mode -eq 'ec2config' -and -not $AmiHardenSysprepShutdown) {
        Write-Report 'sysprep' 'failed' 'EC2Config always shuts down after Sysprep: set sysprep_shutdown = true'
        return
    }
    $command = Get-SysprepCommand $mode $AmiHardenSysprepShutdown
    if ($AmiHardenSysprepShutdown) {
        # Reported first: the connection drops when the machine shuts down,
        # and only a drop after this line and the end marker is a success.
        Write-Report 'sysprep' 'changed' "started $mode; the machine shuts down when Sysprep is done"
        $script:SysprepCommand = $command
        return
    }
    $process = Start-Process -FilePath $command.Exe -ArgumentList (Join-Arguments $command.Args) -Wait -PassThru -NoNewWindow
    $code = $process.ExitCode
    $state = (Get-ItemProperty -Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Setup\State' -ErrorAction SilentlyContinue).ImageState
    if ($state -eq 'IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE') {
        Write-Report 'sysprep' 'changed' "generalised with $mode (ImageState $state)"
    } else {
        Write-Report 'sysprep' 'failed' "$mode exited $code and ImageState is $state, not IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE; see C:\Windows\System32\Sysprep\Panther\setuperr.log"
    }
}

# Join-Arguments: one command line, each argument with a space or quote in double quotes.
function Join-Arguments([string[]]$Arguments) {
    ($Arguments | ForEach-Object {
            if ($_ -match '[\s"]') { '"' + ($_ -replace '"', '\"') + '"' } else { $_ }
        }) -join ' '
}

# Start-DetachedSysprep: Sysprep with shutdown must outlive this WinRM session,
# which kills its child processes when it closes; a scheduled task does. It
# starts a little later, so that the report reaches Packer first.
function Start-DetachedSysprep($Command) {
    $action = New-ScheduledTaskAction -Execute $Command.Exe -Argument (Join-Arguments $Command.Args)
    $trigger = New-ScheduledTaskTrigger -Once -At ((Get-Date).AddSeconds(15))
    $principal = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest
    Register-ScheduledTask -TaskName 'ami-harden-sysprep' -Action $action -Trigger $trigger -Principal $principal -Force | Out-Null
}

# ---------------------------------------------------------------- main

$StepFunctions = @{
    'domain'         = 'Invoke-DomainStep'
    'guest-account'  = 'Invoke-GuestAccountStep'
    'services'       = 'Invoke-ServicesStep'
    'admin-password' = 'Invoke-AdminPasswordStep'
    'user-keys'      = 'Invoke-UserKeysStep'
    'host-keys'      = 'Invoke-HostKeysStep'
    'credentials'    = 'Invoke-CredentialsStep'
    'history'        = 'Invoke-HistoryStep'
    'temp'           = 'Invoke-TempStep'
    'event-logs'     = 'Invoke-EventLogsStep'
    'sysprep'        = 'Invoke-SysprepStep'
}

# The script was read whole before it started: it can delete its own file.
if ($AmiHardenRemoveSelf -and $PSCommandPath) {
    Remove-Item -LiteralPath $PSCommandPath -Force -ErrorAction SilentlyContinue
}

$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    [Console]::Out.WriteLine('@@ami-harden abort not-admin: the script needs an elevated administrator (see elevated_user)')
    exit 2
}

[Console]::Out.WriteLine('@@ami-harden begin 1')
$script:SysprepCommand = $null
foreach ($step in $AmiHardenSteps) {
    [Console]::Out.WriteLine("@@ami-harden start $step")
    try {
        & $StepFunctions[$step]
    } catch {
        if (-not $script:Reported.ContainsKey($step)) {
            Write-Report $step 'failed' "stopped before reporting: $($_.Exception.Message)"
        }
    }
    if (-not $script:Reported.ContainsKey($step)) {
        Write-Report $step 'failed' 'the step ended without reporting'
    }
}
[Console]::Out.WriteLine("@@ami-harden end $($script:Failed.Count)")
if ($script:SysprepCommand) {
    Start-DetachedSysprep $script:SysprepCommand
}
if ($script:Failed.Count -gt 0 -or $script:Findings.Count -gt 0) { exit 1 }
exit 0
