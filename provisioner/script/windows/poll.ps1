# poll: the provisioner runs this (with $StateDir and $Shutdown written
# above it) while the detached Sysprep runs, as a short command of its own
# each time: Sysprep resets WinRM, so one of these may fail and the next one
# works. It prints one protocol line: waiting, or the sysprep step's result.
$ErrorActionPreference = 'Stop'
$state = Join-Path $StateDir 'state.txt'
$where = 'see C:\Windows\System32\Sysprep\Panther\setuperr.log'
if (-not (Test-Path -LiteralPath $state)) {
    "@@ami-harden step sysprep failed the Sysprep runner left no state in $StateDir (it did not start, or was stopped); $where"
    exit 0
}
$word, $rest = ([IO.File]::ReadAllText($state).Trim() -split ' ', 2)
$s = Get-ItemProperty -Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Setup\State' -ErrorAction SilentlyContinue
$image = if ($s -and ($s.PSObject.Properties.Name -contains 'ImageState')) { [string]$s.ImageState } else { '(none)' }
if ($word -eq 'running') {
    "@@ami-harden waiting sysprep $rest"
    exit 0
}
if ($word -eq 'done' -and $image -eq 'IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE') {
    if ($Shutdown) {
        # The runner removes its state and shuts down once this is there.
        [IO.File]::WriteAllText((Join-Path $StateDir 'ack'), 'ack')
        "@@ami-harden step sysprep changed generalised: $rest; the machine shuts down now"
        exit 0
    }
    Remove-Item -LiteralPath $StateDir -Recurse -Force
    # An empty ami-harden folder may stay where this login may not remove it.
    $parent = Split-Path -Parent $StateDir
    if (-not @(Get-ChildItem -LiteralPath $parent -Force)) { Remove-Item -LiteralPath $parent -Force -ErrorAction SilentlyContinue }
    if (Test-Path -LiteralPath $StateDir) {
        "@@ami-harden step sysprep failed generalised ($rest), but $StateDir could not be removed"
        exit 0
    }
    "@@ami-harden step sysprep changed generalised: $rest"
    exit 0
}
Remove-Item -LiteralPath $StateDir -Recurse -Force -ErrorAction SilentlyContinue
"@@ami-harden step sysprep failed Sysprep did not generalise the image: $rest (ImageState now $image); $where"
