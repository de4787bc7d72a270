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
$script:Steps['user-keys'] = 'Invoke-UserKeysStep'
