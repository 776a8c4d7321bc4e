package mail

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// Message is one alert: what keepalived puts in Subject: and the body.
type Message struct {
	Subject string
	Body    string
}

// owning is keepalived's body for an instance: whether it holds the VIPs.
func owning(state string) string {
	if state == "MASTER" {
		return "=> VRRP Instance is now owning VRRP VIPs <="
	}
	return "=> VRRP Instance is no longer owning VRRP VIPs <="
}

// InstanceMessage is keepalived 2.2.7's mail for instance entering state
// (MASTER, BACKUP or FAULT) on the router named routerID.
func InstanceMessage(routerID, instance, state string) Message {
	return Message{
		Subject: fmt.Sprintf("[%s] VRRP Instance %s - Entering %s state", routerID, instance, state),
		Body:    owning(state),
	}
}

// GroupMessage is keepalived 2.2.7's mail for a sync group entering state.
func GroupMessage(routerID, group, state string) Message {
	return Message{
		Subject: fmt.Sprintf("[%s] VRRP Group %s - Entering %s state", routerID, group, state),
		Body:    fmt.Sprintf("=> All VRRP group instances are now in %s state <=", state),
	}
}

// dateLayout is keepalived's Date: header (RFC 5322, numeric zone).
const dateLayout = "Mon, 02 Jan 2006 15:04:05 -0700"

// Format renders the DATA part of m as keepalived sends it: Date, From,
// Subject, X-Mailer, To (recipients comma separated), an empty line, the
// body and an empty line, every line ending CRLF. A line beginning with "."
// is dot-stuffed (RFC 5321 4.5.2); the terminating "." is not included.
func Format(from string, to []string, m Message, date time.Time) []byte {
	var b bytes.Buffer
	line := func(s string) {
		if strings.HasPrefix(s, ".") {
			b.WriteByte('.')
		}
		b.WriteString(s)
		b.WriteString("\r\n")
	}
	line("Date: " + date.Format(dateLayout))
	line("From: " + from)
	line("Subject: " + oneLine(m.Subject))
	line("X-Mailer: Keepalived")
	line("To: " + strings.Join(to, ", "))
	line("")
	for _, l := range strings.Split(m.Body, "\n") {
		line(oneLine(l))
	}
	line("")
	return b.Bytes()
}

// oneLine removes CR and LF, so a name from the configuration can never
// start a header or end the DATA section.
func oneLine(s string) string {
	return strings.NewReplacer("\r", "", "\n", " ").Replace(s)
}
