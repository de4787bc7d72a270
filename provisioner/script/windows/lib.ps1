# ami-harden: cleans and hardens a Windows machine before it becomes a shared image.
#
# The provisioner joins this file, the files of the selected steps (steps/) and main.ps1
# into one script, writes its settings above them as plain assignments,
# uploads it once and runs it once with Windows PowerShell 5.1 as an
# administrator. Never run it on a machine you want to keep using: it
# disables accounts and services, deletes keys and runs Sysprep.
#
# The report is one line per event on standard output, each starting with
# "@@ami-harden " (nothing else the script prints does); the words and what
# they mean are in provisioner/report/report.go. A step's DETAIL names files,
# accounts, services and counts; never the contents of a file.
#
# Why each step exists: docs/steps.md.

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$Audit = ($AmiHardenMode -eq 'audit')

$script:Steps = [ordered]@{}
$script:Reported = @{}
$script:Failed = New-Object System.Collections.ArrayList
$script:Findings = @{}

# Where the steps keep what must outlive the script: the handover's program
# and the answer file of plain sysprep mode. The handover removes both.
$AmiHardenHome = Join-Path $env:ProgramData 'ami-harden'

# The report goes out as UTF-8. [Console]::Out writes the console's OEM code
# page (437 or 850 on English Windows), in which an account name or a path
# with letters outside ASCII would reach the provisioner garbled; setting
# [Console]::OutputEncoding needs a console, which a WinRM shell has not.
$script:Stdout = New-Object IO.StreamWriter([Console]::OpenStandardOutput(), (New-Object Text.UTF8Encoding($false)))
$script:Stdout.AutoFlush = $true

# ---------------------------------------------------------------- reporting

# Write-Line: one line to standard output, also to the report file when the
# run goes through the elevated runner (it reads the file, not the stream).
function Write-Line([string]$Text) {
    $script:Stdout.WriteLine($Text)
    if ($AmiHardenReportFile) {
        $new = -not (Test-Path -LiteralPath $AmiHardenReportFile)
        [IO.File]::AppendAllText($AmiHardenReportFile, $Text + "`r`n", (New-Object Text.UTF8Encoding($false)))
        if ($new -and $AmiHardenBuildUser) {
            # The provisioner reads it as the WinRM login user, who may not
            # be elevated_user. It holds the report only: no secret.
            $acl = Get-Acl -LiteralPath $AmiHardenReportFile
            $acl.AddAccessRule((New-Object Security.AccessControl.FileSystemAccessRule($AmiHardenBuildUser, 'Modify', 'Allow')))
            Set-Acl -LiteralPath $AmiHardenReportFile -AclObject $acl
        }
    }
}

# Write-Report: the one line the provisioner reads for a step.
function Write-Report([string]$Step, [string]$Status, [string]$Detail) {
    $text = ($Detail -replace '[\r\n\t]+', ' ').Trim()
    if (-not $text) { $text = '-' }
    Write-Line "@@ami-harden step $Step $Status $text"
    $script:Reported[$Step] = $Status
    if ($Status -eq 'failed') { [void]$script:Failed.Add($Step) }
}

# Write-Finding: in audit mode, one thing the step would change. The first 50
# of a step are sent; the rest are counted in the step's line.
function Write-Finding([string]$Step, [string]$Text) {
    $script:Findings[$Step] = 1 + $(if ($script:Findings.ContainsKey($Step)) { $script:Findings[$Step] } else { 0 })
    if ($script:Findings[$Step] -le 50) {
        Write-Line "@@ami-harden finding $Step $(($Text -replace '[\r\n\t]+', ' ').Trim())"
    }
}

