# recycle-bin: what was deleted to the Recycle Bin (on every fixed drive, of
# every user) is overwritten and removed, as Disk Cleanup would empty it.
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
