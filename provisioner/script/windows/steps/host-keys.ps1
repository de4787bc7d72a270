# host-keys: no SSH host key ships. The OpenSSH server makes new ones when it
# starts without them; key files left by an uninstalled server go too.
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
