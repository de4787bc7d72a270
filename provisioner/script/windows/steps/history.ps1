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
$script:Steps['history'] = 'Invoke-HistoryStep'
