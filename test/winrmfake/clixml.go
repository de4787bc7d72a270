package winrmfake

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// CLIXMLHeader starts what Windows PowerShell writes to a redirected stderr
// (as over WinRM): its error stream serialized as CLIXML.
const CLIXMLHeader = "#< CLIXML\r\n"

// CLIXML is text, the error records as the console host formats them
// (CRLF line ends, wrapped at the host's width), serialized the way Windows
// PowerShell 5.1 writes its error stream to a redirected stderr: the
// "#< CLIXML" header line, then one <S S="Error"> string per line, with
// the line end and other control characters written as _xHHHH_ escapes, in
// one <Objs> element without a line end. testdata/clixml-write-error.txt
// is a real sample, and TestCLIXMLMatchesWindows checks this against it.
func CLIXML(text string) string {
	var b strings.Builder
	b.WriteString(CLIXMLHeader)
	b.WriteString(`<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">`)
	for _, line := range strings.SplitAfter(text, "\n") {
		if line == "" {
			continue
		}
		b.WriteString(`<S S="Error">`)
		b.WriteString(clixmlEscape(line))
		b.WriteString(`</S>`)
	}
	b.WriteString(`</Objs>`)
	return b.String()
}

// clixmlEscape escapes as PowerShell's serializer does: XML's own
// characters as entities, control characters as _xHHHH_, and an underscore
// that would start such an escape as _x005F_.
func clixmlEscape(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "_x%04X_", r)
		case r == '_' && strings.HasPrefix(s[i+1:], "x"):
			b.WriteString("_x005F_")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

var (
	clixmlString = regexp.MustCompile(`<S S="Error">(.*?)</S>`)
	clixmlChar   = regexp.MustCompile(`_x([0-9A-Fa-f]{4})_`)
)

// ParseCLIXML is the text of the error records in a CLIXML stderr: what a
// client that reads the format (pywinrm, Ansible) shows.
func ParseCLIXML(s string) string {
	var b strings.Builder
	for _, m := range clixmlString.FindAllStringSubmatch(s, -1) {
		t := clixmlChar.ReplaceAllStringFunc(m[1], func(e string) string {
			n, _ := strconv.ParseUint(e[2:6], 16, 16)
			return string(rune(n))
		})
		t = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&quot;", `"`, "&apos;", "'", "&amp;", "&").Replace(t)
		b.WriteString(t)
	}
	return b.String()
}
