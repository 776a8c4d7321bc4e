package kadump

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/govrrp/govrrp/internal/control"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// WriteJSON writes keepalived.json: an array with one {"data":{...},
// "stats":{...}} object per instance, compact, keys in keepalived 2.2.7's
// order, "/" escaped as "\/" and a final newline, as keepalived writes it.
//
// master_priority is the snapshot's MasterPriority as keepalived keeps it
// (see view.masterPriority), master_adver_int its MasterAdverInt; the
// counters are CountersOf's. adver_int, master_adver_int and preempt_delay are whole seconds
// (truncation of sub-second values unverified). vroutes and vrules are the
// configured lines (unverified spelling); track_file and track_process are
// not part of keepalived's JSON.
func WriteJSON(w io.Writer, st control.Status, cfg *kaconf.Config) error {
	bw := bufio.NewWriter(w)
	var g *kaconf.GlobalDefs
	if cfg != nil {
		g = &cfg.Global
	}
	bw.WriteByte('[')
	for i, v := range views(st, cfg) {
		if i > 0 {
			bw.WriteByte(',')
		}
		writeJSONInstance(bw, v, g)
	}
	bw.WriteString("]\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("kadump: %w", err)
	}
	return nil
}

// jobj writes one JSON object with fields in call order.
type jobj struct {
	w *bufio.Writer
	n int
}

func (o *jobj) key(k string) {
	if o.n > 0 {
		o.w.WriteByte(',')
	}
	o.n++
	jsonString(o.w, k)
	o.w.WriteByte(':')
}

func (o *jobj) str(k, v string)       { o.key(k); jsonString(o.w, v) }
func (o *jobj) num(k string, v int64) { o.key(k); o.w.WriteString(strconv.FormatInt(v, 10)) }
func (o *jobj) unum(k string, v uint64) {
	o.key(k)
	o.w.WriteString(strconv.FormatUint(v, 10))
}
func (o *jobj) boolean(k string, v bool) { o.key(k); o.w.WriteString(strconv.FormatBool(v)) }
func (o *jobj) raw(k, v string)          { o.key(k); o.w.WriteString(v) }
func (o *jobj) strs(k string, vs []string) {
	o.key(k)
	o.w.WriteByte('[')
	for i, s := range vs {
		if i > 0 {
			o.w.WriteByte(',')
		}
		jsonString(o.w, s)
	}
	o.w.WriteByte(']')
}

