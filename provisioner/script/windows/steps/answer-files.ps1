# answer-files: Setup's answer files from the build (Panther's cached copies,
# Sysprep's, a drive root's) hold the passwords they set, base64 at best.
# They are overwritten and removed. Launch agents' own answer files stay:
# they hold no password and the agents need them.
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
