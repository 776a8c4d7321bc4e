package daemon

import (
	"fmt"
	"time"

	"github.com/govrrp/govrrp/pkg/kaconf"
	"github.com/govrrp/govrrp/pkg/vrrp"
)

// instanceAuth is an instance's auth_hmac runtime (keepalived 2.4,
// draft-cassen-vrrp-auth-hmac-00). cfg is replaced by a reload; signer and
// verifier are kept for the instance's whole life, so a reload neither sends
// a sequence already used nor forgets what each peer last sent (a replay
// right after a reload is still one). signer belongs to the loop, verifier
// to the socket reader that runs the instance's receiver.
type instanceAuth struct {
	cfg      *vrrp.HMACConfig // nil: no auth_hmac
	signer   *vrrp.HMACSigner
	verifier *vrrp.HMACVerifier
}

// setupAuth builds the instance's auth_hmac from its configuration and
// hands the receive side its config and anti-replay memory.
func (in *instance) setupAuth(c *kaconf.Instance, rx *rxConfig) error {
	if c.AuthHMAC == nil {
		return nil
	}
	cfg, err := hmacConfig(c)
	if err != nil {
		return fmt.Errorf("instance %s: %w", c.Name, err)
	}
	in.auth = instanceAuth{cfg: cfg, signer: new(vrrp.HMACSigner), verifier: vrrp.NewHMACVerifier()}
	rx.params.HMAC, rx.params.HMACState = cfg, in.auth.verifier
	return nil
}

// hmacConfig turns the parsed block into the codec's key ring.
func hmacConfig(c *kaconf.Instance) (*vrrp.HMACConfig, error) {
	a := c.AuthHMAC
	keys := make([]vrrp.HMACKey, 0, len(a.Keys))
	for _, k := range a.Keys {
		keys = append(keys, vrrp.HMACKey{ID: k.ID, Secret: k.Secret})
	}
	mode := vrrp.HMACEnforce
	switch a.Mode {
	case "permissive":
		mode = vrrp.HMACPermissive
	case "receive-only":
		mode = vrrp.HMACReceiveOnly
	}
	replay := vrrp.ReplayTime
	if a.AntiReplay == "monotonic" {
		replay = vrrp.ReplayMonotonic
	}
	return vrrp.NewHMACConfig(keys, a.ActiveKey, mode, replay, a.WindowFor(c.AdverInt.Seconds()))
}

// takeAuth moves a running instance to nw's auth_hmac configuration while
// keeping its signer and verifier. Turning auth_hmac on by reload starts
// them; turning it off drops them.
func (in *instance) takeAuth(nw *instance) {
	rx := nw.rx.Load() // nw is not published yet: its rx may still be edited
	switch {
	case nw.auth.cfg == nil:
		in.auth = instanceAuth{}
	case in.auth.cfg == nil:
		in.auth = nw.auth
	default:
		in.auth.cfg = nw.auth.cfg
		rx.params.HMACState = in.auth.verifier
	}
}

// marshalAdvert encodes the advert template, signed when auth_hmac signs.
func (in *instance) marshalAdvert(dst []byte, o vrrp.MarshalOptions) ([]byte, error) {
	if in.auth.cfg == nil {
		return in.advert.AppendMarshal(dst, o)
	}
	return in.advert.AppendMarshalSigned(dst, o, in.auth.cfg, in.auth.signer, time.Now())
}

// authWarning is the warning label of an accepted advert: its vrrp.Warning
// set, plus what receive-only would have dropped it for.
func authWarning(res vrrp.Result) string {
	w := res.Warnings.String()
	if res.HMACFailure != vrrp.DropNone {
		w += "|receive_only_" + res.HMACFailure.String()
	}
	return w
}

// authLabel names the instance's advert authentication for status: which
// mode a node is in is what an auth_hmac migration has to check on every
// node before the next step.
func authLabel(c *kaconf.Instance) string {
	switch {
	case c.AuthHMAC != nil:
		return "hmac-" + c.AuthHMAC.Mode
	case c.AuthType == "PASS":
		return "pass"
	case c.AuthType == "AH":
		return "ah"
	}
	return "none"
}
