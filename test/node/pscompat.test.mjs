// Proves that pscompat.mjs bites: it reports each kind of mistake on its
// exact line, lets guarded calls, aliases, parameter prefixes and the
// script's own functions through, and says what it could not check.
//
//   node --test test/node/pscompat.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const gate = join(here, 'pscompat.mjs');
const testdata = join(here, 'testdata');
const scratch = mkdtempSync(join(tmpdir(), 'pscompat-'));

// Runs the gate on FILES; the problems are stderr's FILE:LINE:COL: lines.
function run(...files) {
  const r = spawnSync(process.execPath, [gate, ...files], { encoding: 'utf8' });
  const problems = r.stderr.split('\n').filter((l) => /^.+:\d+:\d+: /.test(l));
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, problems };
}

// A scratch script with these lines.
function script(name, ...lines) {
  const path = join(scratch, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

// The 1-based line of FILE that holds TEXT (the tests name the construct,
// not a number that an edit of the comments would shift).
function lineOf(file, text) {
  const i = readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes(text));
  assert.notEqual(i, -1, `${file} has no line with ${text}`);
  return i + 1;
}

function reported(result, file, line, message) {
  const found = result.problems.filter((p) => p.startsWith(`${file}:${line}:`) && p.includes(message));
  assert.equal(found.length, 1, `expected "${file}:${line}: ... ${message}" in:\n${result.stderr}`);
}

test('the bad script: each mistake on its line, nothing else, guarded calls let through', () => {
  const bad = join(testdata, 'pscompat-bad.ps1');
  const r = run(bad);
  assert.equal(r.status, 1, r.stderr);
  reported(r, bad, lineOf(bad, '-NoSuchParam'), 'Get-ChildItem has no parameter -NoSuchParam on Windows Server 2016 Datacenter, Windows Server 2019 Datacenter');
  reported(r, bad, lineOf(bad, '$thing = Get-NoSuchThing'), 'Get-NoSuchThing: no such command on any Windows Server profile');
  reported(r, bad, lineOf(bad, '::Domain'), '[Microsoft.PowerShell.Commands.PrincipalSource] has no static member Domain');
  assert.equal(r.problems.length, 3, r.stderr);
  // The three guard patterns: if (Get-Command X), if ($var) after $var =
  // Get-Command X, and if (-not (Get-Command X)) { return }.
  const guarded = {
    'Get-EC2InstanceMetadata': '$id = Get-EC2InstanceMetadata -Category',
    'Send-EC2LaunchReport': 'Send-EC2LaunchReport -Verbose',
    'Reset-EC2Agent': 'Reset-EC2Agent -Force',
  };
  for (const [name, call] of Object.entries(guarded)) {
    assert.ok(!r.stderr.includes(name), `${name} is guarded, yet reported:\n${r.stderr}`);
    assert.ok(r.stdout.includes(`${bad}:${lineOf(bad, call)}:`), `${name}'s call is not listed as guarded:\n${r.stdout}`);
  }
  assert.match(r.stdout, /^3 problem\(s\)$/m);
});

test('the good script, two files joined: accepted, with what it could not check listed', () => {
  const lib = join(testdata, 'pscompat-good-lib.ps1');
  const main = join(testdata, 'pscompat-good-main.ps1');
  const r = run(lib, main);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.problems.length, 0);
  // main.ps1 calls lib.ps1's functions by parameter prefix and alias.
  assert.match(r.stdout, /2 script functions in 2\)/);
  assert.match(r.stdout, /7 against the script's functions/);
  assert.match(r.stdout, /3 native in 3/);
  assert.match(r.stdout, /dynamic calls[^\n]*\n {4}.*pscompat-good-main\.ps1:\d+:\d+: & \$step 'x' 'y'/);
  assert.match(r.stdout, /types the script defines \(Add-Type\):\n {4}GoodNative ::Twice/);
  assert.match(r.stdout, /^ {4}System\.IO\.File ::Exists$/m);
  assert.match(r.stdout, /^ {2}Microsoft\.PowerShell\.Commands\.PrincipalSource ::Local$/m);
  // Alone, main.ps1 calls functions nobody defines.
  const alone = run(main);
  assert.equal(alone.status, 1);
  reported(alone, main, lineOf(main, 'Write-Note -St'), 'Write-Note: no such command');
});

