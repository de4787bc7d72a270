package winrmfake

import (
	"crypto/rand"
	"encoding/xml"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The namespaces and action URIs of WS-Management's Windows shell (MS-WSMV),
// as Windows sends and expects them.
const (
	nsSOAP       = "http://www.w3.org/2003/05/soap-envelope"
	nsAddressing = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
	nsTransfer   = "http://schemas.xmlsoap.org/ws/2004/09/transfer"
	nsWSMan      = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
	nsWSManMS    = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"
	nsShell      = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
	nsWSManFault = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"

	resourceCmd = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd"
	anonymous   = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"

	actionCreate          = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"
	actionCreateResponse  = "http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse"
	actionDelete          = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"
	actionDeleteResponse  = "http://schemas.xmlsoap.org/ws/2004/09/transfer/DeleteResponse"
	actionCommand         = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command"
	actionCommandResponse = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandResponse"
	actionReceive         = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive"
	actionReceiveResponse = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/ReceiveResponse"
	actionSignal          = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Signal"
	actionSignalResponse  = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/SignalResponse"
	actionSend            = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Send"
	actionSendResponse    = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/SendResponse"
	actionFault           = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"

	stateRunning = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Running"
	stateDone    = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"
)

// shortAction names an action URI by its last part: Create, Command,
// Receive, Signal, Delete, Send.
func shortAction(uri string) string {
	if uri == "" {
		return "unknown"
	}
	return uri[strings.LastIndex(uri, "/")+1:]
}

// envelope is the part of a client's SOAP request the fake reads.
type envelope struct {
	XMLName xml.Name `xml:"http://www.w3.org/2003/05/soap-envelope Envelope"`
	Header  struct {
		Action           string `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing Action"`
		MessageID        string `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing MessageID"`
		To               string `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing To"`
		ResourceURI      string `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd ResourceURI"`
		OperationTimeout string `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd OperationTimeout"`
		Selectors        []struct {
			Name  string `xml:"Name,attr"`
			Value string `xml:",chardata"`
		} `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd SelectorSet>Selector"`
		Options []struct {
			Name  string `xml:"Name,attr"`
			Value string `xml:",chardata"`
		} `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd OptionSet>Option"`
	} `xml:"http://www.w3.org/2003/05/soap-envelope Header"`
	Body struct {
		Shell *struct {
			InputStreams  string `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell InputStreams"`
			OutputStreams string `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell OutputStreams"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Shell"`
		CommandLine *struct {
			Command   string   `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Command"`
			Arguments []string `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Arguments"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell CommandLine"`
		Receive *struct {
			DesiredStream struct {
				CommandID string `xml:"CommandId,attr"`
				Streams   string `xml:",chardata"`
			} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell DesiredStream"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Receive"`
		Signal *struct {
			CommandID string `xml:"CommandId,attr"`
			Code      string `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Code"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Signal"`
		Send *struct {
			Stream []struct {
				Name      string `xml:"Name,attr"`
				CommandID string `xml:"CommandId,attr"`
				End       string `xml:"End,attr"`
				Data      string `xml:",chardata"`
			} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Stream"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Send"`
	} `xml:"http://www.w3.org/2003/05/soap-envelope Body"`
}

// selector is the value of the header selector name (ShellId).
func (e *envelope) selector(name string) string {
	for _, s := range e.Header.Selectors {
		if s.Name == name {
			return strings.TrimSpace(s.Value)
		}
	}
	return ""
}

var isoDuration = regexp.MustCompile(`^PT(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?$`)

// operationTimeout is the request's w:OperationTimeout (xs:duration, as
// PT60S or PT1M30.500S), or def when it has none or one the fake cannot read.
func (e *envelope) operationTimeout(def time.Duration) time.Duration {
	m := isoDuration.FindStringSubmatch(strings.TrimSpace(e.Header.OperationTimeout))
	if m == nil {
		return def
	}
	var d time.Duration
	for i, unit := range []time.Duration{time.Hour, time.Minute, time.Second} {
		if m[i+1] == "" {
			continue
		}
		f, err := strconv.ParseFloat(m[i+1], 64)
		if err != nil {
			return def
		}
		d += time.Duration(f * float64(unit))
	}
	if d <= 0 {
		return def
	}
	return d
}

// newUUID is an upper-case random UUID, as Windows writes ShellId and
// CommandId.
func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return strings.ToUpper(fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]))
}

func xmlText(s string) string {
	var b strings.Builder
	if err := xml.EscapeText(&b, []byte(s)); err != nil {
		panic(err)
	}
	return b.String()
}

// response is a SOAP envelope as Windows' WinRM service writes it: the same
// prefixes (s, a, x, w, rsp, p), the action, a new MessageID, the anonymous
// To and RelatesTo the request's MessageID.
func response(action, relatesTo, body string) string {
	return `<s:Envelope xml:lang="en-US" xmlns:s="` + nsSOAP + `" xmlns:a="` + nsAddressing + `" xmlns:x="` + nsTransfer +
		`" xmlns:w="` + nsWSMan + `" xmlns:rsp="` + nsShell + `" xmlns:p="` + nsWSManMS + `">` +
		`<s:Header><a:Action>` + action + `</a:Action><a:MessageID>uuid:` + newUUID() + `</a:MessageID>` +
		`<a:To>` + anonymous + `</a:To><a:RelatesTo>` + xmlText(relatesTo) + `</a:RelatesTo></s:Header>` +
		`<s:Body>` + body + `</s:Body></s:Envelope>`
}

// createResponse answers Create with the new shell, as Windows Server 2012
// and later do: the ResourceCreated reference and the rsp:Shell it made.
func createResponse(relatesTo, address, shellID, owner, clientIP string) string {
	return response(actionCreateResponse, relatesTo,
		`<x:ResourceCreated><a:Address>`+xmlText(address)+`</a:Address><a:ReferenceParameters>`+
			`<w:ResourceURI>`+resourceCmd+`</w:ResourceURI><w:SelectorSet><w:Selector Name="ShellId">`+shellID+
			`</w:Selector></w:SelectorSet></a:ReferenceParameters></x:ResourceCreated>`+
			`<rsp:Shell xmlns:rsp="`+nsShell+`"><rsp:ShellId>`+shellID+`</rsp:ShellId>`+
			`<rsp:ResourceUri>`+resourceCmd+`</rsp:ResourceUri><rsp:Owner>`+xmlText(owner)+`</rsp:Owner>`+
			`<rsp:ClientIP>`+xmlText(clientIP)+`</rsp:ClientIP><rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut>`+
			`<rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams>`+
			`<rsp:ShellRunTime>P0DT0H0M0S</rsp:ShellRunTime><rsp:ShellInactivity>P0DT0H0M0S</rsp:ShellInactivity></rsp:Shell>`)
}

func commandResponse(relatesTo, commandID string) string {
	return response(actionCommandResponse, relatesTo,
		`<rsp:CommandResponse><rsp:CommandId>`+commandID+`</rsp:CommandId></rsp:CommandResponse>`)
}

// stream is one rsp:Stream element of a ReceiveResponse.
type stream struct {
	name string // stdout or stderr
	data []byte
}

// receiveResponse answers Receive with output (each stream element base64)
// and the command's state: Running, or Done with the exit code, when the
// End stream markers come too.
func receiveResponse(relatesTo, commandID string, streams []stream, done bool, exitCode int) string {
	var b strings.Builder
	b.WriteString(`<rsp:ReceiveResponse>`)
	for _, s := range streams {
		fmt.Fprintf(&b, `<rsp:Stream Name="%s" CommandId="%s">%s</rsp:Stream>`, s.name, commandID, encodeBase64(s.data))
	}
	if done {
		fmt.Fprintf(&b, `<rsp:Stream Name="stdout" CommandId="%s" End="true"></rsp:Stream>`, commandID)
		fmt.Fprintf(&b, `<rsp:Stream Name="stderr" CommandId="%s" End="true"></rsp:Stream>`, commandID)
		fmt.Fprintf(&b, `<rsp:CommandState CommandId="%s" State="%s"><rsp:ExitCode>%d</rsp:ExitCode></rsp:CommandState>`,
			commandID, stateDone, exitCode)
	} else {
		fmt.Fprintf(&b, `<rsp:CommandState CommandId="%s" State="%s"></rsp:CommandState>`, commandID, stateRunning)
	}
	b.WriteString(`</rsp:ReceiveResponse>`)
	return response(actionReceiveResponse, relatesTo, b.String())
}

func signalResponse(relatesTo string) string {
	return response(actionSignalResponse, relatesTo, `<rsp:SignalResponse/>`)
}

func sendResponse(relatesTo string) string {
	return response(actionSendResponse, relatesTo, `<rsp:SendResponse/>`)
}

func deleteResponse(relatesTo string) string {
	return response(actionDeleteResponse, relatesTo, ``)
}

// fault is a WS-Management fault as Windows sends it, with HTTP status 500.
type fault struct {
	code, subcode, reason string
	wsmanCode             uint32
	message               string // f:Message: the provider's text, or the reason again
}

// The faults the fake sends, with Windows' own codes and texts.
var (
	// A Receive that waited OperationTimeout for output that did not come.
	faultTimedOut = fault{code: "s:Receiver", subcode: "w:TimedOut",
		reason:    "The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  ",
		wsmanCode: 2150858793}
	// A ShellId the service does not know (closed, or lost with a service restart).
	faultNoShell = func(shellID string) fault {
		return fault{code: "s:Sender", subcode: "w:InvalidSelectors",
			reason:    "The WS-Management service cannot process the request because the request contained invalid selectors for the resource. ",
			wsmanCode: 2150858843,
			message: "The request for the Windows Remote Shell with ShellId " + shellID + " failed because the shell was not found on the server. " +
				"Possible causes are: the specified ShellId is incorrect or the shell no longer exists on the server. " +
				"Provide the correct ShellId or create a new shell and retry the operation. "}
	}
	// The service failing while it restarts (seen when a user profile unloads).
	faultInternal = fault{code: "s:Receiver", subcode: "w:InternalError",
		reason:    "Illegal operation attempted on a registry key that has been marked for deletion. ",
		wsmanCode: 2147943418}
	// An action the fake does not implement (its own text: the SDK sends
	// none of these).
	faultNotSupported = fault{code: "s:Sender", subcode: "a:ActionNotSupported",
		reason: "The fake WinRM service does not implement this action. "}
)

func (f fault) envelope(relatesTo, machine string) string {
	msg := f.message
	if msg == "" {
		msg = f.reason
	}
	return `<s:Envelope xml:lang="en-US" xmlns:s="` + nsSOAP + `" xmlns:a="` + nsAddressing + `" xmlns:x="` + nsTransfer +
		`" xmlns:e="http://schemas.xmlsoap.org/ws/2004/08/eventing" xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration"` +
		` xmlns:w="` + nsWSMan + `" xmlns:p="` + nsWSManMS + `">` +
		`<s:Header><a:Action>` + actionFault + `</a:Action><a:MessageID>uuid:` + newUUID() + `</a:MessageID>` +
		`<a:To>` + anonymous + `</a:To><a:RelatesTo>` + xmlText(relatesTo) + `</a:RelatesTo></s:Header>` +
		`<s:Body><s:Fault><s:Code><s:Value>` + f.code + `</s:Value><s:Subcode><s:Value>` + f.subcode + `</s:Value></s:Subcode></s:Code>` +
		`<s:Reason><s:Text xml:lang="en-US">` + xmlText(f.reason) + `</s:Text></s:Reason>` +
		`<s:Detail><f:WSManFault xmlns:f="` + nsWSManFault + `" Code="` + strconv.FormatUint(uint64(f.wsmanCode), 10) +
		`" Machine="` + xmlText(machine) + `"><f:Message>` + xmlText(msg) + `</f:Message></f:WSManFault></s:Detail>` +
		`</s:Fault></s:Body></s:Envelope>`
}

// serviceUnavailable is the page HTTP.sys sends when the WinRM service's
// URL is registered but the service is not there (stopping or starting).
const serviceUnavailable = `<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">` + "\r\n" +
	`<HTML><HEAD><TITLE>Service Unavailable</TITLE>` + "\r\n" +
	`<META HTTP-EQUIV="Content-Type" Content="text/html; charset=us-ascii"></HEAD>` + "\r\n" +
	`<BODY><h2>Service Unavailable</h2>` + "\r\n" +
	`<hr><p>HTTP Error 503. The service is unavailable.</p>` + "\r\n" +
	`</BODY></HTML>` + "\r\n"
