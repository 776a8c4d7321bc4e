package daemon

import (
	"fmt"
	"log/slog"

	"github.com/govrrp/govrrp/internal/notify"
	"github.com/govrrp/govrrp/internal/track"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// systemNotifier builds the notifier for the configuration's notify scripts
// and FIFOs; nil when there is nothing to notify.
func systemNotifier(cfg *kaconf.Config, log *slog.Logger) (notifier, error) {
	nc, err := notifyConfig(cfg, log)
	if err != nil {
		return nil, err
	}
	if len(nc.Instances) == 0 && len(nc.Groups) == 0 && len(nc.Fifos) == 0 {
		return nil, nil
	}
	return notify.New(nc, log)
}

// notifyConfig collects every instance's notify scripts and the global FIFOs,
// each script resolved as keepalived resolves it at load time.
func notifyConfig(cfg *kaconf.Config, log *slog.Logger) (notify.Config, error) {
	var nc notify.Config
	r, err := newCommandResolver(cfg, log)
	if err != nil {
		return nc, err
	}
	for _, in := range cfg.Instances {
		ni, err := notifyInstance(r, cfg, in)
		if err != nil {
			return nc, err
		}
		if ni != nil {
			nc.Instances = append(nc.Instances, *ni)
		}
	}
	groups, err := notifyGroups(r, cfg)
	if err != nil {
		return nc, err
	}
	nc.Groups = groups
	for _, f := range []struct{ fifo, script, keyword string }{
		{cfg.Global.NotifyFifo, cfg.Global.NotifyFifoScript, "notify_fifo"},
		{cfg.Global.VRRPNotifyFifo, cfg.Global.VRRPNotifyFifoScript, "vrrp_notify_fifo"},
	} {
		if f.fifo == "" {
			continue
		}
		fifo, err := notifyFifo(r, cfg, f.fifo, f.script, f.keyword)
		if err != nil {
			return nc, err
		}
		nc.Fifos = append(nc.Fifos, fifo)
	}
	return nc, nil
}

// notifyInstance is one instance's notify set; nil when it has nothing to
// tell (no scripts, no priority-change lines, no notify_deleted).
func notifyInstance(r *commandResolver, cfg *kaconf.Config, in *kaconf.Instance) (*notify.Instance, error) {
	ni := notify.Instance{Name: in.Name, NotifyDeleted: in.NotifyDeletedSet,
		PriorityChanges: in.NotifyPriorityChanges || cfg.Global.VRRPNotifyPriorityChanges || groupPriorityChanges(cfg, in.Name)} // notifyextra.go
	any := ni.NotifyDeleted || ni.PriorityChanges
	for _, s := range []struct {
		keyword, cmd string
		dst          **notify.Script
	}{
		{"notify", in.Notify, &ni.Generic},
		{"notify_master", in.NotifyMaster, &ni.Master},
		{"notify_backup", in.NotifyBackup, &ni.Backup},
		{"notify_fault", in.NotifyFault, &ni.Fault},
		{"notify_stop", in.NotifyStop, &ni.Stop},
		{"notify_deleted", in.NotifyDeleted, &ni.Deleted},
		{"notify_master_rx_lower_pri", in.NotifyMasterRxLowerPri, &ni.MasterRxLowerPri},
	} {
		if s.cmd == "" {
			continue
		}
		script, err := notifyScript(r, s.cmd, in.RunAs[s.keyword])
		if err != nil {
			return nil, fmt.Errorf("%s: vrrp_instance %s %s: %w", in.Pos, in.Name, s.keyword, err)
		}
		*s.dst, any = script, true
	}
	if !any {
		return nil, nil
	}
	return &ni, nil
}

func notifyFifo(r *commandResolver, cfg *kaconf.Config, path, script, keyword string) (notify.Fifo, error) {
	f := notify.Fifo{Path: path}
	if as := cfg.Global.RunAs[keyword]; as.User != "" {
		cred, err := track.LookupCredential(as.User, as.Group)
		if err != nil {
			return f, fmt.Errorf("global_defs %s: %w", keyword, err)
		}
		f.Owner = &notify.Owner{Uid: cred.Uid, Gid: cred.Gid}
	}
	if script != "" {
		s, err := notifyScript(r, script, cfg.Global.RunAs[keyword+"_script"])
		if err != nil {
			return f, fmt.Errorf("global_defs %s_script: %w", keyword, err)
		}
		f.Script = s
	}
	return f, nil
}

func notifyScript(r *commandResolver, cmd string, as kaconf.RunAs) (*notify.Script, error) {
	argv, cred, err := r.resolve(cmd, as)
	if err != nil {
		return nil, err
	}
	// Groups stay nil: keepalived gives a script its user's primary group
	// alone (setgroups with that one group).
	s := &notify.Script{Argv: argv, AsSelf: cred == nil}
	if cred != nil {
		s.Uid, s.Gid = cred.Uid, cred.Gid
	}
	return s, nil
}
