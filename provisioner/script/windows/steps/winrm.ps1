# winrm: the WinRM the build talked through does not stay open on the
# instances. Builds open it wide: Basic auth, often unencrypted traffic
# (packer#6143), an HTTPS listener with a self-signed certificate whose
# private key would ship in the image, so that every instance presented the
# same key. Never during the build, which still needs it: the handover
# (handover.ps1) turns Basic auth and unencrypted traffic off and removes
# the self-signed HTTPS listeners with their certificates and keys, after
# the build's last command. Windows' own HTTP listener on 5985 and its
# firewall rules stay: with Basic and unencrypted traffic off they are
# Windows' default (Kerberos or NTLM, encrypted), not the build's.
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

# Get-HttpsListener: WinRM's HTTPS listeners, each with its certificate from
# Cert:\LocalMachine\My ($null when it is not there).
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

# Close-BuildWinRM: final work (the handover runs it, with
# Get-HttpsListener and New-List, as the script's account, once the build's
# last command is done). The key file of a
# self-signed certificate is overwritten before it is deleted: a deleted
# file's clusters go into the snapshot. param(), not a parenthesised list:
# the handover copies the function's body.
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
        # The key's file: CNG (New-SelfSignedCertificate's default provider)
        # keeps it under Crypto\Keys, the older CryptoAPI under
        # Crypto\RSA\MachineKeys.
        $key = [Security.Cryptography.X509Certificates.RSACertificateExtensions]::GetRSAPrivateKey($cert)
        $file = ''
        if ($key -is [Security.Cryptography.RSACng]) {
            $file = Join-Path $env:ProgramData "Microsoft\Crypto\Keys\$($key.Key.UniqueName)"
        } elseif ($key -is [Security.Cryptography.RSACryptoServiceProvider]) {
            $file = Join-Path $env:ProgramData "Microsoft\Crypto\RSA\MachineKeys\$($key.CspKeyContainerInfo.UniqueKeyContainerName)"
        }
        if ($file -and (Test-Path -LiteralPath $file)) {
            # The certificate first, then its key's file, overwritten and
            # deleted here: the key provider's own delete would have to
            # read the file, and would leave its clusters as they were.
            Remove-Item -LiteralPath "Cert:\LocalMachine\My\$thumb" -Force
            Clear-FileData $file
            [IO.File]::Delete($file)
        } else {
            Remove-Item -LiteralPath "Cert:\LocalMachine\My\$thumb" -DeleteKey -Force
        }
        if (Test-Path -LiteralPath "Cert:\LocalMachine\My\$thumb") { throw "the certificate $thumb is still there" }
    }
    # The listeners last, right before the power-off: the provisioner
    # watches the build's port for it, and a listener gone early would look
    # like a machine that is off.
    foreach ($p in $listeners) { Remove-Item -Path $p -Recurse -Force }
}
$script:Steps['winrm'] = 'Invoke-WinRMStep'
