# temp: the Windows temp folder, every profile's (SYSTEM's included: EC2Launch
# v2 runs user data from there) and Windows Update's download cache, as Disk
# Cleanup's temporary files. Every file is overwritten before it is deleted:
# Packer's elevated runner leaves packer-elevated-shell-*.ps1 there with the
# elevated_password in clear text. A file another process holds open stays
# and is named; any other failure fails the step, with its reason.
function Invoke-TempStep {
    $dirs = @(Join-Path $env:SystemRoot 'Temp')
    foreach ($profilePath in Get-ProfilePaths) { $dirs += Join-Path $profilePath 'AppData\Local\Temp' }
    $dirs += Join-Path $env:SystemRoot 'SoftwareDistribution\Download'
    $keep = @($PSCommandPath) + @($AmiHardenKeepFiles)
    $removed = 0
    $inUse = New-List
    $problems = New-List
    foreach ($dir in $dirs) {
        if (-not (Test-Path -LiteralPath $dir)) { continue }
        foreach ($item in @(Get-ChildItem -LiteralPath $dir -Force)) {
            if ($keep -contains $item.FullName) { continue }
            if ($Audit) { Write-Finding 'temp' "$($item.FullName) exists"; continue }
            try {
                Remove-Tree $item.FullName $true
                $removed++
            } catch {
                $why = Get-ErrorText $_
                if ($why -eq 'in use by another process' -and $item.Name -notlike 'packer-elevated-shell-*') {
                    [void]$inUse.Add($item.FullName)
                } else {
                    [void]$problems.Add("$($item.FullName) ($why)")
                }
            }
        }
    }
    if ($Audit) {
        Complete-Audit 'temp' 'temp folders are empty'
        return
    }
    if ($inUse.Count -gt 0) { Write-Note 'temp' "in use by running processes, left: $(Join-List $inUse)" }
    if ($problems.Count -gt 0) {
        Write-Report 'temp' 'failed' "could not remove $(Join-List $problems)"
    } elseif ($removed -gt 0) {
        Write-Report 'temp' 'changed' "overwrote and removed $removed item(s) from $($dirs.Count) temp folder(s)"
    } else {
        Write-Report 'temp' 'ok' 'temp folders are empty'
    }
}
$script:Steps['temp'] = 'Invoke-TempStep'
