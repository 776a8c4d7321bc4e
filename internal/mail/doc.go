// Package mail sends keepalived's smtp_alert mails: one short message per
// VRRP state transition of an instance or sync group, with the subject, body,
// headers and SMTP dialogue keepalived 2.2.7 uses (recorded from it in
// testdata/), so that users' mail filters keep matching.
//
// Invariants:
//   - Send never blocks and never does I/O: it formats the message and puts
//     it on a bounded queue; a full queue drops the mail and counts it.
//   - One goroutine per Sender talks SMTP, one mail at a time, every step
//     (connect, each reply, each write) bounded by the connect timeout, so a
//     dead, slow or blackholed server costs at most that per mail.
//   - Every failure is counted (Stats) and logged at most once per
//     logEvery, with the number of failures folded into the line.
//   - Close stops accepting mails and waits for the queue until its context
//     ends; then the mail in flight is abandoned. Nothing outlives Close.
//
// The package knows nothing of the daemon: the caller decides which
// transitions mail (smtp_alert, no_email_faults) and passes a Message.
package mail
