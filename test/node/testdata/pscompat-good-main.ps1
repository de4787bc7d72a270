# The second half of the accepted script: calls the functions of
# pscompat-good-lib.ps1, with prefixes and aliases of their parameters.
Write-Note -St 'temp' -Te 'cleaning' -Q
Remove-Stale -Dir 'C:\Windows\Temp' -Da 3 -WhatIf -Verbose

# Cmdlets with prefixes (-Na for -Name, -Rec for -Recurse), parameter
# aliases (-ea, -s) and command aliases (gsv, ls, select).
gsv -Na 'Spooler' -ea SilentlyContinue | select -Fi 1
ls -s -Filt '*.log' 'C:\Windows\Logs' | Out-Null
Get-ChildItem -Rec -Path 'C:\ProgramData' | Measure-Object | Out-Null

# Native commands with and without their extension; their arguments are theirs.
net user Guest /active:no
& net.exe accounts /maxpwage:unlimited
& sc.exe config Spooler start= disabled

# A call the gate cannot resolve, and a type it cannot check.
$step = 'Write-Note'
& $step 'x' 'y'
$twice = [GoodNative]::Twice(2)
$null = [IO.File]::Exists('C:\Windows\win.ini')
