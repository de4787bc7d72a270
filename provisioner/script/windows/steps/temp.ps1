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
    # The elevated runner's wrapper holds elevated_password: it must go,
    # in use or not.
    $r = Remove-Each $items @('packer-elevated-shell-*')
    Write-Removal 'temp' $r 'in use by running processes, left' "overwrote and removed $($r.Removed) item(s) from $($dirs.Count) temp folder(s)" 'temp folders are empty'
}
$script:Steps['temp'] = 'Invoke-TempStep'
