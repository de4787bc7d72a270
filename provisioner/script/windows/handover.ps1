# handover: what the script leaves to a process of its own, after the run.
#
# Nothing the build needs may go over WinRM once Sysprep has begun: from then
# until the machine is off, Windows refuses every new WinRM shell with "http
# response error: 401 - invalid content type" (hashicorp/packer#10129,
# #12320; hashicorp/packer-plugin-amazon#637). Two changes must also wait
# until the build has stopped logging in: the password of the account it logs
# in with, and the WinRM settings it talks through. So steps add such work
# here (Add-FinalWork), the sysprep step sets what generalises the image
# (Set-SysprepHandover), and main.ps1, before the end marker and only when
# no step failed, writes the runner program and starts it as a process of
# its own (WMI's Win32_Process: outside the WinRM shell's job, it lives on
# when WinRM closes the shell). The report's handover line says what it took.
#
# The runner waits until the script's process has ended (with elevated_user,
# also until the provisioner has read and removed the report file), runs
# Sysprep when the sysprep step handed it over, does the final work, and
# powers the machine off only when every part worked and, with Sysprep,
# ImageState is IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE. Otherwise the machine
# stays up, and the runner writes why to the Application event log and to
# the serial port COM1, which EC2 shows as the instance's console output.
# The provisioner waits for the power-off by watching the WinRM endpoint
# without logging in (provisioner/poweroff.go): a machine that stays up
# fails the build. Nothing of it stays in the image: the runner's file
# removes itself as it starts, its folder goes before the power-off.
$script:FinalWork = New-List
$script:Handover = $null
# The functions the runner program is made of: its own, the helper they
# share, and what the final work and Sysprep's check add.
$script:RunnerFunctions = New-List
foreach ($f in 'Invoke-Handover', 'Clear-FileData') { [void]$script:RunnerFunctions.Add($f) }
$HandoverFile = Join-Path $AmiHardenHome 'handover.ps1'

# ConvertTo-PSLiteral: s as a single-quoted PowerShell string, for the
# runner program's text.
function ConvertTo-PSLiteral([string]$s) { return "'" + ($s -replace "'", "''") + "'" }

# Add-FinalWork: one part of the final work, for step Step: a function of
# this script, by name, with its arguments as data (its body is copied into
# the runner, with the Helpers it calls), and what it does, in the words of
# the report.
function Add-FinalWork([string]$Step, [string]$Function, [string[]]$Arguments, [string]$Text, [string[]]$Helpers = @()) {
    $call = $Function
    if ($Arguments.Count -gt 0) {
        $call += ' @(' + (@($Arguments | ForEach-Object { ConvertTo-PSLiteral $_ }) -join ', ') + ')'
    }
    [void]$script:FinalWork.Add(@{ Step = $Step; Function = $Function; Call = $call; Text = $Text })
    foreach ($f in @($Function) + $Helpers) { [void]$script:RunnerFunctions.Add($f) }
}

# Set-SysprepHandover: what the runner runs to generalise the image. The
# runner reads ImageState with the sysprep step's Get-ImageState.
function Set-SysprepHandover([string]$Mode, [string]$Program, [string]$Arguments, [string]$Before, [string]$Answer) {
    $script:Handover = @{ Mode = $Mode; Program = $Program; Arguments = $Arguments; Before = $Before; Answer = $Answer }
    [void]$script:RunnerFunctions.Add('Get-ImageState')
}

# Get-HandoverText: what the runner will do, for the report's handover line.
function Get-HandoverText {
    $parts = @()
    if ($script:Handover) { $parts += "Sysprep ($($script:Handover.Mode): $(Split-Path -Leaf $script:Handover.Program) $($script:Handover.Arguments))" }
    $parts += @($script:FinalWork | ForEach-Object { "$($_.Text) ($($_.Step))" })
    return ($parts -join '; ')
}

# Start-Handover: main.ps1 calls it after the end marker, when there is
# anything to hand over. Returns what went wrong, or ''.
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
    # With a byte order mark: Windows PowerShell 5.1 reads a file without
    # one in the legacy code page (an account name may not be ASCII).
    [IO.File]::WriteAllText($HandoverFile, $text.ToString(), (New-Object Text.UTF8Encoding($true)))
    $line = "powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File `"$HandoverFile`""
    $r = Invoke-CimMethod -ClassName Win32_Process -MethodName Create -Arguments @{ CommandLine = $line }
    if ($r.ReturnValue -ne 0) { return "Win32_Process.Create returned $($r.ReturnValue)" }
    return ''
}

# Invoke-Handover: the runner, a program of its own (Start-Handover copies
# this function into it).
function Invoke-Handover {
    param([string]$Self, [int]$WaitPid, [string]$ReportFile, [string[]]$Final, [string]$Mode, [string]$Program,
        [string]$Arguments, [string]$Before, [string]$Answer, [int]$TimeoutSeconds)
    $ErrorActionPreference = 'Stop'
    # Where a person finds why the machine stayed up: the Application event
    # log, and the serial port (EC2: the instance's console output).
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
    # The build reads the script's output until its process ends, and with
    # elevated_user then reads and removes the report file: only after that
    # may WinRM stop taking logons.
    $p = Get-Process -Id $WaitPid -ErrorAction SilentlyContinue
    if ($p) { [void]$p.WaitForExit(600000) }
    if ($ReportFile) {
        for ($i = 0; $i -lt 600 -and (Test-Path -LiteralPath $ReportFile); $i++) { Start-Sleep -Seconds 1 }
    }
    Start-Sleep -Seconds 10
    $off = {
        # Its folder, when nothing else is left in it.
        try { [IO.Directory]::Delete((Split-Path -Parent $Self), $false) } catch { }
        $o = Start-Process -FilePath 'shutdown.exe' -ArgumentList '/s /t 0 /d p:4:1 /c "ami-harden: done"' -PassThru -Wait -WindowStyle Hidden
        return $o.ExitCode
    }
    # Sysprep first: the final work closes the WinRM listener that the
    # provisioner watches (without logging in) for the power-off, so it
    # comes last, right before the power-off.
    if ($Program) {
        $why = ''
        $exit = ''
        try {
            # EC2Config's own preparation (no RDP while the Administrator
            # password is blank at first boot) before its Sysprep.
            if ($Before) {
                & cmd.exe /c "`"$Before`"" | Out-Null
                if ($LASTEXITCODE -ne 0) { throw "$Before exited $LASTEXITCODE" }
            }
            $sp = Start-Process -FilePath $Program -ArgumentList $Arguments -PassThru -WindowStyle Hidden
            if ($sp.WaitForExit($TimeoutSeconds * 1000)) {
                $exit = $sp.ExitCode
            } else {
                $why = "$Mode did not finish within sysprep_timeout ($TimeoutSeconds s)"
                # The agent's process and the sysprep.exe it started.
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
