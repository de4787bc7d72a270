package winrmfake

import (
	"bytes"
	"encoding/base64"
	"regexp"
	"strings"
	"unicode/utf16"
)

// How github.com/packer-community/winrmcp (what the SDK's WinRM communicator
// uploads with) writes a file, in three kinds of command, each in a shell of
// its own (at most MaxOperationsPerShell, 15 for Packer, chunk commands per
// shell):
//
//	echo <base64 of up to ((8000-len(tmp))/4)*3 bytes> >> "%TEMP%\winrmcp-<uuid>.tmp"   (cmd.exe; one per chunk)
//	powershell.exe -EncodedCommand <UTF-16LE base64 of the restore script>
//	powershell.exe -EncodedCommand <UTF-16LE base64 of the cleanup script>
//
// The restore script names the temporary file as
// [System.IO.Path]::GetFullPath("$env:TEMP\winrmcp-<uuid>.tmp") and the
// destination as [System.IO.Path]::GetFullPath("<path>".Trim("'")), where
// <path> has its slashes turned into backslashes and is put in single
// quotes when it holds a space; it decodes the temporary file line by line
// (FromBase64String) into the destination. The cleanup script removes the
// temporary file. masterzen/winrm's Powershell() puts
// "$ProgressPreference = 'SilentlyContinue';" in front of every script.

// Upload kinds of Command.Upload.
const (
	UploadChunk   = "chunk"   // echo BASE64 >> "%TEMP%\winrmcp-....tmp"
	UploadRestore = "restore" // the PowerShell script that decodes the temp file into the destination
	UploadCleanup = "cleanup" // the PowerShell script that removes the temp file
)

// tempDir is where %TEMP% and $env:TEMP point on the fake machine (the profile
// of the WinRM user; winrmcp never sees the expansion).
const tempDir = `C:\Users\Administrator\AppData\Local\Temp`

var (
	echoChunk       = regexp.MustCompile(`^echo ([A-Za-z0-9+/=]+) >> "([^"]+)"$`)
	encodedCommand  = regexp.MustCompile(`(?i)(?:^|\s)-(?:EncodedCommand|enc|ec|e)\s+([A-Za-z0-9+/=]+)`)
	restoreTmp      = regexp.MustCompile(`\$tmp_file_path = \[System\.IO\.Path\]::GetFullPath\("([^"]*)"\)`)
	restoreDest     = regexp.MustCompile(`\$dest_file_path = \[System\.IO\.Path\]::GetFullPath\("(.*)"\.Trim\("'"\)\)`)
	cleanupRemoveIt = regexp.MustCompile(`Remove-Item \$tmp_file_path`)
)

// decodeEncodedCommand is the script of a `powershell -EncodedCommand B64`
// command line (base64 of UTF-16LE), or "" when line has none.
func decodeEncodedCommand(line string) string {
	m := encodedCommand.FindStringSubmatch(line)
	if m == nil {
		return ""
	}
	raw, err := base64.StdEncoding.DecodeString(m[1])
	if err != nil || len(raw)%2 != 0 {
		return ""
	}
	u := make([]uint16, len(raw)/2)
	for i := range u {
		u[i] = uint16(raw[2*i]) | uint16(raw[2*i+1])<<8
	}
	return string(utf16.Decode(u))
}

// EncodeCommand is `powershell.exe -EncodedCommand` for script, the way
// masterzen/winrm's Powershell() writes it (without its
// $ProgressPreference prefix): for tests that build command lines.
func EncodeCommand(script string) string {
	u := utf16.Encode([]rune(script))
	raw := make([]byte, 2*len(u))
	for i, c := range u {
		raw[2*i], raw[2*i+1] = byte(c), byte(c>>8)
	}
	return "powershell.exe -EncodedCommand " + base64.StdEncoding.EncodeToString(raw)
}

// expandTemp writes %TEMP% and $env:TEMP out, as cmd.exe and PowerShell do.
func expandTemp(p string) string {
	p = strings.ReplaceAll(p, "%TEMP%", tempDir)
	return strings.ReplaceAll(p, "$env:TEMP", tempDir)
}

// windowsPath is the key the fake files a path under: backslashes, and
// compared without case, as NTFS does.
func windowsPath(p string) string {
	return strings.ToLower(strings.ReplaceAll(p, "/", `\`))
}

// uploadKind says which part of a winrmcp upload a command line is.
func uploadKind(line, script string) string {
	switch {
	case echoChunk.MatchString(line):
		return UploadChunk
	case script != "" && restoreTmp.MatchString(script) && restoreDest.MatchString(script):
		return UploadRestore
	case script != "" && restoreTmp.MatchString(script) && cleanupRemoveIt.MatchString(script):
		return UploadCleanup
	}
	return ""
}

// decodeLines is what the restore script writes: every line of the temp
// file decoded on its own with FromBase64String, which ignores the blank
// cmd.exe's echo leaves before the line end.
func decodeLines(tmp []byte) ([]byte, error) {
	var out bytes.Buffer
	for _, line := range bytes.Split(tmp, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		b, err := base64.StdEncoding.DecodeString(string(line))
		if err != nil {
			return nil, err
		}
		out.Write(b)
	}
	return out.Bytes(), nil
}

func encodeBase64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