# Write-Note: something the step left in place, for the user to know.
function Write-Note([string]$Step, [string]$Text) {
    Write-Line "@@ami-harden note $Step $(($Text -replace '[\r\n\t]+', ' ').Trim())"
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

# Invoke-Native: run a program, its output (stderr too) as text and its exit
# code. Windows PowerShell 5.1 turns a native program's stderr lines into
# error records under 2>&1, which $ErrorActionPreference = 'Stop' throws on:
# so 'Continue' here, for this call only.
function Invoke-Native([string]$Program, [string[]]$Arguments) {
    $ErrorActionPreference = 'Continue'
    $out = & $Program @Arguments 2>&1 | ForEach-Object { "$_" }
    return @{ Output = (($out | Out-String).Trim()); Exit = $LASTEXITCODE }
}

# New-List: an empty list that Add() keeps in order.
function New-List { return , (New-Object System.Collections.ArrayList) }

# ---------------------------------------------------------------- wiping files

# Clear-FileData: overwrite a file with zeros over its whole length and flush
# it to the disk, so that its contents are not left in the clusters an image
# snapshot copies when the file is then deleted or rewritten.
function Clear-FileData([string]$Path) {
    $stream = [IO.File]::Open($Path, [IO.FileMode]::Open, [IO.FileAccess]::Write, [IO.FileShare]::None)
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
}

# Set-FileText: rewrite a settings file in place: its old bytes overwritten
# first (a plain rewrite can leave them in freed clusters), then the new
# text, flushed. Owner and permissions stay, as the file does.
function Set-FileText([string]$Path, [string]$Text, [Text.Encoding]$Encoding) {
    Clear-FileData $Path
    $bytes = $Encoding.GetPreamble() + $Encoding.GetBytes($Text)
    $stream = [IO.File]::Open($Path, [IO.FileMode]::Open, [IO.FileAccess]::Write, [IO.FileShare]::None)
    try {
        $stream.SetLength(0)
        $stream.Write($bytes, 0, $bytes.Length)
        $stream.Flush($true)
    } finally {
        $stream.Dispose()
    }
}

# Test-Link: a symbolic link, junction or other reparse point.
function Test-Link($Item) {
    return [bool]($Item.Attributes -band [IO.FileAttributes]::ReparsePoint)
}

# Remove-Tree: delete a file or a folder with everything in it, overwriting
# files first when $Overwrite. Links (symbolic links, junctions) are deleted
# themselves, never followed: Windows PowerShell 5.1's Get-ChildItem -Recurse
# and Remove-Item -Recurse follow them, into folders outside the tree.
function Remove-Tree([string]$Path, [bool]$Overwrite) {
    $item = Get-Item -LiteralPath $Path -Force
    if (Test-Link $item) {
        if ($item.PSIsContainer) { [IO.Directory]::Delete($item.FullName, $false) } else { [IO.File]::Delete($item.FullName) }
        return
    }
    if ($item.PSIsContainer) {
        foreach ($child in @(Get-ChildItem -LiteralPath $item.FullName -Force)) { Remove-Tree $child.FullName $Overwrite }
        [IO.Directory]::Delete($item.FullName, $false)
        return
    }
    if ($item.IsReadOnly) { $item.IsReadOnly = $false }
    if ($Overwrite) { Clear-FileData $item.FullName }
    [IO.File]::Delete($item.FullName)
}

# Get-ErrorText: why a file could not be removed, in the words of the
# exception, with "in use" only when another process holds it.
function Get-ErrorText($ErrorRecord) {
    $e = $ErrorRecord.Exception
    while ($e.InnerException) { $e = $e.InnerException }
    # 0x80070020 ERROR_SHARING_VIOLATION, 0x80070021 ERROR_LOCK_VIOLATION
    if ($e.HResult -eq -2147024864 -or $e.HResult -eq -2147024863) { return "in use by another process" }
    return ($e.Message -replace '[\r\n]+', ' ').Trim()
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
    $found = New-List
    foreach ($d in $Done) { [void]$found.Add($d) }
    $left = New-List
    foreach ($p in $Paths) {
        if (-not (Test-Path -LiteralPath $p)) { continue }
        [void]$found.Add($p)
        try {
            Remove-Tree $p $true
        } catch {
            [void]$left.Add("$p ($(Get-ErrorText $_))")
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

# Remove-Each: overwrite and delete each of Paths (Remove-Tree), for the
# steps that empty folders a running machine still writes to. One that
# another process holds open is left and listed in InUse, unless its name
# matches one of MustGo: then, as any other failure, it is in Problems
# with its reason. Removed counts the rest.
function Remove-Each([string[]]$Paths, [string[]]$MustGo = @()) {
    $r = @{ Removed = 0; InUse = (New-List); Problems = (New-List) }
    foreach ($p in $Paths) {
        try {
            Remove-Tree $p $true
            $r.Removed++
        } catch {
            $why = Get-ErrorText $_
            $leaf = Split-Path -Leaf $p
            if ($why -eq 'in use by another process' -and @($MustGo | Where-Object { $leaf -like $_ }).Count -eq 0) {
                [void]$r.InUse.Add($p)
            } else {
                [void]$r.Problems.Add("$p ($why)")
            }
        }
    }
    return $r
}

# Write-Removal: a Remove-Each step's note (what was left in use) and line:
# failed with the problems, else changed when something went, else ok.
function Write-Removal([string]$Step, $Result, [string]$InUseNote, [string]$Changed, [string]$Ok) {
    if ($Result.InUse.Count -gt 0) { Write-Note $Step "${InUseNote}: $(Join-List $Result.InUse)" }
    if ($Result.Problems.Count -gt 0) {
        Write-Report $Step 'failed' "could not remove $(Join-List $Result.Problems)"
    } elseif ($Result.Removed -gt 0) {
        Write-Report $Step 'changed' $Changed
    } else {
        Write-Report $Step 'ok' $Ok
    }
}

# Get-ProfilePaths: the folder of every profile whose files can hold a
# secret: each user's, SYSTEM's (config\systemprofile: EC2Launch v2 keeps
# user-data scripts, which hold the WinRM password, under its Temp), the
# LocalService and NetworkService profiles, and Default (the template of
# every new profile; an answer file's CopyProfile fills it from the build's).
function Get-ProfilePaths {
    $paths = New-List
    foreach ($p in @(Get-CimInstance -ClassName Win32_UserProfile)) {
        if ($p.LocalPath -and (Test-Path -LiteralPath $p.LocalPath)) { [void]$paths.Add($p.LocalPath) }
    }
    $list = Get-ItemProperty -Path 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList' -ErrorAction SilentlyContinue
    if ($list -and ($list.PSObject.Properties.Name -contains 'Default')) {
        $default = [Environment]::ExpandEnvironmentVariables([string]$list.Default)
        if ((Test-Path -LiteralPath $default) -and -not ($paths -contains $default)) { [void]$paths.Add($default) }
    }
    return , $paths
}

# ---------------------------------------------------------------- launch agents

# The launch agents of EC2 Windows images, newest first.
$EC2LaunchV2Exe = Join-Path $env:ProgramFiles 'Amazon\EC2Launch\EC2Launch.exe'
$EC2LaunchV2Config = Join-Path $env:ProgramData 'Amazon\EC2Launch\config\agent-config.yml'
$EC2LaunchV1Scripts = Join-Path $env:ProgramData 'Amazon\EC2-Windows\Launch\Scripts'
$EC2LaunchV1Config = Join-Path $env:ProgramData 'Amazon\EC2-Windows\Launch\Config\LaunchConfig.json'
$EC2ConfigExe = Join-Path $env:ProgramFiles 'Amazon\Ec2ConfigService\Ec2Config.exe'
$EC2ConfigSettings = Join-Path $env:ProgramFiles 'Amazon\Ec2ConfigService\Settings\config.xml'
$EC2ConfigBundle = Join-Path $env:ProgramFiles 'Amazon\Ec2ConfigService\Settings\BundleConfig.xml'
$EC2ConfigAnswerFile = Join-Path $env:ProgramFiles 'Amazon\Ec2ConfigService\sysprep2008.xml'

# Get-LaunchAgent: the launch agent installed, by its program AND its
# settings (admin-password and sysprep both ask here, so they never
# disagree): ec2launch-v2, ec2launch-v1, ec2config, or none.
function Get-LaunchAgent {
    if ((Test-Path -LiteralPath $EC2LaunchV2Exe) -and (Test-Path -LiteralPath $EC2LaunchV2Config)) { return 'ec2launch-v2' }
    if ((Test-Path -LiteralPath (Join-Path $EC2LaunchV1Scripts 'SysprepInstance.ps1')) -and (Test-Path -LiteralPath $EC2LaunchV1Config)) {
        return 'ec2launch-v1'
    }
    if ((Test-Path -LiteralPath $EC2ConfigExe) -and (Test-Path -LiteralPath $EC2ConfigSettings)) { return 'ec2config' }
    return 'none'
}

# ---------------------------------------------------------------- preflight

# Get-PendingReboot: the reasons Windows wants a reboot, if any. Sysprep run
# with a reboot pending hangs or fails, after every other step has changed
# the machine: main.ps1 asks before the first step.
function Get-PendingReboot {
    $reasons = New-List
    $cbs = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing'
    if (Test-Path "$cbs\RebootPending") { [void]$reasons.Add('Component Based Servicing') }
    if (Test-Path "$cbs\PackagesPending") { [void]$reasons.Add('packages pending (Component Based Servicing)') }
    if (Test-Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired') {
        [void]$reasons.Add('Windows Update')
    }
    $sm = Get-ItemProperty -Path 'HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager' -ErrorAction SilentlyContinue
    foreach ($name in 'PendingFileRenameOperations', 'PendingFileRenameOperations2') {
        if ($sm -and ($sm.PSObject.Properties.Name -contains $name) -and $sm.$name) { [void]$reasons.Add('pending file renames') ; break }
    }
    $active = Get-ItemProperty -Path 'HKLM:\SYSTEM\CurrentControlSet\Control\ComputerName\ActiveComputerName' -ErrorAction SilentlyContinue
    $next = Get-ItemProperty -Path 'HKLM:\SYSTEM\CurrentControlSet\Control\ComputerName\ComputerName' -ErrorAction SilentlyContinue
    if ($active -and $next -and ($active.PSObject.Properties.Name -contains 'ComputerName') -and
        ($next.PSObject.Properties.Name -contains 'ComputerName') -and $active.ComputerName -ne $next.ComputerName) {
        [void]$reasons.Add("a pending rename of the computer to $($next.ComputerName)")
    }
    $netlogon = 'HKLM:\SYSTEM\CurrentControlSet\Services\Netlogon'
    if ((Test-Path "$netlogon\JoinDomain") -or (Test-Path "$netlogon\AvoidSpnSet")) { [void]$reasons.Add('a pending domain join') }
    return , $reasons
}
