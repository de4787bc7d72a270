# A script pscompat.mjs must reject, for test/node/pscompat.test.mjs: three
# real mistakes, each on a line of its own, and commands that no Windows
# profile has but that run only where Get-Command finds them.

# A parameter Get-ChildItem does not have.
$files = Get-ChildItem -LiteralPath 'C:\Windows\Temp' -NoSuchParam

# A cmdlet Windows does not have.
$thing = Get-NoSuchThing -Name 'x'

# A static member the LocalAccounts assembly's enum does not have (it has
# Unknown, Local, ActiveDirectory, AzureAD and MicrosoftAccount).
$source = [Microsoft.PowerShell.Commands.PrincipalSource]::Domain

# Guarded: AWS Tools for PowerShell's cmdlet, called only when it is there.
if (Get-Command Get-EC2InstanceMetadata -ErrorAction SilentlyContinue) {
    $id = Get-EC2InstanceMetadata -Category InstanceId
}

# Guarded through a variable that holds Get-Command's answer.
$launch = Get-Command Send-EC2LaunchReport -ErrorAction SilentlyContinue
if ($launch) {
    Send-EC2LaunchReport -Verbose
}

# Guarded by an early return when Get-Command finds nothing.
function Invoke-AgentReset {
    if (-not (Get-Command Reset-EC2Agent -ErrorAction SilentlyContinue)) { return }
    Reset-EC2Agent -Force
}
Invoke-AgentReset
