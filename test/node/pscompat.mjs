// A Windows PowerShell 5.1 compatibility gate, checked against Microsoft's
// real data: the PSScriptAnalyzer compatibility profiles of Windows Server
// 2016 and 2019 in test/powershell-profiles/ (there is no Windows and no
// PowerShell on the machines that build and test this project).
//
//   node pscompat.mjs [--profiles DIR] FILE...
//
// All FILEs are one script (the provisioner joins them when it renders it):
// a function defined in one file may be called from another. The syntax
// tree comes from tree-sitter's PowerShell grammar, as in parse-powershell.mjs.
//
// What it checks:
// - every command called exists on every server profile (cmdlet, function,
//   alias, or native command), is a function the script defines, or is
//   guarded by Get-Command (an `if` whose condition asks Get-Command for it,
//   directly or through a variable that holds Get-Command's answer, or an
//   `if` that returns when Get-Command finds nothing);
// - every named parameter belongs to its command on every server profile:
//   exact name, parameter alias, or a prefix that names one parameter only
//   (PowerShell's rule), plus the common parameters of cmdlets and advanced
//   functions; a script function's against its own param list;
// - every type literal ([Type], [Type]::Member, New-Object Type) whose type
//   the profiles list exists on every server profile, and so does the static
//   member used. The profiles list only the types of the assemblies Windows'
//   own modules load (not mscorlib, System, System.Management.Automation...):
//   every other type is listed as unchecked, with the members used.
//
// Problems go to stderr as FILE:LINE:COL: message, the summary and what could
// not be checked to stdout; the exit status is 1 when there is a problem.
// Profiles of client Windows (the Windows 10 one) only add notes: the
// provisioner builds server images. A type or command that one server
// profile has and the other lacks is a problem: the script runs on both.
//
// Not checked: instance members ($x.Method(): no type inference), types
// outside the profiles' assemblies (listed), programs named in strings
// (Start-Process -FilePath x.exe, a wrapper function's argument), commands
// whose name is computed (listed), splatted parameters (listed), and guards
// of other shapes than the three above. Provider parameters of the Registry
// and Certificate drives are accepted whatever the path (see
// PROVIDER_PARAMETERS), and PowerShell's last resort of trying a "Get-"
// prefix on an unknown command is not followed.
import { readFileSync, readdirSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import v8 from 'node:v8';
import { Parser, Language } from 'web-tree-sitter';

// V8 would compile the grammar's large WebAssembly parser a second time, with
// its optimising compiler, and node waits seconds for that at exit; the
// baseline compiler alone parses these scripts in tens of milliseconds.
v8.setFlagsFromString('--liftoff-only');

// ---------------------------------------------------------------- PowerShell 5.1 facts

// The common parameters every cmdlet and advanced function accepts, with
// their aliases, and whether each is a switch. WhatIf and Confirm are not
// here: only commands that support ShouldProcess take them, and the profiles
// list them for exactly those commands (see shouldProcessParameters).
const COMMON_PARAMETERS = [
  ['Verbose', ['vb'], true], ['Debug', ['db'], true],
  ['ErrorAction', ['ea'], false], ['WarningAction', ['wa'], false], ['InformationAction', ['infa'], false],
  ['ErrorVariable', ['ev'], false], ['WarningVariable', ['wv'], false], ['InformationVariable', ['iv'], false],
  ['OutVariable', ['ov'], false], ['OutBuffer', ['ob'], false], ['PipelineVariable', ['pv'], false],
];
const SHOULD_PROCESS_PARAMETERS = [['WhatIf', ['wi'], true], ['Confirm', ['cf'], true]];

// Dynamic parameters that a provider adds when the path is on its drive.
// The profiles were taken in a FileSystem folder, so they hold FileSystem's
// (-Encoding, -Raw, -Stream, -File...) but not these of the Registry and
// Certificate providers (about_Registry_Provider, about_Certificate_Provider).
// Accepted whatever the path: the gate cannot tell a path's drive.
const PROVIDER_PARAMETERS = {
  'set-item': [['Type', false]], // Registry
  'set-itemproperty': [['Type', false]], // Registry
  'get-item': [['CodeSigningCert', true], ['DocumentEncryptionCert', true]], // Certificate
  'get-childitem': [['CodeSigningCert', true], ['DocumentEncryptionCert', true], ['SSLServerAuthentication', true],
    ['DnsName', false], ['Eku', false], ['ExpiringInDays', false]], // Certificate
  'remove-item': [['DeleteKey', true]], // Certificate
};

// Functions that Windows PowerShell 5.1 defines in every session
// (InitialSessionState's built-in functions); no module holds them, so the
// profiles do not list them. Their parameters go unchecked.
const BUILTIN_FUNCTIONS = new Set(['cd..', 'cd\\', 'clear-host', 'get-verb', 'help', 'importsystemmodules',
  'mkdir', 'more', 'oss', 'pause', 'prompt', 'tabexpansion2',
  ...'abcdefghijklmnopqrstuvwxyz'.split('').map((d) => `${d}:`)]);

// Windows' default PATHEXT: `net` finds net.exe.
const PATHEXT = ['.com', '.exe', '.bat', '.cmd', '.vbs', '.vbe', '.js', '.jse', '.wsf', '.wsh', '.msc'];

// PowerShell 5.1's type accelerators ([System.Management.Automation.
// TypeAccelerators]::Get on 5.1); the profiles' own lists are merged in.
const TYPE_ACCELERATORS = {
  adsi: 'System.DirectoryServices.DirectoryEntry', adsisearcher: 'System.DirectoryServices.DirectorySearcher',
  Alias: 'System.Management.Automation.AliasAttribute',
  AllowEmptyCollection: 'System.Management.Automation.AllowEmptyCollectionAttribute',
  AllowEmptyString: 'System.Management.Automation.AllowEmptyStringAttribute',
  AllowNull: 'System.Management.Automation.AllowNullAttribute',
  ArgumentCompleter: 'System.Management.Automation.ArgumentCompleterAttribute',
  array: 'System.Array', bigint: 'System.Numerics.BigInteger', bool: 'System.Boolean', byte: 'System.Byte',
  char: 'System.Char',
  cimclass: 'Microsoft.Management.Infrastructure.CimClass',
  cimconverter: 'Microsoft.Management.Infrastructure.CimConverter',
  ciminstance: 'Microsoft.Management.Infrastructure.CimInstance',
  CimSession: 'Microsoft.Management.Infrastructure.CimSession',
  cimtype: 'Microsoft.Management.Infrastructure.CimType',
  CmdletBinding: 'System.Management.Automation.CmdletBindingAttribute',
  cultureinfo: 'System.Globalization.CultureInfo', datetime: 'System.DateTime', decimal: 'System.Decimal',
  double: 'System.Double',
  DscLocalConfigurationManager: 'System.Management.Automation.DscLocalConfigurationManagerAttribute',
  DscProperty: 'System.Management.Automation.DscPropertyAttribute',
  DscResource: 'System.Management.Automation.DscResourceAttribute',
  float: 'System.Single', guid: 'System.Guid', hashtable: 'System.Collections.Hashtable',
  initialsessionstate: 'System.Management.Automation.Runspaces.InitialSessionState',
  int: 'System.Int32', int16: 'System.Int16', int32: 'System.Int32', int64: 'System.Int64',
  ipaddress: 'System.Net.IPAddress', IPEndpoint: 'System.Net.IPEndPoint', long: 'System.Int64',
  mailaddress: 'System.Net.Mail.MailAddress', NullString: 'System.Management.Automation.Language.NullString',
  ObjectSecurity: 'System.Security.AccessControl.ObjectSecurity',
  OutputType: 'System.Management.Automation.OutputTypeAttribute',
  Parameter: 'System.Management.Automation.ParameterAttribute',
  PhysicalAddress: 'System.Net.NetworkInformation.PhysicalAddress',
  powershell: 'System.Management.Automation.PowerShell',
  psaliasproperty: 'System.Management.Automation.PSAliasProperty',
  pscredential: 'System.Management.Automation.PSCredential',
  pscustomobject: 'System.Management.Automation.PSObject',
  PSDefaultValue: 'System.Management.Automation.PSDefaultValueAttribute',
  pslistmodifier: 'System.Management.Automation.PSListModifier',
  psmoduleinfo: 'System.Management.Automation.PSModuleInfo',
  psnoteproperty: 'System.Management.Automation.PSNoteProperty',
  psobject: 'System.Management.Automation.PSObject',
  psprimitivedictionary: 'System.Management.Automation.PSPrimitiveDictionary',
  psscriptmethod: 'System.Management.Automation.PSScriptMethod',
  psscriptproperty: 'System.Management.Automation.PSScriptProperty',
  PSTypeNameAttribute: 'System.Management.Automation.PSTypeNameAttribute',
  psvariable: 'System.Management.Automation.PSVariable',
  psvariableproperty: 'System.Management.Automation.PSVariableProperty',
  ref: 'System.Management.Automation.PSReference', regex: 'System.Text.RegularExpressions.Regex',
  runspace: 'System.Management.Automation.Runspaces.Runspace',
  runspacefactory: 'System.Management.Automation.Runspaces.RunspaceFactory',
  sbyte: 'System.SByte', scriptblock: 'System.Management.Automation.ScriptBlock',
  securestring: 'System.Security.SecureString', single: 'System.Single', string: 'System.String',
  SupportsWildcards: 'System.Management.Automation.SupportsWildcardsAttribute',
  switch: 'System.Management.Automation.SwitchParameter', timespan: 'System.TimeSpan', type: 'System.Type',
  uint16: 'System.UInt16', uint32: 'System.UInt32', uint64: 'System.UInt64', uri: 'System.Uri',
  ValidateCount: 'System.Management.Automation.ValidateCountAttribute',
  ValidateDrive: 'System.Management.Automation.ValidateDriveAttribute',
  ValidateLength: 'System.Management.Automation.ValidateLengthAttribute',
  ValidateNotNull: 'System.Management.Automation.ValidateNotNullAttribute',
  ValidateNotNullOrEmpty: 'System.Management.Automation.ValidateNotNullOrEmptyAttribute',
  ValidatePattern: 'System.Management.Automation.ValidatePatternAttribute',
  ValidateRange: 'System.Management.Automation.ValidateRangeAttribute',
  ValidateScript: 'System.Management.Automation.ValidateScriptAttribute',
  ValidateSet: 'System.Management.Automation.ValidateSetAttribute',
  ValidateTrustedData: 'System.Management.Automation.ValidateTrustedDataAttribute',
  ValidateUserDrive: 'System.Management.Automation.ValidateUserDriveAttribute',
  version: 'System.Version', void: 'System.Void',
  WildcardPattern: 'System.Management.Automation.WildcardPattern',
  wmi: 'System.Management.ManagementObject', wmiclass: 'System.Management.ManagementClass',
  wmisearcher: 'System.Management.ManagementObjectSearcher',
  X500DistinguishedName: 'System.Security.Cryptography.X509Certificates.X500DistinguishedName',
  X509Certificate: 'System.Security.Cryptography.X509Certificates.X509Certificate',
  xml: 'System.Xml.XmlDocument',
};

// Static members every type has (System.Object's), and those every enum has
// (System.Enum's): the profiles list a type's own members only.
const OBJECT_STATICS = ['equals', 'referenceequals'];
const ENUM_STATICS = ['format', 'getname', 'getnames', 'getunderlyingtype', 'getvalues', 'isdefined', 'parse',
  'toobject', 'tryparse'];

// ---------------------------------------------------------------- profiles

// One profile, indexed for look-ups by lower-case name.
function loadProfile(path) {
  let bytes = readFileSync(path);
  if (path.endsWith('.gz')) bytes = gunzipSync(bytes);
  const data = JSON.parse(bytes.toString('utf8').replace(/^\uFEFF/, ''));
  const os = data.Platform.OperatingSystem;
  const profile = {
    path,
    label: os.Name.replace(/^Microsoft /, ''),
    // The provisioner builds server images: a client profile only adds notes.
    required: /server/i.test(os.Name),
    commands: new Map(), // name -> { name, module, kind, advanced, parameters: Map name -> { name, isSwitch }, aliases: Map alias -> name }
    aliases: new Map(), // command alias -> command name
    modules: new Set(),
    natives: new Set(),
    types: new Map(), // full name -> { name, assembly, statics: Set, hasConstructor }
    accelerators: new Map(),
  };
  for (const [moduleName, versions] of Object.entries(data.Compatibility.Modules)) {
    profile.modules.add(moduleName.toLowerCase());
    for (const mod of Object.values(versions)) {
      for (const [kind, key] of [['cmdlet', 'Cmdlets'], ['function', 'Functions']]) {
        for (const [name, cmd] of Object.entries(mod[key] ?? {})) {
          const lc = name.toLowerCase();
          // Two versions of a module may both hold the command: keep the union.
          const entry = profile.commands.get(lc) ?? {
            name, module: moduleName, kind, parameters: new Map(), aliases: new Map(),
            // Cmdlets are always advanced; a function is when it has [CmdletBinding()].
            advanced: kind === 'cmdlet' || cmd.CmdletBinding === true,
          };
          for (const [pname, p] of Object.entries(cmd.Parameters ?? {})) {
            entry.parameters.set(pname.toLowerCase(), { name: pname, isSwitch: p.Type === 'System.Management.Automation.SwitchParameter' });
          }
          for (const [alias, pname] of Object.entries(cmd.ParameterAliases ?? {})) entry.aliases.set(alias.toLowerCase(), pname);
          profile.commands.set(lc, entry);
        }
      }
      for (const [alias, target] of Object.entries(mod.Aliases ?? {})) profile.aliases.set(alias.toLowerCase(), target);
    }
  }
  for (const name of Object.keys(data.Compatibility.NativeCommands ?? {})) profile.natives.add(name.toLowerCase());
  const types = data.Compatibility.Types ?? {};
  for (const [name, t] of Object.entries(types.TypeAccelerators ?? {})) profile.accelerators.set(name.toLowerCase(), t.Type);
  for (const [assembly, asm] of Object.entries(types.Assemblies ?? {})) {
    for (const [ns, nsTypes] of Object.entries(asm.Types ?? {})) {
      for (const [typeName, t] of Object.entries(nsTypes)) {
        const statics = new Set(OBJECT_STATICS);
        for (const kind of ['Methods', 'Properties', 'Fields', 'Events']) {
          for (const m of Object.keys(t.Static?.[kind] ?? {})) statics.add(m.toLowerCase());
        }
        // An enum's instances carry the field value__; its statics include System.Enum's.
        if (t.Instance?.Fields?.value__) for (const m of ENUM_STATICS) statics.add(m);
        const full = `${ns}.${typeName}`;
        profile.types.set(full.toLowerCase(), {
          name: full, assembly, statics, hasConstructor: (t.Instance?.Constructors ?? []).length > 0,
        });
      }
    }
  }
  return profile;
}

function loadProfiles(dir) {
  const files = readdirSync(dir).filter((f) => /\.json(\.gz)?$/.test(f)).sort();
  if (files.length === 0) throw new Error(`no profiles (*.json, *.json.gz) in ${dir}`);
  const profiles = files.map((f) => loadProfile(join(dir, f)));
  if (!profiles.some((p) => p.required)) throw new Error(`no Windows Server profile in ${dir}`);
  return profiles;
}

// ---------------------------------------------------------------- parameters

// A parameter table: every name and alias a command accepts, each mapped to
// its parameter, and which parameters are switches.
function parameterTable() {
  return { names: new Map(), switches: new Set(), acceptsAny: false };
}
function addParameter(table, name, aliases, isSwitch) {
  table.names.set(name.toLowerCase(), name);
  for (const a of aliases) table.names.set(a.toLowerCase(), name);
  if (isSwitch) table.switches.add(name.toLowerCase());
}

// The table of a command in a profile.
function profileParameterTable(cmd) {
  const table = parameterTable();
  for (const p of cmd.parameters.values()) addParameter(table, p.name, [], p.isSwitch);
  for (const [alias, pname] of cmd.aliases) table.names.set(alias, pname);
  if (cmd.module === 'Microsoft.PowerShell.Management') {
    for (const [name, isSwitch] of PROVIDER_PARAMETERS[cmd.name.toLowerCase()] ?? []) {
      if (!table.names.has(name.toLowerCase())) addParameter(table, name, [], isSwitch);
    }
  }
  if (cmd.advanced) {
    for (const [name, aliases, isSwitch] of COMMON_PARAMETERS) addParameter(table, name, aliases, isSwitch);
    // The profiles list WhatIf and Confirm for the commands that take them;
    // their aliases wi and cf come with them.
    for (const [name, aliases, isSwitch] of SHOULD_PROCESS_PARAMETERS) {
      if (cmd.parameters.has(name.toLowerCase())) addParameter(table, name, aliases, isSwitch);
    }
  }
  return table;
}

// PowerShell's rule (MergedCommandParameterMetadata.GetMatchingParameter): an
// exact name or alias wins; otherwise every name and alias that starts with
// what was typed is a candidate, and together they must name one parameter.
function matchParameter(table, typed) {
  const lc = typed.toLowerCase();
  if (table.names.has(lc)) return { name: table.names.get(lc) };
  const candidates = new Set();
  for (const [n, canonical] of table.names) if (n.startsWith(lc)) candidates.add(canonical);
  if (candidates.size === 1) return { name: [...candidates][0] };
  if (candidates.size === 0) return { error: `has no parameter -${typed}` };
  return { error: `-${typed} is ambiguous (${[...candidates].sort().map((c) => `-${c}`).join(', ')})` };
}

// ---------------------------------------------------------------- syntax tree helpers

const at = (file, node) => `${file}:${node.startPosition.row + 1}:${node.startPosition.column + 1}`;
const short = (text, n = 70) => { const t = text.replace(/\s+/g, ' ').trim(); return t.length > n ? `${t.slice(0, n - 3)}...` : t; };

// Every node under `node` (itself included), in document order.
function* descendants(node) {
  const cursor = node.walk(); // rooted at node: gotoParent stops there
  for (;;) {
    yield cursor.currentNode;
    if (cursor.gotoFirstChild() || cursor.gotoNextSibling()) continue;
    for (;;) {
      if (!cursor.gotoParent()) return;
      if (cursor.gotoNextSibling()) break;
    }
  }
}

// Expression wrappers the grammar nests one in another around a single value.
const WRAPPERS = new Set(['array_literal_expression', 'unary_expression', 'logical_expression', 'bitwise_expression',
  'comparison_expression', 'additive_expression', 'multiplicative_expression', 'format_expression', 'range_expression',
  'pipeline', 'pipeline_chain', 'argument_expression', 'logical_argument_expression', 'bitwise_argument_expression',
  'comparison_argument_expression', 'additive_argument_expression', 'multiplicative_argument_expression',
  'format_argument_expression', 'range_argument_expression']);
function unwrap(node) {
  while (node && WRAPPERS.has(node.type) && node.namedChildCount === 1) node = node.namedChild(0);
  return node;
}

// The value of a bare word or a string without variables, or null.
function literalValue(node) {
  node = unwrap(node);
  if (!node) return null;
  if (node.type === 'generic_token' || node.type === 'command_name') {
    return node.namedChildCount === 0 ? node.text : null;
  }
  if (node.type !== 'string_literal') return null;
  const inner = node.namedChild(0);
  if (inner.type === 'verbatim_string_characters') return inner.text.slice(1, -1).replace(/''/g, "'");
  if (inner.type === 'verbatim_here_string_characters') return inner.text.replace(/^@'\r?\n/, '').replace(/\r?\n'@$/, '');
  if (inner.namedChildCount > 0) return null; // "$x" or "$(...)": known at run time only
  if (inner.type === 'expandable_here_string_literal') return inner.text.replace(/^@"\r?\n/, '').replace(/\r?\n"@$/, '');
  return inner.text.slice(1, -1).replace(/`(.)/g, '$1');
}

// A splatted argument: @name.
function isSplat(node) {
  const v = unwrap(node);
  return v?.type === 'variable' && v.text.trim().startsWith('@');
}

// A command's elements as PowerShell's binder reads them: named parameters
// with the value each takes (a switch takes none unless written -Switch:value;
// any other parameter takes the next element) and the positional arguments.
function bindElements(command, table) {
  const named = [];
  const positional = [];
  let splatted = false;
  const elements = (command.childForFieldName('command_elements')?.namedChildren ?? [])
    // Separators are blanks (or a backtick and a line end), but for the ':' of -Name:value.
    .filter((n) => n.type !== 'redirection' && n.type !== 'comment' && !(n.type === 'command_argument_sep' && n.text.trim() !== ':'));
  for (let i = 0; i < elements.length; i++) {
    const el = elements[i];
    if (el.type === 'command_argument_sep') continue; // a ':' not after a parameter
    if (el.type === 'command_parameter') {
      const typed = el.text.replace(/^-/, '').replace(/:$/, '');
      // "-1" is a number and "-" a string, not parameters.
      if (typed === '' || /^\d/.test(typed)) { positional.push(el); continue; }
      const match = table ? matchParameter(table, typed) : null;
      const entry = { node: el, typed, match, value: null };
      if (elements[i + 1]?.type === 'command_argument_sep') { // -Name:value
        entry.value = elements[i + 2] ?? null;
        i += 2;
      } else if (!(match?.name && table.switches.has(match.name.toLowerCase()))
          && elements[i + 1] && elements[i + 1].type !== 'command_parameter') {
        entry.value = elements[++i];
      }
      named.push(entry);
      continue;
    }
    if (isSplat(el)) { splatted = true; continue; }
    positional.push(el);
  }
  return { named, positional, splatted };
}

// The command name as written, { dynamic: true } when it is computed at run
// time, or { scriptBlock: true } for & { ... }.
function commandName(command) {
  const nameNode = command.childForFieldName('command_name');
  let node = nameNode;
  if (node.type === 'command_name_expr') node = node.namedChild(0);
  if (node.type === 'script_block_expression') return { scriptBlock: true };
  if (node.type === 'command_name' || node.type === 'path_command_name') {
    return node.namedChildCount === 0 ? { name: node.text } : { dynamic: true };
  }
  const value = literalValue(node);
  return value === null ? { dynamic: true } : { name: value, quoted: true };
}

// ---------------------------------------------------------------- the script's own definitions

// Functions the script defines: name -> { name, file, node, table, advanced,
// declared (how many parameters), usesArgs }.
function collectFunctions(units) {
  const functions = new Map();
  for (const { file, tree } of units) {
    for (const node of descendants(tree.rootNode)) {
      if (node.type !== 'function_statement') continue;
      const name = node.namedChildren.find((c) => c.type === 'function_name').text.replace(/^(script|global|local|private):/i, '');
      const body = node.namedChildren.find((c) => c.type === 'script_block');
      const paramBlock = body?.namedChildren.find((c) => c.type === 'param_block');
      const lists = [
        node.namedChildren.find((c) => c.type === 'function_parameter_declaration')?.namedChildren.find((c) => c.type === 'parameter_list'),
        paramBlock?.namedChildren.find((c) => c.type === 'parameter_list'),
      ].filter(Boolean);
      const table = parameterTable();
      let advanced = false;
      let shouldProcess = false;
      const blockAttributes = paramBlock?.namedChildren.find((c) => c.type === 'attribute_list')?.namedChildren ?? [];
      for (const attr of blockAttributes) {
        if (attributeName(attr) === 'cmdletbinding') {
          advanced = true;
          shouldProcess = /SupportsShouldProcess\s*(=\s*\$true)?\s*[,)]/i.test(attr.text);
        }
      }
      let declared = 0;
      for (const list of lists) {
        for (const p of list.namedChildren.filter((c) => c.type === 'script_parameter')) {
          const variable = p.namedChildren.find((c) => c.type === 'variable');
          const pname = variable.text.replace(/^\$/, '').replace(/^\{(.*)\}$/, '$1').replace(/^\w+:/, '');
          const aliases = [];
          let isSwitch = false;
          for (const attr of p.namedChildren.find((c) => c.type === 'attribute_list')?.namedChildren ?? []) {
            const aname = attributeName(attr);
            if (aname === 'parameter') advanced = true; // [Parameter()] makes a function advanced
            if (aname === 'alias') {
              for (const s of attr.descendantsOfType('string_literal')) { const v = literalValue(s); if (v) aliases.push(v); }
            }
            if (aname === null && /^\[(switch|(system\.)?management\.automation\.switchparameter)\]$/i.test(attr.text.replace(/\s/g, ''))) isSwitch = true;
          }
          addParameter(table, pname, aliases, isSwitch);
          declared++;
        }
      }
      if (advanced) {
        for (const [n, a, s] of COMMON_PARAMETERS) addParameter(table, n, a, s);
        if (shouldProcess) for (const [n, a, s] of SHOULD_PROCESS_PARAMETERS) addParameter(table, n, a, s);
      }
      // A simple function hands the arguments it does not bind to $args:
      // one that reads $args accepts any -Name.
      const usesArgs = !advanced && (body?.descendantsOfType('variable') ?? []).some((v) => v.text.toLowerCase() === '$args');
      table.acceptsAny = usesArgs;
      const fn = { name, file, node, table, advanced, declared, usesArgs };
      const lc = name.toLowerCase();
      // Defined twice (a file per step may each define a helper): accept either's parameters.
      if (functions.has(lc)) {
        const prev = functions.get(lc);
        for (const [k, v] of table.names) prev.table.names.set(k, v);
        for (const s of table.switches) prev.table.switches.add(s);
        prev.table.acceptsAny ||= table.acceptsAny;
      } else {
        functions.set(lc, fn);
      }
    }
  }
  return functions;
}

// A variable's name for look-ups: lower case, without its scope ($script:x is $x).
function variableKey(node) {
  return node.text.trim().toLowerCase().replace(/^\$(script:|global:|local:|private:)?/, '$');
}

// An attribute's name in lower case ([CmdletBinding()] -> cmdletbinding), or
// null for a type constraint ([string]).
function attributeName(attr) {
  const n = attr.namedChildren.find((c) => c.type === 'attribute_name');
  return n ? n.text.toLowerCase().replace(/attribute$/, '') : null;
}

// ---------------------------------------------------------------- the checker

class Checker {
  constructor(profiles, units) {
    this.profiles = profiles;
    this.required = profiles.filter((p) => p.required);
    this.units = units;
    this.problems = [];
    this.notes = [];
    this.stats = { calls: 0, distinct: new Map(), parameters: 0, scriptParameters: 0, staticMembers: 0, staticMemberNames: new Set() };
    this.guarded = []; // commands missing from a profile, called under a Get-Command guard
    this.dynamic = []; // & $x, . $path: the command is known at run time only
    this.paths = []; // & 'C:\...\tool.exe', .\file.ps1
    this.splatted = [];
    this.builtins = [];
    this.types = new Map(); // resolved name -> { name, status, members: Set, uses }
    this.accelerators = new Map(Object.entries(TYPE_ACCELERATORS).map(([k, v]) => [k.toLowerCase(), v]));
    for (const p of profiles) for (const [k, v] of p.accelerators) if (!this.accelerators.has(k)) this.accelerators.set(k, v);
    this.functions = collectFunctions(units);
    this.guardVariables = this.collectGuardVariables();
    this.scriptBlockVariables = this.collectScriptBlockVariables();
    this.scriptBlockCalls = new Map(); // $var -> calls
    this.scriptTypes = this.collectScriptTypes();
  }

  problem(file, node, message) { this.problems.push({ where: at(file, node), message }); }

  // ---- Get-Command guards

  // The name a Get-Command (or gcm) call asks for, or null.
  getCommandTarget(command) {
    const name = commandName(command).name?.toLowerCase();
    if (name !== 'get-command' && name !== 'gcm') return null;
    const cmd = this.required[0].commands.get('get-command');
    const { named, positional } = bindElements(command, profileParameterTable(cmd));
    const byName = named.find((n) => n.match?.name === 'Name');
    const v = literalValue(byName ? byName.value : positional[0]);
    return v ? v.toLowerCase() : null;
  }

  // $x = Get-Command Name ...: variable -> command names.
  collectGuardVariables() {
    const vars = new Map();
    for (const { tree } of this.units) {
      for (const node of descendants(tree.rootNode)) {
        if (node.type !== 'assignment_expression') continue;
        const left = unwrap(node.namedChildren.find((c) => c.type === 'left_assignment_expression')?.namedChild(0));
        const value = node.childForFieldName('value');
        if (left?.type !== 'variable' || !value) continue;
        const cmd = unwrap(value);
        const target = cmd?.type === 'command' ? this.getCommandTarget(cmd) : null;
        if (!target) continue;
        const v = variableKey(left);
        if (!vars.has(v)) vars.set(v, new Set());
        vars.get(v).add(target);
      }
    }
    return vars;
  }

  // $q = { ... }: variables that only ever hold a script block written in the
  // script. & $q runs that block, whose commands are checked where it stands.
  collectScriptBlockVariables() {
    const kinds = new Map(); // $var -> whether every value assigned is a script block
    for (const { tree } of this.units) {
      for (const node of descendants(tree.rootNode)) {
        if (node.type !== 'assignment_expression') continue;
        const left = unwrap(node.namedChildren.find((c) => c.type === 'left_assignment_expression')?.namedChild(0));
        if (left?.type !== 'variable') continue;
        const v = variableKey(left);
        const isBlock = unwrap(node.childForFieldName('value'))?.type === 'script_block_expression';
        kinds.set(v, (kinds.get(v) ?? true) && isBlock);
      }
    }
    return new Set([...kinds].filter(([, block]) => block).map(([v]) => v));
  }

  // Whether a condition says that the command `name` is there ('present'),
  // is not there ('absent'), or does not ask (null). Each -not, ! or
  // `-eq $null` between the question and the condition turns the answer round.
  guardPolarity(condition, name) {
    if (!condition) return null;
    for (const node of descendants(condition)) {
      let asks = false;
      if (node.type === 'command') asks = this.getCommandTarget(node) === name;
      else if (node.type === 'variable') {
        const v = variableKey(node);
        asks = this.guardVariables.get(v)?.has(name) ?? false;
      }
      if (!asks) continue;
      let negations = 0;
      for (let n = node; n && n.id !== condition.id; n = n.parent) {
        const p = n.parent;
        if (p?.type === 'expression_with_unary_operator' && ['-not', '!'].includes(p.child(0).type.toLowerCase())) negations++;
        if (p?.type === 'comparison_expression') {
          const op = p.namedChildren.find((c) => c.type === 'comparison_operator')?.text.toLowerCase();
          const other = p.namedChildren.find((c) => c.type !== 'comparison_operator' && c.id !== n.id);
          if (op === '-eq' && /^\$null$/i.test(other?.text.trim() ?? '')) negations++;
        }
      }
      return negations % 2 === 0 ? 'present' : 'absent';
    }
    return null;
  }

  // A block whose last statement leaves it: return, exit, throw, break, continue.
  static leaves(block) {
    const list = block?.namedChildren.find((c) => c.type === 'statement_list');
    const last = list?.namedChildren.filter((c) => c.type !== 'comment').at(-1);
    return last?.type === 'flow_control_statement';
  }

  // Whether a call of `name` at `node` only runs when Get-Command found it.
  isGuarded(node, name) {
    for (let n = node; n.parent; n = n.parent) {
      const p = n.parent;
      if (n.type === 'statement_block' && (p.type === 'if_statement' || p.type === 'elseif_clause')) {
        if (this.guardPolarity(p.childForFieldName('condition'), name) === 'present') return true;
      }
      if (n.type === 'statement_block' && p.type === 'else_clause') {
        const ifStatement = p.parent;
        if (this.guardPolarity(ifStatement.childForFieldName('condition'), name) === 'absent') return true;
      }
      // if (-not (Get-Command X ...)) { ...; return } ... X
      if (p.type === 'statement_list') {
        for (let s = n.previousNamedSibling; s; s = s.previousNamedSibling) {
          if (s.type !== 'if_statement') continue;
          const then = s.namedChildren.find((c) => c.type === 'statement_block');
          if (this.guardPolarity(s.childForFieldName('condition'), name) === 'absent' && Checker.leaves(then)) return true;
        }
      }
    }
    return false;
  }

  // ---- Add-Type

  // Types the script compiles itself: Add-Type -TypeDefinition (C# classes,
  // structs, enums) and Add-Type -Name -Namespace -MemberDefinition.
  collectScriptTypes() {
    const strings = new Map(); // $var -> string values assigned to it
    for (const { tree } of this.units) {
      for (const node of descendants(tree.rootNode)) {
        if (node.type !== 'assignment_expression') continue;
        const left = unwrap(node.namedChildren.find((c) => c.type === 'left_assignment_expression')?.namedChild(0));
        const value = literalValue(node.childForFieldName('value'));
        if (left?.type === 'variable' && value !== null) {
          const v = variableKey(left);
          strings.set(v, [...(strings.get(v) ?? []), value]);
        }
      }
    }
    const valuesOf = (node) => {
      const lit = literalValue(node);
      if (lit !== null) return [lit];
      const v = unwrap(node);
      return v?.type === 'variable' ? strings.get(variableKey(v)) ?? [] : [];
    };
    const types = new Map(); // lower-case full name -> full name
    const addType = this.required[0].commands.get('add-type');
    for (const { tree } of this.units) {
      for (const node of descendants(tree.rootNode)) {
        if (node.type !== 'command' || commandName(node).name?.toLowerCase() !== 'add-type') continue;
        const { named, positional } = bindElements(node, profileParameterTable(addType));
        const arg = (p) => named.find((n) => n.match?.name === p)?.value;
        // Position 0 is -TypeDefinition, but for -Name X -MemberDefinition Y.
        const definition = arg('TypeDefinition') ?? (arg('MemberDefinition') || arg('Name') ? null : positional[0]);
        for (const source of definition ? valuesOf(definition) : []) {
          const ns = /\bnamespace\s+([\w.]+)/.exec(source)?.[1];
          for (const m of source.matchAll(/\b(?:class|struct|enum|interface)\s+([A-Za-z_]\w*)/g)) {
            const full = ns ? `${ns}.${m[1]}` : m[1];
            types.set(full.toLowerCase(), full);
          }
        }
        const memberName = literalValue(arg('Name'));
        if (arg('MemberDefinition') && memberName) {
          const ns = literalValue(arg('Namespace')) ?? 'Microsoft.PowerShell.Commands.AddType.AutoGeneratedTypes';
          const full = ns ? `${ns}.${memberName}` : memberName;
          types.set(full.toLowerCase(), full);
        }
      }
    }
    return types;
  }

  // ---- commands

  // What `lc` is on one profile: { kind, cmd } or null.
  resolve(profile, lc) {
    if (profile.aliases.has(lc)) {
      const target = profile.aliases.get(lc).toLowerCase();
      const cmd = profile.commands.get(target);
      // An alias of a built-in function (md -> mkdir) or an executable (ise).
      return { kind: 'alias', cmd: cmd ?? null, target };
    }
    if (profile.commands.has(lc)) return { kind: profile.commands.get(lc).kind, cmd: profile.commands.get(lc) };
    if (BUILTIN_FUNCTIONS.has(lc)) return { kind: 'builtin', cmd: null };
    if (profile.natives.has(lc)) return { kind: 'native', cmd: null };
    for (const ext of PATHEXT) if (profile.natives.has(lc + ext)) return { kind: 'native', cmd: null };
    return null;
  }

  checkCommand(file, command) {
    const nameNode = command.childForFieldName('command_name');
    const cn = commandName(command);
    if (cn.scriptBlock) return; // & { ... }: its commands are checked where they stand
    if (cn.dynamic) {
      let target = nameNode.type === 'command_name_expr' ? nameNode.namedChild(0) : null;
      // & $q parses as a path command name made of the variable alone.
      if (target?.type === 'path_command_name' && target.namedChildCount === 1 && target.namedChild(0).text === target.text) {
        target = target.namedChild(0);
      }
      if (target?.type === 'variable' && this.scriptBlockVariables.has(variableKey(target))) {
        const v = variableKey(target);
        this.scriptBlockCalls.set(v, (this.scriptBlockCalls.get(v) ?? 0) + 1);
      } else {
        this.dynamic.push(`${at(file, nameNode)}: ${short(command.text)}`);
      }
      return;
    }
    let name = cn.name;
    // Module-qualified: Microsoft.PowerShell.Management\Get-Item.
    const qualified = /^([\w.]+)\\([\w-]+)$/.exec(name);
    if (qualified && this.profiles.some((p) => p.modules.has(qualified[1].toLowerCase()))) name = qualified[2];
    else if (/[\\/]/.test(name) || /^\.\.?$/.test(name)) {
      this.paths.push(`${at(file, nameNode)}: ${short(command.text)}`);
      return;
    }
    const lc = name.toLowerCase();
    this.stats.calls++;

    const fn = this.functions.get(lc);
    if (fn) {
      this.count(name, 'script function');
      const { named, splatted } = bindElements(command, fn.table);
      if (splatted) this.splatted.push(`${at(file, nameNode)}: ${short(command.text)}`);
      for (const n of named) {
        this.stats.scriptParameters++;
        if (n.match.error && !fn.table.acceptsAny) {
          const what = fn.declared === 0 ? `takes no parameters, but is called with -${n.typed}` : n.match.error;
          this.problem(file, n.node, `${name} (the script's function, ${at(fn.file, fn.node)}) ${what}`);
        }
      }
      return;
    }

    const found = this.profiles.map((p) => ({ profile: p, r: this.resolve(p, lc) }));
    const missing = found.filter((f) => !f.r);
    const missingRequired = missing.filter((f) => f.profile.required);
    if (missingRequired.length > 0) {
      this.stats.calls--;
      if (this.isGuarded(command, lc)) {
        this.guarded.push(`${at(file, nameNode)}: ${name} (not on ${labels(missingRequired.map((f) => f.profile))})`);
      } else {
        const on = missingRequired.length === this.required.length ? 'on any Windows Server profile' : `on ${labels(missingRequired.map((f) => f.profile))}`;
        this.problem(file, nameNode, `${name}: no such command ${on} (cmdlet, function, alias or native command); guard it with Get-Command if it may be absent`);
      }
      return;
    }
    if (missing.length > 0 && !this.isGuarded(command, lc)) {
      this.notes.push(`${at(file, nameNode)}: ${name} is not on ${labels(missing.map((f) => f.profile))}`);
    }
    const kinds = new Set(found.filter((f) => f.r).map((f) => f.r.kind));
    this.count(name, kinds.has('native') && kinds.size === 1 ? 'native' : 'profile');
    if (kinds.has('native') && kinds.size === 1) return; // a program's arguments are its own

    // Parameters, on each profile that knows the command's parameters.
    const withTable = found.filter((f) => f.r?.cmd).map((f) => ({ profile: f.profile, table: profileParameterTable(f.r.cmd), cmd: f.r.cmd }));
    if (withTable.length === 0) {
      if (command.childForFieldName('command_elements')?.descendantsOfType('command_parameter').length) {
        this.builtins.push(`${at(file, nameNode)}: ${short(command.text)} (built-in function: parameters unchecked)`);
      }
      return;
    }
    const bindings = withTable.map((w) => ({ ...w, bound: bindElements(command, w.table) }));
    const first = bindings[0].bound;
    if (first.splatted) this.splatted.push(`${at(file, nameNode)}: ${short(command.text)}`);
    for (let i = 0; i < first.named.length; i++) {
      this.stats.parameters++;
      const errors = new Map(); // message -> profiles
      for (const b of bindings) {
        const m = b.bound.named[i]?.match;
        if (m?.error) errors.set(m.error, [...(errors.get(m.error) ?? []), b.profile]);
      }
      for (const [message, ps] of errors) {
        const required = ps.filter((p) => p.required);
        const canonical = withTable[0].cmd.name;
        const display = canonical.toLowerCase() === lc ? canonical : `${name} (${canonical})`;
        if (required.length > 0) this.problem(file, first.named[i].node, `${display} ${message} on ${labels(required)}`);
        else this.notes.push(`${at(file, first.named[i].node)}: ${display} ${message} on ${labels(ps)}`);
      }
    }
    if (withTable[0].cmd.name.toLowerCase() === 'new-object') this.checkNewObject(file, command, first);
  }

  count(name, kind) {
    const lc = name.toLowerCase();
    if (!this.stats.distinct.has(lc)) this.stats.distinct.set(lc, { name, kind, calls: 0 });
    this.stats.distinct.get(lc).calls++;
  }

  // New-Object [-TypeName] Type [args] calls Type's constructor;
  // New-Object -ComObject is COM, which no profile describes.
  checkNewObject(file, command, bound) {
    const com = bound.named.find((n) => n.match?.name === 'ComObject');
    if (com) {
      this.typeUse(`COM ${literalValue(com.value) ?? short(com.value?.text ?? '?')}`, 'outside', null, file, command);
      return;
    }
    const byName = bound.named.find((n) => n.match?.name === 'TypeName');
    const node = byName ? byName.value : bound.positional[0];
    const text = literalValue(node);
    if (text === null) {
      if (node) this.dynamic.push(`${at(file, node)}: ${short(command.text)} (type known at run time only)`);
      return;
    }
    this.checkTypeText(file, node, text, 'new');
  }

  // ---- types

  // A type name as written: array and generic suffixes split off.
  // 'System.Collections.Generic.Dictionary[string,int[]]' -> Dictionary`2 with
  // the arguments string and int[].
  static parseTypeName(text) {
    let t = text.replace(/\s+/g, '');
    while (/\[[,*]*\]$/.test(t)) t = t.replace(/\[[,*]*\]$/, '');
    if (!t.endsWith(']')) return { name: t, args: [] };
    let depth = 0;
    let open = -1;
    for (let i = t.length - 1; i >= 0; i--) {
      if (t[i] === ']') depth++;
      if (t[i] === '[' && --depth === 0) { open = i; break; }
    }
    if (open <= 0) return { name: t, args: [] };
    const inner = t.slice(open + 1, -1);
    const args = [];
    let start = 0;
    depth = 0;
    for (let i = 0; i <= inner.length; i++) {
      if (i === inner.length || (inner[i] === ',' && depth === 0)) { args.push(inner.slice(start, i).replace(/^\[(.*)\]$/, '$1')); start = i + 1; }
      else if (inner[i] === '[') depth++;
      else if (inner[i] === ']') depth--;
    }
    const base = t.slice(0, open);
    return { name: base.includes('`') ? base : `${base}\`${args.length}`, args };
  }

  // Checks one type written as text (a type literal's or New-Object's), and
  // `member`, the static member used (or 'new' for a constructor).
  checkTypeText(file, node, text, member) {
    const { name, args } = Checker.parseTypeName(text);
    for (const a of args) this.checkTypeText(file, node, a, null);
    const lc = name.toLowerCase();
    if (lc === 'ordered') return; // [ordered]@{}: syntax, not a type
    const candidates = [this.accelerators.get(lc), name, `System.${name}`].filter(Boolean);
    for (const c of candidates) {
      if (this.scriptTypes.has(c.toLowerCase())) { this.typeUse(this.scriptTypes.get(c.toLowerCase()), 'script', member, file, node); return; }
    }
    const inProfiles = this.profiles.map((p) => ({ profile: p, t: candidates.map((c) => p.types.get(c.toLowerCase())).find(Boolean) }));
    const known = inProfiles.filter((x) => x.t);
    if (known.length === 0) {
      // As PowerShell would most likely resolve it: [IO.File] is System.IO.File.
      const display = this.accelerators.get(lc)
        ?? (/^(system|microsoft)\./i.test(name) ? name : `System.${name[0].toUpperCase()}${name.slice(1)}`);
      this.typeUse(display, 'outside', member, file, node);
      return;
    }
    const full = known[0].t.name;
    this.typeUse(full, 'profile', member, file, node);
    const absent = inProfiles.filter((x) => !x.t);
    const absentRequired = absent.filter((x) => x.profile.required);
    if (absentRequired.length > 0) {
      this.problem(file, node, `type ${full} (assembly ${known[0].t.assembly}) is not on ${labels(absentRequired.map((x) => x.profile))}`);
      return;
    }
    if (absent.length > 0) this.notes.push(`${at(file, node)}: type ${full} is not on ${labels(absent.map((x) => x.profile))}`);
    if (!member) return;
    this.stats.staticMembers++;
    this.stats.staticMemberNames.add(`${full}::${member}`);
    const lacking = known.filter((x) => (member === 'new' ? !x.t.hasConstructor : !x.t.statics.has(member.toLowerCase())));
    if (lacking.length === 0) return;
    const what = member === 'new' ? 'has no public constructor' : `has no static member ${member}`;
    const required = lacking.filter((x) => x.profile.required).map((x) => x.profile);
    if (required.length > 0) this.problem(file, node, `[${full}] ${what} on ${labels(required)} (assembly ${known[0].t.assembly})`);
    else this.notes.push(`${at(file, node)}: [${full}] ${what} on ${labels(lacking.map((x) => x.profile))}`);
  }

  typeUse(name, status, member, file, node) {
    const key = `${status}:${name.toLowerCase()}`;
    if (!this.types.has(key)) this.types.set(key, { name, status, members: new Set(), uses: 0 });
    const t = this.types.get(key);
    t.uses++;
    if (member) t.members.add(member === 'new' ? 'new()' : `::${member}`);
  }

  // [Type], [Type]::Member, [Type]::Method(...).
  checkTypeLiteral(file, literal) {
    const parent = literal.parent;
    let member = null;
    if ((parent.type === 'member_access' || parent.type === 'invokation_expression') && parent.child(0).id === literal.id
        && parent.child(1)?.type === '::') {
      const memberNode = parent.namedChildren.find((c) => c.type === 'member_name');
      const simple = memberNode?.namedChild(0);
      if (simple?.type === 'simple_name') member = simple.text;
      else this.dynamic.push(`${at(file, literal)}: ${short(parent.text)} (member known at run time only)`);
    }
    this.checkTypeText(file, literal, literal.text.replace(/^\[/, '').replace(/\]$/, ''), member);
  }

  run() {
    for (const { file, tree } of this.units) {
      for (const node of descendants(tree.rootNode)) {
        if (node.type === 'command') this.checkCommand(file, node);
        else if (node.type === 'type_literal') this.checkTypeLiteral(file, node);
      }
    }
  }

  summary() {
    const out = [];
    const req = this.required.map((p) => p.label).join(', ');
    const other = this.profiles.filter((p) => !p.required).map((p) => p.label);
    out.push(`pscompat: ${this.units.length} file(s) against ${req}${other.length ? ` (notes only: ${other.join(', ')})` : ''}`);
    const byKind = (k) => [...this.stats.distinct.values()].filter((d) => d.kind === k);
    const sum = (list) => list.reduce((s, d) => s + d.calls, 0);
    const profileCmds = byKind('profile');
    const natives = byKind('native');
    const fns = byKind('script function');
    out.push(`commands checked: ${this.stats.distinct.size} distinct, ${this.stats.calls} calls `
      + `(${profileCmds.length} cmdlets/functions/aliases in ${sum(profileCmds)} calls, ${natives.length} native in ${sum(natives)}, `
      + `${fns.length} script functions in ${sum(fns)}); ${this.guarded.length} guarded call(s) of commands the profiles lack`);
    out.push(`parameters checked: ${this.stats.parameters + this.stats.scriptParameters} `
      + `(${this.stats.parameters} against the profiles, ${this.stats.scriptParameters} against the script's functions)`);
    const types = [...this.types.values()];
    const inProfiles = types.filter((t) => t.status === 'profile');
    out.push(`types: ${types.length} distinct; ${inProfiles.length} checked against the profiles, `
      + `${types.filter((t) => t.status === 'outside').length} outside the profiles' assemblies, `
      + `${types.filter((t) => t.status === 'script').length} defined by the script; `
      + `static members checked: ${this.stats.staticMemberNames.size} distinct, ${this.stats.staticMembers} uses`);
    const section = (title, lines) => { if (lines.length) out.push(`${title}:`, ...lines.map((l) => `  ${l}`)); };
    section('guarded (called only when Get-Command finds them)', this.guarded);
    const unchecked = out.length;
    out.push('unchecked:');
    const sub = (title, lines) => { if (lines.length) out.push(`  ${title}:`, ...lines.map((l) => `    ${l}`)); };
    sub('dynamic calls (the command is known at run time only)', this.dynamic);
    sub('script blocks held in variables (their commands are checked where they are written)',
      [...this.scriptBlockCalls].map(([v, n]) => `& ${v}: ${n} call(s)`));
    sub('literal paths', this.paths);
    sub('splatted parameters', this.splatted);
    sub('built-in functions', this.builtins);
    const describe = (t) => `${t.name}${t.members.size ? ` ${[...t.members].sort().join(' ')}` : ''}`;
    const sorted = (status) => types.filter((t) => t.status === status).sort((a, b) => a.name.localeCompare(b.name));
    sub("types outside the profiles' assemblies (with the static members used)", sorted('outside').map(describe));
    sub('types the script defines (Add-Type)', sorted('script').map(describe));
    if (inProfiles.length) section('types checked against the profiles', sorted('profile').map(describe));
    if (out.length === unchecked + 1) out[unchecked] = 'unchecked: nothing';
    section('notes (client Windows only, not failures)', this.notes);
    out.push(`${this.problems.length} problem(s)`);
    return out.join('\n');
  }
}

