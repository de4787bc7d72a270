# The first half of a script pscompat.mjs must accept (with
# pscompat-good-main.ps1, which calls these functions): functions, an Add-Type
# type, and a type the profiles list.

function Write-Note([string]$Step, [string]$Text, [switch]$Quiet) {
    if (-not $Quiet) { [Console]::Out.WriteLine("note $Step $Text") }
}

function Remove-Stale {
    [CmdletBinding(SupportsShouldProcess = $true)]
    param(
        [Parameter(Mandatory = $true)][Alias('Dir')][string]$Path,
        [int]$Days = 7
    )
    $limit = (Get-Date).AddDays(-$Days)
    gci -LiteralPath $Path -Fo -File -ea SilentlyContinue |
        ? { $_.LastWriteTime -lt $limit } |
        % { if ($PSCmdlet.ShouldProcess($_.FullName)) { Remove-Item -LiteralPath $_.FullName -Force } }
}

Add-Type -TypeDefinition @'
public static class GoodNative {
    public static int Twice(int n) { return 2 * n; }
}
'@

# Types from an assembly the profiles list, with members they have.
$local = [Microsoft.PowerShell.Commands.PrincipalSource]::Local
$mount = [Microsoft.Dism.Commands.MountMode]::ReadOnly
