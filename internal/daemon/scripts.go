package daemon

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"

	"github.com/govrrp/govrrp/internal/track"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// commandResolver turns the command lines of vrrp_script and notify scripts
// into what is run, with keepalived's load-time checks: argv split with its
// quoting, the user (the line's own, else script_user, else
// keepalived_script, else root), PATH lookup and symlinks resolved, the
// file executable by that user and, with enable_script_security, safe to run
// as root. One resolver serves one configuration.
type commandResolver struct {
	security    bool
	defaultCred *track.Credential
	defaultWarn string // scripts without a user fall back to root
	log         *slog.Logger
	warned      bool
}

func newCommandResolver(cfg *kaconf.Config, log *slog.Logger) (*commandResolver, error) {
	cred, warn, err := track.DefaultScriptUser(cfg.Global.ScriptUser, cfg.Global.ScriptGroup)
	if err != nil {
		return nil, fmt.Errorf("global_defs script_user: %w", err)
	}
	return &commandResolver{security: cfg.Global.EnableScriptSecurity, defaultCred: cred, defaultWarn: warn, log: log}, nil
}

// resolve gives argv (argv[0] the resolved file) and who runs it; a nil
// credential runs it as the daemon's own user.
func (r *commandResolver) resolve(cmd string, as kaconf.RunAs) ([]string, *track.Credential, error) {
	argv, err := kaconf.SplitCommand(cmd)
	if err != nil {
		return nil, nil, err
	}
	cred, err := r.credential(as)
	if err != nil {
		return nil, nil, err
	}
	path, err := track.ResolveExecutable(argv[0])
	if err != nil {
		return nil, nil, err
	}
	if w := track.PathSearchWarning(argv[0], path); w != "" {
		r.log.Warn(w)
	}
	if err := track.CheckExecutable(path, cred); err != nil {
		return nil, nil, err
	}
	if r.security {
		if err := track.CheckScriptSecurity(path, cred); err != nil {
			return nil, nil, fmt.Errorf("refused by enable_script_security: %w", err)
		}
	}
	argv[0] = path
	return argv, cred, nil
}

// credential is the line's own user, else the default script user. With
// enable_script_security and no default user, keepalived 2.2.7 silently
// drops the script, so a failing check would never move the VIP; govrrp
// refuses the file instead.
func (r *commandResolver) credential(as kaconf.RunAs) (*track.Credential, error) {
	if as.User != "" {
		return track.LookupCredential(as.User, as.Group)
	}
	if r.defaultWarn == "" {
		return r.defaultCred, nil
	}
	if r.security {
		return nil, fmt.Errorf("enable_script_security is set but global_defs has no script_user and there is no user %s "+
			"(keepalived would drop this script); set script_user, e.g. `script_user root`", track.DefaultScriptUserName)
	}
	if !r.warned {
		r.warned = true
		r.log.Warn(r.defaultWarn)
	}
	return r.defaultCred, nil
}

// CheckRunnable reports what `govrrp run` would refuse in a configuration
// that parses: AH authentication, and every script it would run (the
// vrrp_scripts its instances track, notify scripts, FIFO scripts) resolved
// as at start-up, on this host — a script that is missing, not executable by
// its user, or refused by enable_script_security is an error naming its line.
func CheckRunnable(cfg *kaconf.Config, log *slog.Logger) []error {
	var errs []error
	for _, in := range cfg.Instances {
		if err := refuseAH(in); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", in.Pos, err))
		}
	}
	r, err := newCommandResolver(cfg, log)
	if err != nil {
		return append(errs, err)
	}
	for _, name := range usedScripts(cfg) {
		s := cfg.Scripts[name]
		if _, _, err := r.resolve(s.Script, kaconf.RunAs{User: s.User, Group: s.Group}); err != nil {
			errs = append(errs, fmt.Errorf("%s: vrrp_script %s: %w", s.Pos, s.Name, err))
		}
	}
	if _, err := notifyConfig(cfg, log); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// usedScripts are the vrrp_scripts some instance or sync group tracks,
// sorted; keepalived runs no other.
func usedScripts(cfg *kaconf.Config) []string {
	seen := map[string]bool{}
	refs := func(rs []kaconf.TrackRef) {
		for _, r := range rs {
			if cfg.Scripts[r.Name] != nil {
				seen[r.Name] = true
			}
		}
	}
	for _, in := range cfg.Instances {
		refs(in.TrackScripts)
	}
	for _, g := range cfg.SyncGroups {
		refs(g.TrackScripts)
	}
	return slices.Sorted(maps.Keys(seen))
}
