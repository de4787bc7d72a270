# Parameters written by the ami-harden provisioner.
$AmiHardenSteps = @('domain', 'guest-account', 'accounts', 'services', 'admin-password', 'winrm', 'user-keys', 'host-keys', 'credentials', 'history', 'autologon', 'answer-files', 'temp', 'recycle-bin', 'pagefile', 'logs', 'event-logs', 'sysprep')
$AmiHardenWipePaths = @()
$AmiHardenDisableServices = @('Spooler')
$AmiHardenKeepServices = @()
$AmiHardenRemoveUsers = @()
$AmiHardenKeepUsers = @()
$AmiHardenBuildUser = 'Administrator'
$AmiHardenSysprep = 'auto'
$AmiHardenSysprepTimeout = 1800
$AmiHardenMode = 'enforce'
$AmiHardenReportFile = ''
$AmiHardenKeepFiles = @()
$AmiHardenRemoveSelf = $true
$env:PACKER_BUILDER_TYPE = 'null'
$env:PACKER_BUILD_NAME = 'windows'
Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$Audit = ($AmiHardenMode -eq 'audit')
$script:Steps = [ordered]@{}
$script:Reported = @{}
$script:Failed = New-Object System.Collections.ArrayList
$script:Findings = @{}
$AmiHardenHome = Join-Path $env:ProgramData 'ami-harden'
$script:Stdout = New-Object IO.StreamWriter([Console]::OpenStandardOutput(), (New-Object Text.UTF8Encoding($false)))
$script:Stdout.AutoFlush = $true
function Write-Line([string]$Text) {
$script:Stdout.WriteLine($Text)
if ($AmiHardenReportFile) {
$new = -not (Test-Path -LiteralPath $AmiHardenReportFile)
[IO.File]::AppendAllText($AmiHardenReportFile, $Text + "`r`n", (New-Object Text.UTF8Encoding($false)))
if ($new -and $AmiHardenBuildUser) {
$acl = Get-Acl -LiteralPath $AmiHardenReportFile
$acl.AddAccessRule((New-Object Security.AccessControl.FileSystemAccessRule($AmiHardenBuildUser, 'Modify', 'Allow')))
Set-Acl -LiteralPath $AmiHardenReportFile -AclObject $acl
}
}
}
function Write-Report([string]$Step, [string]$Status, [string]$Detail) {
$text = ($Detail -replace '[\r\n\t]+', ' ').Trim()
if (-not $text) { $text = '-' }
Write-Line "@@ami-harden step $Step $Status $text"
$script:Reported[$Step] = $Status
if ($Status -eq 'failed') { [void]$script:Failed.Add($Step) }
}
function Write-Finding([string]$Step, [string]$Text) {
$script:Findings[$Step] = 1 + $(if ($script:Findings.ContainsKey($Step)) { $script:Findings[$Step] } else { 0 })
if ($script:Findings[$Step] -le 50) {
Write-Line "@@ami-harden finding $Step $(($Text -replace '[\r\n\t]+', ' ').Trim())"
}
}
function Write-Note([string]$Step, [string]$Text) {
Write-Line "@@ami-harden note $Step $(($Text -replace '[\r\n\t]+', ' ').Trim())"
}
function Complete-Audit([string]$Step, [string]$OkDetail) {
if ($script:Findings.ContainsKey($Step)) {
Write-Report $Step 'finding' "$($script:Findings[$Step]) finding(s)"
} else {
Write-Report $Step 'ok' $OkDetail
}
}
function Join-List([object[]]$Items) {
$all = @($Items | Where-Object { $_ })
if ($all.Count -le 20) { return ($all -join ', ') }
return (($all[0..19] -join ', ') + ", and $($all.Count - 20) more")
}
function Invoke-Native([string]$Program, [string[]]$Arguments) {
$ErrorActionPreference = 'Continue'
$out = & $Program @Arguments 2>&1 | ForEach-Object { "$_" }
return @{ Output = (($out | Out-String).Trim()); Exit = $LASTEXITCODE }
}
function New-List { return , (New-Object System.Collections.ArrayList) }
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
function Test-Link($Item) {
return [bool]($Item.Attributes -band [IO.FileAttributes]::ReparsePoint)
}
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
function Get-ErrorText($ErrorRecord) {
$e = $ErrorRecord.Exception
while ($e.InnerException) { $e = $e.InnerException }
if ($e.HResult -eq -2147024864 -or $e.HResult -eq -2147024863) { return "in use by another process" }
return ($e.Message -replace '[\r\n]+', ' ').Trim()
}
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
$EC2LaunchV2Exe = Join-Path $env:ProgramFiles 'Amazon\EC2Launch\EC2Launch.exe'
$EC2LaunchV2Config = Join-Path $env:ProgramData 'Amazon\EC2Launch\config\agent-config.yml'
$EC2LaunchV1Scripts = Join-Path $env:ProgramData 'Amazon\EC2-Windows\Launch\Scripts'
$EC2LaunchV1Config = Join-Path $env:ProgramData 'Amazon\EC2-Windows\Launch\Config\LaunchConfig.json'
$EC2ConfigExe = Join-Path $env:ProgramFiles 'Amazon\Ec2ConfigService\Ec2Config.exe'
$EC2ConfigSettings = Join-Path $env:ProgramFiles 'Amazon\Ec2ConfigService\Settings\config.xml'
$EC2ConfigBundle = Join-Path $env:ProgramFiles 'Amazon\Ec2ConfigService\Settings\BundleConfig.xml'
$EC2ConfigAnswerFile = Join-Path $env:ProgramFiles 'Amazon\Ec2ConfigService\sysprep2008.xml'
function Get-LaunchAgent {
if ((Test-Path -LiteralPath $EC2LaunchV2Exe) -and (Test-Path -LiteralPath $EC2LaunchV2Config)) { return 'ec2launch-v2' }
if ((Test-Path -LiteralPath (Join-Path $EC2LaunchV1Scripts 'SysprepInstance.ps1')) -and (Test-Path -LiteralPath $EC2LaunchV1Config)) {
return 'ec2launch-v1'
}
if ((Test-Path -LiteralPath $EC2ConfigExe) -and (Test-Path -LiteralPath $EC2ConfigSettings)) { return 'ec2config' }
return 'none'
}
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
$script:FinalWork = New-List
$script:Handover = $null
$script:RunnerFunctions = New-List
foreach ($f in 'Invoke-Handover', 'Clear-FileData') { [void]$script:RunnerFunctions.Add($f) }
$HandoverFile = Join-Path $AmiHardenHome 'handover.ps1'
function ConvertTo-PSLiteral([string]$s) { return "'" + ($s -replace "'", "''") + "'" }
function Add-FinalWork([string]$Step, [string]$Function, [string[]]$Arguments, [string]$Text, [string[]]$Helpers = @()) {
$call = $Function
if ($Arguments.Count -gt 0) {
$call += ' @(' + (@($Arguments | ForEach-Object { ConvertTo-PSLiteral $_ }) -join ', ') + ')'
}
[void]$script:FinalWork.Add(@{ Step = $Step; Function = $Function; Call = $call; Text = $Text })
foreach ($f in @($Function) + $Helpers) { [void]$script:RunnerFunctions.Add($f) }
}
function Set-SysprepHandover([string]$Mode, [string]$Program, [string]$Arguments, [string]$Before, [string]$Answer) {
$script:Handover = @{ Mode = $Mode; Program = $Program; Arguments = $Arguments; Before = $Before; Answer = $Answer }
[void]$script:RunnerFunctions.Add('Get-ImageState')
}
function Get-HandoverText {
$parts = @()
if ($script:Handover) { $parts += "Sysprep ($($script:Handover.Mode): $(Split-Path -Leaf $script:Handover.Program) $($script:Handover.Arguments))" }
$parts += @($script:FinalWork | ForEach-Object { "$($_.Text) ($($_.Step))" })
return ($parts -join '; ')
}
function Start-Handover {
if (-not (Test-Path -LiteralPath $AmiHardenHome)) { [void](New-Item -ItemType Directory -Path $AmiHardenHome) }
$text = New-Object Text.StringBuilder
foreach ($f in @($script:RunnerFunctions | Select-Object -Unique)) {
[void]$text.Append("function $f {$((Get-Item -LiteralPath "function:$f").ScriptBlock.ToString())}`r`n")
}
$h = $script:Handover
if (-not $h) { $h = @{ Mode = ''; Program = ''; Arguments = ''; Before = ''; Answer = '' } }
$final = '@(' + (@($script:FinalWork | ForEach-Object { ConvertTo-PSLiteral $_.Call }) -join ', ') + ')'
[void]$text.Append("Invoke-Handover -Self $(ConvertTo-PSLiteral $HandoverFile) -WaitPid $PID -ReportFile $(ConvertTo-PSLiteral $AmiHardenReportFile) -Final $final " +
"-Mode $(ConvertTo-PSLiteral $h.Mode) -Program $(ConvertTo-PSLiteral $h.Program) -Arguments $(ConvertTo-PSLiteral $h.Arguments) " +
"-Before $(ConvertTo-PSLiteral $h.Before) -Answer $(ConvertTo-PSLiteral $h.Answer) -TimeoutSeconds $AmiHardenSysprepTimeout`r`n")
[IO.File]::WriteAllText($HandoverFile, $text.ToString(), (New-Object Text.UTF8Encoding($true)))
$line = "powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File `"$HandoverFile`""
$r = Invoke-CimMethod -ClassName Win32_Process -MethodName Create -Arguments @{ CommandLine = $line }
if ($r.ReturnValue -ne 0) { return "Win32_Process.Create returned $($r.ReturnValue)" }
return ''
}
function Invoke-Handover {
param([string]$Self, [int]$WaitPid, [string]$ReportFile, [string[]]$Final, [string]$Mode, [string]$Program,
[string]$Arguments, [string]$Before, [string]$Answer, [int]$TimeoutSeconds)
$ErrorActionPreference = 'Stop'
$tell = {
param($Text)
$line = "ami-harden: $Text"
try {
if (-not [Diagnostics.EventLog]::SourceExists('ami-harden')) { New-EventLog -LogName Application -Source 'ami-harden' }
Write-EventLog -LogName Application -Source 'ami-harden' -EventId 1 -EntryType Error -Message $line
} catch { }
try {
$port = New-Object IO.Ports.SerialPort('COM1', 115200)
$port.Open()
$port.WriteLine($line)
$port.Close()
} catch { }
}
Remove-Item -LiteralPath $Self -Force -ErrorAction SilentlyContinue
$p = Get-Process -Id $WaitPid -ErrorAction SilentlyContinue
if ($p) { [void]$p.WaitForExit(600000) }
if ($ReportFile) {
for ($i = 0; $i -lt 600 -and (Test-Path -LiteralPath $ReportFile); $i++) { Start-Sleep -Seconds 1 }
}
Start-Sleep -Seconds 10
$off = {
try { [IO.Directory]::Delete((Split-Path -Parent $Self), $false) } catch { }
$o = Start-Process -FilePath 'shutdown.exe' -ArgumentList '/s /t 0 /d p:4:1 /c "ami-harden: done"' -PassThru -Wait -WindowStyle Hidden
return $o.ExitCode
}
if ($Program) {
$why = ''
$exit = ''
try {
if ($Before) {
& cmd.exe /c "`"$Before`"" | Out-Null
if ($LASTEXITCODE -ne 0) { throw "$Before exited $LASTEXITCODE" }
}
$sp = Start-Process -FilePath $Program -ArgumentList $Arguments -PassThru -WindowStyle Hidden
if ($sp.WaitForExit($TimeoutSeconds * 1000)) {
$exit = $sp.ExitCode
} else {
$why = "$Mode did not finish within sysprep_timeout ($TimeoutSeconds s)"
& taskkill.exe /PID $sp.Id /T /F | Out-Null
}
} catch {
$why = "could not run $Mode ($($_.Exception.Message))"
}
if ($Answer) { Remove-Item -LiteralPath $Answer -Force -ErrorAction SilentlyContinue }
$image = Get-ImageState
if (-not $why -and $image -ne 'IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE') {
$why = "$Mode exited $exit, and ImageState is $image, not IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE"
}
if ($why) {
& $tell "do not use this image: $why; nothing after it ran (no final work, no power-off) and the machine stays up. See C:\Windows\System32\Sysprep\Panther\setuperr.log"
return
}
}
foreach ($c in $Final) {
try {
& ([scriptblock]::Create($c))
} catch {
& $tell "do not use this image: the final work $c failed ($($_.Exception.Message)); nothing after it ran (no power-off) and the machine stays up"
return
}
}
$code = & $off
if ($code -ne 0) { & $tell "do not use this image: everything is done, but shutdown.exe exited $code; the machine stays up" }
}
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
$script:Steps['domain'] = 'Invoke-DomainStep'
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
$after = @(Get-CimInstance -ClassName Win32_UserAccount -Filter "LocalAccount = True AND SID = '$($guest.SID)'")
if ($after.Count -eq 1 -and $after[0].Disabled) {
Write-Report 'guest-account' 'changed' "disabled $($guest.Name)"
} else {
Write-Report 'guest-account' 'failed' "$($guest.Name) is still enabled after Disable-LocalUser"
}
}
$script:Steps['guest-account'] = 'Invoke-GuestAccountStep'
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
function Remove-Account($User) {
$profiles = @(Get-CimInstance -ClassName Win32_UserProfile | Where-Object { $_.SID -eq $User.SID.Value })
foreach ($p in $profiles) {
if ($p.Loaded) { throw "its profile $($p.LocalPath) is loaded (the account is logged on)" }
if ($p.LocalPath -and (Test-Path -LiteralPath $p.LocalPath)) {
foreach ($child in @(Get-ChildItem -LiteralPath $p.LocalPath -Force)) { Remove-Tree $child.FullName $true }
}
$p | Remove-CimInstance
}
Remove-LocalUser -SID $User.SID
if (@(Get-LocalUser | Where-Object { $_.SID.Value -eq $User.SID.Value }).Count -gt 0) { throw 'still there' }
}
function Close-BuildAccount {
param([string[]]$Arguments)
$rng = New-Object System.Security.Cryptography.RNGCryptoServiceProvider
foreach ($name in @($Arguments | Select-Object -Skip 1)) {
$bytes = New-Object byte[] 24
$rng.GetBytes($bytes)
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
function Invoke-AdminPasswordStep {
switch (Get-LaunchAgent) {
'ec2launch-v2' { Set-EC2LaunchV2Password; return }
'ec2launch-v1' { Set-EC2LaunchV1Password; return }
'ec2config' { Set-EC2ConfigPassword; return }
}
Write-Report 'admin-password' 'failed' 'no EC2 launch agent (EC2Launch v2, EC2Launch v1 or EC2Config) found to set a random Administrator password at first boot; install one, or skip this step and set the password another way'
}
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
function Invoke-WinRMStep {
$open = New-List
$notes = New-List
try {
if ((Get-Item -Path 'WSMan:\localhost\Service\Auth\Basic').Value -eq 'true') { [void]$open.Add('Basic auth') }
if ((Get-Item -Path 'WSMan:\localhost\Service\AllowUnencrypted').Value -eq 'true') { [void]$open.Add('unencrypted traffic') }
foreach ($l in Get-HttpsListener) {
if (-not $l.Certificate) {
[void]$notes.Add("the HTTPS listener $($l.Name) names the certificate $($l.Thumbprint), which is not in Cert:\LocalMachine\My; it stays")
} elseif ($l.Certificate.Subject -eq $l.Certificate.Issuer) {
[void]$open.Add("an HTTPS listener with the self-signed certificate $($l.Certificate.Subject) ($($l.Thumbprint)), its private key in the image")
} else {
[void]$notes.Add("the HTTPS listener with the certificate $($l.Certificate.Subject) ($($l.Thumbprint)), issued by $($l.Certificate.Issuer), stays: every instance presents its key")
}
}
} catch {
Write-Report 'winrm' 'failed' "could not read WinRM's settings: $($_.Exception.Message)"
return
}
foreach ($n in $notes) { Write-Note 'winrm' $n }
if ($open.Count -eq 0) {
Write-Report 'winrm' 'ok' 'no Basic auth, unencrypted traffic or self-signed HTTPS listener'
return
}
if ($Audit) {
foreach ($o in $open) { Write-Finding 'winrm' "WinRM has $o (enforce closes it after the build's last command)" }
Complete-Audit 'winrm' ''
return
}
Add-FinalWork 'winrm' 'Close-BuildWinRM' @() "WinRM: Basic auth and unencrypted traffic off, self-signed HTTPS listeners removed with their certificates and keys" @('Get-HttpsListener', 'New-List')
Write-Report 'winrm' 'changed' "closes $(Join-List $open) after the build's last command (the handover); open for the rest of this build"
}
function Get-HttpsListener {
$out = New-List
foreach ($l in @(Get-ChildItem -Path 'WSMan:\localhost\Listener')) {
if (-not (@($l.Keys) -contains 'Transport=HTTPS')) { continue }
$thumb = [string](Get-ChildItem -Path $l.PSPath | Where-Object { $_.Name -eq 'CertificateThumbprint' }).Value
$cert = $null
if ($thumb) { $cert = Get-Item -LiteralPath "Cert:\LocalMachine\My\$($thumb.Trim())" -ErrorAction SilentlyContinue }
[void]$out.Add(@{ Name = $l.Name; Path = $l.PSPath; Thumbprint = $thumb.Trim(); Certificate = $cert })
}
return , $out
}
function Close-BuildWinRM {
param()
Set-Item -Path 'WSMan:\localhost\Service\Auth\Basic' -Value $false -Force
Set-Item -Path 'WSMan:\localhost\Service\AllowUnencrypted' -Value $false -Force
if ((Get-Item -Path 'WSMan:\localhost\Service\Auth\Basic').Value -eq 'true') { throw 'Basic auth is still on' }
$listeners = New-Object System.Collections.ArrayList
foreach ($l in Get-HttpsListener) {
$cert = $l.Certificate
if (-not $cert -or $cert.Subject -ne $cert.Issuer) { continue }
$thumb = $l.Thumbprint
[void]$listeners.Add($l.Path)
$key = [Security.Cryptography.X509Certificates.RSACertificateExtensions]::GetRSAPrivateKey($cert)
$file = ''
if ($key -is [Security.Cryptography.RSACng]) {
$file = Join-Path $env:ProgramData "Microsoft\Crypto\Keys\$($key.Key.UniqueName)"
} elseif ($key -is [Security.Cryptography.RSACryptoServiceProvider]) {
$file = Join-Path $env:ProgramData "Microsoft\Crypto\RSA\MachineKeys\$($key.CspKeyContainerInfo.UniqueKeyContainerName)"
}
if ($file -and (Test-Path -LiteralPath $file)) {
Remove-Item -LiteralPath "Cert:\LocalMachine\My\$thumb" -Force
Clear-FileData $file
[IO.File]::Delete($file)
} else {
Remove-Item -LiteralPath "Cert:\LocalMachine\My\$thumb" -DeleteKey -Force
}
if (Test-Path -LiteralPath "Cert:\LocalMachine\My\$thumb") { throw "the certificate $thumb is still there" }
}
foreach ($p in $listeners) { Remove-Item -Path $p -Recurse -Force }
}
$script:Steps['winrm'] = 'Invoke-WinRMStep'
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
$script:Steps['user-keys'] = 'Invoke-UserKeysStep'
function Invoke-HostKeysStep {
$dir = Join-Path $env:ProgramData 'ssh'
$keys = @()
if (Test-Path -LiteralPath $dir) {
$keys = @(Get-ChildItem -LiteralPath $dir -Force -Filter 'ssh_host_*' | ForEach-Object { $_.FullName })
}
if ($keys.Count -eq 0 -and $null -eq (Get-Service -Name sshd -ErrorAction SilentlyContinue)) {
Write-Report 'host-keys' 'skipped' 'no OpenSSH server and no host keys'
return
}
Remove-Found 'host-keys' $keys
}
$script:Steps['host-keys'] = 'Invoke-HostKeysStep'
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
$CredentialFiles = @('.aws\credentials', '.aws\sso\cache', '.aws\cli\cache', '.docker\config.json', '.git-credentials',
'.netrc', '.kube\config', '.azure\accessTokens.json', '.azure\msal_token_cache.json', '.azure\msal_token_cache.bin',
'AppData\Roaming\gcloud\credentials.db', 'AppData\Roaming\gcloud\access_tokens.db',
'AppData\Roaming\gcloud\application_default_credentials.json')
$CredentialStores = @('AppData\Roaming\Microsoft\Credentials', 'AppData\Local\Microsoft\Credentials',
'AppData\Roaming\Microsoft\Vault', 'AppData\Local\Microsoft\Vault')
function Invoke-CredentialsStep {
$apiDone = New-List
$apiLeft = New-List
try {
Add-Type -TypeDefinition $CredentialManagerApi
foreach ($entry in [AmiHardenCredentials]::List()) {
$type, $target = $entry -split '\|', 2
if ($Audit) { Write-Finding 'credentials' "Credential Manager holds $target"; continue }
if ([AmiHardenCredentials]::Delete($target, [int]$type)) {
[void]$apiDone.Add("Credential Manager entry $target")
} else {
[void]$apiLeft.Add($target)
}
}
} catch {
Write-Note 'credentials' "the Credential Manager API is not available to this logon ($($_.Exception.Message)); its store files were handled for every profile"
}
if ($apiLeft.Count -gt 0) {
Write-Report 'credentials' 'failed' "could not delete the Credential Manager entries $(Join-List $apiLeft)"
return
}
$paths = @()
foreach ($profilePath in Get-ProfilePaths) {
foreach ($rel in $CredentialFiles) { $paths += Join-Path $profilePath $rel }
foreach ($rel in $CredentialStores) {
$store = Join-Path $profilePath $rel
if (Test-Path -LiteralPath $store) {
$paths += @(Get-ChildItem -LiteralPath $store -Force | ForEach-Object { $_.FullName })
}
}
}
$paths += $AmiHardenWipePaths
Remove-Found 'credentials' $paths $apiDone
}
$script:Steps['credentials'] = 'Invoke-CredentialsStep'
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
$script:Steps['history'] = 'Invoke-HistoryStep'
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
function Invoke-AnswerFilesStep {
$paths = @()
foreach ($dir in (Join-Path $env:SystemRoot 'Panther'), (Join-Path $env:SystemRoot 'Panther\Unattend'),
(Join-Path $env:SystemRoot 'System32\Sysprep'), "$env:SystemDrive\") {
if (-not (Test-Path -LiteralPath $dir)) { continue }
$paths += @(Get-ChildItem -LiteralPath $dir -Force -File |
Where-Object { $_.Name -like 'unattend*.xml' -or $_.Name -like 'autounattend*.xml' } |
ForEach-Object { $_.FullName })
}
Remove-Found 'answer-files' $paths
}
$script:Steps['answer-files'] = 'Invoke-AnswerFilesStep'
function Invoke-TempStep {
$dirs = @(Join-Path $env:SystemRoot 'Temp')
foreach ($profilePath in Get-ProfilePaths) { $dirs += Join-Path $profilePath 'AppData\Local\Temp' }
$dirs += Join-Path $env:SystemRoot 'SoftwareDistribution\Download'
$keep = @($PSCommandPath) + @($AmiHardenKeepFiles)
$items = New-List
foreach ($dir in $dirs) {
if (-not (Test-Path -LiteralPath $dir)) { continue }
foreach ($item in @(Get-ChildItem -LiteralPath $dir -Force)) {
if ($keep -contains $item.FullName) { continue }
[void]$items.Add($item.FullName)
}
}
if ($Audit) {
foreach ($i in $items) { Write-Finding 'temp' "$i exists" }
Complete-Audit 'temp' 'temp folders are empty'
return
}
$r = Remove-Each $items @('packer-elevated-shell-*')
Write-Removal 'temp' $r 'in use by running processes, left' "overwrote and removed $($r.Removed) item(s) from $($dirs.Count) temp folder(s)" 'temp folders are empty'
}
$script:Steps['temp'] = 'Invoke-TempStep'
function Invoke-RecycleBinStep {
$paths = @()
foreach ($disk in @(Get-CimInstance -ClassName Win32_LogicalDisk -Filter 'DriveType = 3')) {
$bin = "$($disk.DeviceID)\`$Recycle.Bin"
if (-not (Test-Path -LiteralPath $bin)) { continue }
foreach ($sid in @(Get-ChildItem -LiteralPath $bin -Force -Directory)) {
if (Test-Link $sid) { continue }
$paths += @(Get-ChildItem -LiteralPath $sid.FullName -Force |
Where-Object { $_.Name -ne 'desktop.ini' } | ForEach-Object { $_.FullName })
}
}
Remove-Found 'recycle-bin' $paths
}
$script:Steps['recycle-bin'] = 'Invoke-RecycleBinStep'
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
function Invoke-LogsStep {
$dirs = @(
(Join-Path $env:ProgramData 'Amazon\EC2Launch\log'),
(Join-Path $env:ProgramData 'Amazon\EC2-Windows\Launch\Log'),
(Join-Path $env:ProgramFiles 'Amazon\Ec2ConfigService\Logs'),
(Join-Path $env:SystemRoot 'Minidump'),
(Join-Path $env:SystemRoot 'LiveKernelReports'),
(Join-Path $env:ProgramData 'Microsoft\Windows\WER\ReportQueue'),
(Join-Path $env:ProgramData 'Microsoft\Windows\WER\ReportArchive'))
foreach ($profilePath in Get-ProfilePaths) { $dirs += Join-Path $profilePath 'AppData\Local\CrashDumps' }
$items = New-List
$memoryDump = Join-Path $env:SystemRoot 'MEMORY.DMP'
if (Test-Path -LiteralPath $memoryDump) { [void]$items.Add($memoryDump) }
foreach ($dir in $dirs) {
if (-not (Test-Path -LiteralPath $dir)) { continue }
foreach ($item in @(Get-ChildItem -LiteralPath $dir -Force)) { [void]$items.Add($item.FullName) }
}
if ($Audit) {
foreach ($i in $items) { Write-Finding 'logs' "$i exists" }
Complete-Audit 'logs' 'no launch agent log or crash dump'
return
}
$r = Remove-Each $items
Write-Removal 'logs' $r 'in use by running programs, left' "overwrote and removed $($r.Removed) launch agent log(s) and crash dump(s)" 'no launch agent log or crash dump'
}
$script:Steps['logs'] = 'Invoke-LogsStep'
function Invoke-EventLogsStep {
$session = [System.Diagnostics.Eventing.Reader.EventLogSession]::GlobalSession
$cleared = 0
$failed = New-List
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
$script:Steps['event-logs'] = 'Invoke-EventLogsStep'
$SysprepAnswerPath = Join-Path $AmiHardenHome 'sysprep-unattend.xml'
$SysprepExe = Join-Path $env:SystemRoot 'System32\Sysprep\sysprep.exe'
$EC2ConfigBeforeSysprep = Join-Path $env:ProgramFiles 'Amazon\Ec2ConfigService\Scripts\BeforeSysprep.cmd'
function Resolve-SysprepMode {
if ($AmiHardenSysprep -ne 'auto') { return $AmiHardenSysprep }
$agent = Get-LaunchAgent
if ($agent -ne 'none') { return $agent }
return 'sysprep'
}
function Get-SysprepCommand([string]$Mode) {
switch ($Mode) {
'ec2launch-v2' { return @{ Exe = $EC2LaunchV2Exe; Needs = $EC2LaunchV2Exe; Before = ''; Args = 'sysprep --block --clean' } }
'ec2launch-v1' {
$prep = Join-Path $EC2LaunchV1Scripts 'SysprepInstance.ps1'
return @{ Exe = (Join-Path $env:SystemRoot 'System32\WindowsPowerShell\v1.0\powershell.exe'); Needs = $prep; Before = ''
Args = "-NoProfile -NonInteractive -ExecutionPolicy Bypass -File `"$prep`" -NoShutdown" }
}
'ec2config' { return @{ Exe = $SysprepExe; Needs = $EC2ConfigAnswerFile; Before = $EC2ConfigBeforeSysprep; Args = "/generalize /oobe /quiet /quit /unattend:`"$EC2ConfigAnswerFile`"" } }
default { return @{ Exe = $SysprepExe; Needs = $SysprepExe; Before = ''; Args = "/generalize /oobe /quiet /quit /unattend:`"$SysprepAnswerPath`"" } }
}
}
$SysprepAnswerFile = @'
<?xml version="1.0" encoding="utf-8"?>
<unattend xmlns="urn:schemas-microsoft-com:unattend">
  <settings pass="generalize">
    <component name="Microsoft-Windows-PnpSysprep" processorArchitecture="amd64" publicKeyToken="31bf3856ad364e35" language="neutral" versionScope="nonSxS">
      <PersistAllDeviceInstalls>true</PersistAllDeviceInstalls>
    </component>
  </settings>
  <settings pass="oobeSystem">
    <component name="Microsoft-Windows-Shell-Setup" processorArchitecture="amd64" publicKeyToken="31bf3856ad364e35" language="neutral" versionScope="nonSxS">
      <OOBE>
        <HideEULAPage>true</HideEULAPage>
        <HideLocalAccountScreen>true</HideLocalAccountScreen>
        <HideOnlineAccountScreens>true</HideOnlineAccountScreens>
        <HideWirelessSetupInOOBE>true</HideWirelessSetupInOOBE>
        <ProtectYourPC>3</ProtectYourPC>
        <SkipMachineOOBE>true</SkipMachineOOBE>
        <SkipUserOOBE>true</SkipUserOOBE>
      </OOBE>
    </component>
  </settings>
</unattend>
'@
function Reset-LaunchAgent {
switch (Get-LaunchAgent) {
'ec2launch-v2' {
$r = Invoke-Native $EC2LaunchV2Exe @('reset', '--block', '--clean')
if ($r.Exit -ne 0) { throw "ec2launch reset --block --clean exited $($r.Exit): $($r.Output)" }
return 'ec2launch reset --block --clean'
}
'ec2launch-v1' {
& (Join-Path $EC2LaunchV1Scripts 'InitializeInstance.ps1') -Schedule
return 'InitializeInstance.ps1 -Schedule'
}
}
return ''
}
function Get-ImageState {
$s = Get-ItemProperty -Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Setup\State' -ErrorAction SilentlyContinue
if ($s -and ($s.PSObject.Properties.Name -contains 'ImageState')) { return [string]$s.ImageState }
return '(none)'
}
function Get-SysprepBlockers {
$out = New-List
foreach ($r in Get-PendingReboot) { [void]$out.Add("a reboot is pending ($r): Sysprep would hang or fail") }
$mode = Resolve-SysprepMode
if ($mode -eq 'none') { return , $out }
$command = Get-SysprepCommand $mode
foreach ($f in @($command.Exe, $command.Needs, $command.Before) | Where-Object { $_ } | Select-Object -Unique) {
if (-not (Test-Path -LiteralPath $f)) { [void]$out.Add("$f is not there for sysprep mode $mode") }
}
if ((Get-Command -Name Get-AppxPackage -ErrorAction SilentlyContinue) -and (Get-Command -Name Get-AppxProvisionedPackage -ErrorAction SilentlyContinue)) {
$provisioned = @(Get-AppxProvisionedPackage -Online | ForEach-Object { $_.DisplayName })
foreach ($a in @(Get-AppxPackage -AllUsers)) {
if ($a.IsFramework -or $a.NonRemovable -or [string]$a.SignatureKind -eq 'System') { continue }
if ($provisioned -notcontains $a.Name) {
[void]$out.Add("the app $($a.Name) is installed for a user but not provisioned for all users: Sysprep fails on it (remove it with Remove-AppxPackage -AllUsers, or provision it)")
}
}
}
return , $out
}
function Invoke-SysprepStep {
$mode = Resolve-SysprepMode
if ($mode -eq 'none') {
Write-Report 'sysprep' 'skipped' 'sysprep = "none"'
return
}
$command = Get-SysprepCommand $mode
if ($Audit) {
foreach ($b in Get-SysprepBlockers) { Write-Finding 'sysprep' $b }
Complete-Audit 'sysprep' "audit runs no Sysprep; enforce would hand over $mode (ImageState now $(Get-ImageState))"
return
}
if ($script:Failed.Count -gt 0) {
Write-Report 'sysprep' 'failed' "not handed over because step(s) $($script:Failed -join ', ') failed: the machine stays reachable to fix them"
return
}
$done = @()
$reset = Reset-LaunchAgent
if ($reset) { $done += $reset }
if ($mode -eq 'sysprep') {
if (-not (Test-Path -LiteralPath $AmiHardenHome)) { [void](New-Item -ItemType Directory -Path $AmiHardenHome) }
[IO.File]::WriteAllText($SysprepAnswerPath, $SysprepAnswerFile)
$done += 'wrote an answer file that passes OOBE unattended'
}
$answer = if ($mode -eq 'sysprep') { $SysprepAnswerPath } else { '' }
Set-SysprepHandover $mode $command.Exe $command.Args $command.Before $answer
$prepared = if ($done) { " (prepared: $($done -join '; '))" } else { '' }
Write-Report 'sysprep' 'changed' "handed over: $mode runs after this run, in a process of its own, and powers the machine off when ImageState is IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE; otherwise the machine stays up$prepared"
}
$script:Steps['sysprep'] = 'Invoke-SysprepStep'
if ($AmiHardenRemoveSelf -and $PSCommandPath) {
Remove-Item -LiteralPath $PSCommandPath -Force -ErrorAction SilentlyContinue
}
$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
Write-Line '@@ami-harden abort not-admin: the script needs an elevated administrator (see elevated_user)'
exit 2
}
if (-not $Audit -and ($AmiHardenSteps -contains 'sysprep') -and $AmiHardenSysprep -ne 'none') {
$blockers = Get-SysprepBlockers
if ($blockers.Count -gt 0) {
Write-Line "@@ami-harden abort sysprep-blocked: $(Join-List $blockers) (nothing was changed; a reboot pending: add a windows-restart provisioner before ami-harden)"
exit 2
}
}
Write-Line '@@ami-harden begin 1'
foreach ($step in $AmiHardenSteps) {
Write-Line "@@ami-harden start $step"
try {
if (-not $script:Steps.Contains($step)) { throw "the script has no step $step" }
& $script:Steps[$step]
} catch {
if (-not $script:Reported.ContainsKey($step)) {
Write-Report $step 'failed' "stopped before reporting: $($_.Exception.Message)"
}
}
if (-not $script:Reported.ContainsKey($step)) {
Write-Report $step 'failed' 'the step ended without reporting'
}
}
if ($script:FinalWork.Count -gt 0 -or $script:Handover) {
if ($script:Failed.Count -gt 0) {
Write-Line "@@ami-harden handover withheld step(s) $($script:Failed -join ', ') failed, so this was not done: $(Get-HandoverText); the machine stays up and reachable"
} else {
$why = ''
try { $why = Start-Handover } catch { $why = $_.Exception.Message }
if ($why) {
Write-Line "@@ami-harden abort handover-failed: could not start the process that does the work left for after the run ($why), so this was not done: $(Get-HandoverText); do not use this image"
exit 2
}
Write-Line "@@ami-harden handover started after this run: $(Get-HandoverText); then the machine powers itself off, or stays up and says why in its Application event log and on COM1"
}
}
Write-Line "@@ami-harden end $($script:Failed.Count)"
if ($script:Failed.Count -gt 0 -or $script:Findings.Count -gt 0) { exit 1 }
exit 0