const labels = (ps) => ps.map((p) => p.label ?? p).join(', ');

// ---------------------------------------------------------------- main

const argv = process.argv.slice(2);
let profileDir = fileURLToPath(new URL('../powershell-profiles/', import.meta.url));
const files = [];
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--profiles') profileDir = argv[++i];
  else files.push(argv[i]);
}
if (files.length === 0 || !profileDir) {
  console.error('usage: node pscompat.mjs [--profiles DIR] FILE...');
  process.exit(2);
}

const require = createRequire(import.meta.url);
await Parser.init();
const parser = new Parser();
parser.setLanguage(await Language.load(require.resolve('tree-sitter-powershell/tree-sitter-powershell.wasm')));
const units = files.map((file) => ({
  file,
  // A UTF-8 byte order mark is legal at the start of a script.
  tree: parser.parse(readFileSync(file, 'utf8').replace(/^\uFEFF/, '')),
}));
const syntaxErrors = units.filter((u) => u.tree.rootNode.hasError).map((u) => u.file);
if (syntaxErrors.length) {
  // parse-powershell.mjs names the errors; a tree with errors misleads this check.
  console.error(`pscompat: syntax errors in ${syntaxErrors.join(', ')}: run parse-powershell.mjs`);
  process.exit(1);
}

const checker = new Checker(loadProfiles(profileDir), units);
checker.run();
console.log(checker.summary());
for (const p of checker.problems) console.error(`${p.where}: ${p.message}`);
process.exit(checker.problems.length > 0 ? 1 : 0);