test('aliases and parameter prefixes are accepted; an ambiguous prefix is not', () => {
  const ok = script('aliases.ps1',
    'gci -Fo -Rec C:\\ | % { $_.FullName } | ? { $_ } | Out-Null', // -Force, -Recurse
    'Get-ChildItem -s -ad C:\\Users', // the parameter aliases of -Recurse and -Directory
    'gsv -Na Spooler -ea SilentlyContinue | Stop-Service -PassThru -WhatIf', // -Name; Stop-Service takes -WhatIf
    'Set-ItemProperty -Path HKLM:\\SOFTWARE\\x -Name y -Value 1 -Type DWord', // the Registry provider's -Type
    'Get-Content -LiteralPath C:\\x -Raw -Encoding UTF8'); // FileSystem's dynamic parameters
  const r = run(ok);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /parameters checked: 15 \(15 against the profiles/);

  const bad = script('ambiguous.ps1',
    'Get-ChildItem -Fi x', // -File or -Filter
    'Get-Service -WhatIf', // Get-Service does not support ShouldProcess
    'Get-Item -Path:C:\\ -Forc:$true -NoSuch:1');
  const b = run(bad);
  assert.equal(b.status, 1);
  reported(b, bad, 1, 'Get-ChildItem -Fi is ambiguous (-File, -Filter)');
  reported(b, bad, 2, 'Get-Service has no parameter -WhatIf');
  reported(b, bad, 3, 'Get-Item has no parameter -NoSuch');
  assert.equal(b.problems.length, 3, b.stderr);
});

test("a script function's parameters are checked against its own param list, across files", () => {
  const lib = script('lib.ps1',
    'function Set-Thing([string]$Name, [switch]$Force) { $Name }',
    'function Get-Any { "$args" }',
    'function Get-None { 1 }',
    'function Invoke-Advanced {',
    '    [CmdletBinding()]',
    '    param([string]$Path)',
    '    $Path',
    '}');
  const main = script('main.ps1',
    'Set-Thing -Na x -Fo', // prefixes
    'Set-Thing -Nmae x', // a typo
    'Get-Any -Whatever 1', // reads $args: anything goes
    'Get-None -X', // takes nothing
    'Invoke-Advanced -Pa x -ErrorAction Stop', // advanced: common parameters too
    'Set-Thing -ErrorAction Stop'); // simple: no common parameters
  const r = run(lib, main);
  assert.equal(r.status, 1);
  reported(r, main, 2, 'Set-Thing (the script\'s function, ' + lib + ':1:1) has no parameter -Nmae');
  reported(r, main, 4, 'Get-None (the script\'s function, ' + lib + ':3:1) takes no parameters, but is called with -X');
  reported(r, main, 6, 'has no parameter -ErrorAction');
  assert.equal(r.problems.length, 3, r.stderr);
});

test('every server profile must have the command; the Windows 10 one only adds notes', () => {
  const s = script('versions.ps1',
    'Set-ProcessMitigation -System -Enable DEP', // ProcessMitigations: Server 2019, not 2016
    'Get-WindowsFeature -Name Web-Server'); // ServerManager: servers only
  const r = run(s);
  assert.equal(r.status, 1);
  reported(r, s, 1, 'Set-ProcessMitigation: no such command on Windows Server 2016 Datacenter (');
  assert.equal(r.problems.length, 1, r.stderr);
  assert.match(r.stdout, /notes \(client Windows only, not failures\):\n {2}.*versions\.ps1:2:1: Get-WindowsFeature is not on Windows 10 Pro/);
});
