// Package interop holds govrrp's interoperability tests: the same scenario
// bodies run keepalived↔keepalived (which validates the tests themselves),
// govrrp↔keepalived, keepalived↔govrrp and govrrp↔govrrp, two hosts on one
// bridged segment built with internal/netlab.
//
// The tests need root (network namespaces) and keepalived; they skip without
// root. The govrrp binary comes from $GOVRRP_BIN, or is built once per test
// binary from ./cmd/govrrp. Only 192.0.2.0/24 and 2001:db8::/32 are used, and
// forged packets go only to the lab link (224.0.0.18 or a lab address).
//
// Run: sudo go test ./internal/interop/ (add -run TestHandoverTimes -v for
// the handover table). TestMain raises -parallel to 4 unless given: labs
// mostly wait on protocol timers. The 100 ms scenarios assert protocol
// bounds of a few hundred milliseconds, so a heavily loaded machine can
// make them fail; failure messages carry the load average.
package interop