// jsonString writes s quoted the way keepalived's JSON writer does: '"',
// '\\' and '/' escaped, the usual short escapes for control characters
// (\u00XX for the rest, unverified), other bytes as they are.
func jsonString(w *bufio.Writer, s string) {
	w.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\' || c == '/':
			w.WriteByte('\\')
			w.WriteByte(c)
		case c == '\b':
			w.WriteString(`\b`)
		case c == '\f':
			w.WriteString(`\f`)
		case c == '\n':
			w.WriteString(`\n`)
		case c == '\r':
			w.WriteString(`\r`)
		case c == '\t':
			w.WriteString(`\t`)
		case c < 0x20:
			fmt.Fprintf(w, `\u%04x`, c)
		case c < utf8.RuneSelf:
			w.WriteByte(c)
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				w.WriteString(`\ufffd`)
			} else {
				w.WriteString(s[i : i+n])
			}
			i += n
			continue
		}
		i++
	}
	w.WriteByte('"')
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func writeJSONInstance(w *bufio.Writer, v view, g *kaconf.GlobalDefs) {
	c := v.cfg
	w.WriteString(`{"data":{`)
	d := &jobj{w: w}
	d.str("iname", v.st.Name)
	d.num("dont_track_primary", b2i(c.DontTrackPrimary))
	d.num("skip_check_adv_addr", b2i(c.SkipCheckAdvAddr || (g != nil && g.SkipCheckAdvAddr)))
	d.num("strict_mode", b2i(c.StrictMode))
	d.str("vmac_ifname", c.UseVMAC) // "" without use_vmac (verified); a VMAC's name unverified
	d.str("ifp_ifname", v.st.Interface)
	d.num("master_priority", int64(v.masterPriority()))
	d.raw("last_transition", tsFloat(v.st.Since))
	d.num("garp_delay", secs(c.GarpMasterDelay))
	d.num("garp_refresh", secs(c.GarpMasterRefresh))
	d.num("garp_rep", int64(c.GarpMasterRepeat))
	d.num("garp_refresh_rep", int64(c.GarpMasterRefreshRepeat))
	d.num("garp_lower_prio_delay", secs(c.GarpLowerPrioDelay))
	d.num("garp_lower_prio_rep", int64(c.GarpLowerPrioRepeat))
	d.num("lower_prio_no_advert", b2i(c.LowerPrioNoAdvert))
	d.num("higher_prio_send_advert", b2i(c.HigherPrioSendAdvert))
	d.num("vrid", int64(v.st.VRID))
	d.num("base_priority", int64(v.st.Priority))
	d.num("effective_priority", int64(v.st.EffectivePriority))
	d.boolean("vipset", v.vipsSet())
	d.boolean("promote_secondaries", c.PromoteSecondaries)
	d.num("adver_int", secs(v.adverInt()))
	d.num("master_adver_int", secs(v.masterAdverInt()))
	d.num("accept", b2i(v.accept()))
	d.boolean("nopreempt", c.Nopreempt)
	d.num("preempt_delay", secs(c.PreemptDelay))
	d.num("state", int64(stateNum(v.state())))
	d.num("wantstate", int64(stateNum(v.state())))
	d.num("version", int64(v.version()))
	d.boolean("smtp_alert", c.SmtpAlert)
	d.boolean("notify_deleted", c.NotifyDeletedSet)
	for _, n := range notifyScripts(c) {
		d.str(n.jsonKey, commandText(n.cmd))
	}
	if len(c.VIPs) > 0 {
		d.strs("vips", vipTexts(c.VIPs, v))
	}
	if len(c.ExcludedVIPs) > 0 {
		d.strs("evips", vipTexts(c.ExcludedVIPs, v))
	}
	if len(c.VirtualRoutes) > 0 {
		d.strs("vroutes", rawTexts(c.VirtualRoutes))
	}
	if len(c.VirtualRules) > 0 {
		d.strs("vrules", rawTexts(c.VirtualRules))
	}
	if len(c.TrackInterfaces) > 0 {
		names := make([]string, len(c.TrackInterfaces))
		for i, r := range c.TrackInterfaces {
			names[i] = r.Name
		}
		d.strs("track_ifp", names)
	}
	if len(c.TrackScripts) > 0 {
		// keepalived lists the scripts' commands, not their names.
		var cmds []string
		for _, r := range c.TrackScripts {
			cmds = append(cmds, commandText(v.scriptCommand(r.Name)))
		}
		d.strs("track_script", cmds)
	}
	if v.version() == 2 {
		switch c.AuthType {
		case "PASS":
			d.num("auth_type", 1)
			d.str("auth_data", authText(c))
		case "AH":
			d.num("auth_type", 2) // unverified
		default:
			d.num("auth_type", 0)
		}
	} else {
		d.num("auth_type", 0)
	}
	w.WriteString(`},"stats":{`)
	k := CountersOf(v.st)
	s := &jobj{w: w}
	s.unum("advert_rcvd", k.AdvertRcvd)
	s.unum("advert_sent", k.AdvertSent)
	s.unum("become_master", k.BecomeMaster)
	s.unum("release_master", k.ReleaseMaster)
	s.unum("packet_len_err", k.PacketLenErr)
	s.unum("advert_interval_err", k.AdvertIntervalErr)
	s.unum("ip_ttl_err", k.IPTTLErr)
	s.unum("invalid_type_rcvd", k.InvalidTypeRcvd)
	s.unum("addr_list_err", k.AddrListErr)
	s.unum("invalid_authtype", k.InvalidAuthType)
	s.unum("authtype_mismatch", k.AuthTypeMismatch)
	s.unum("auth_failure", k.AuthFailure)
	s.unum("pri_zero_rcvd", k.PriZeroRcvd)
	s.unum("pri_zero_sent", k.PriZeroSent)
	w.WriteString("}}")
}

func vipTexts(as []kaconf.VIP, v view) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = vipText(a, v.st.Interface, v.vipsSet())
	}
	return out
}

func rawTexts(rs []kaconf.Raw) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = strings.Join(r.Words, " ")
	}
	return out
}
