package track

import (
	"errors"
	"fmt"
	"os/user"
	"slices"
	"strconv"
)

// DefaultScriptUserName is the user keepalived runs scripts as when
// global_defs has no script_user and the user exists.
const DefaultScriptUserName = "keepalived_script"

// Credential is who a script runs as.
type Credential struct {
	Uid, Gid uint32
	// Groups are the supplementary groups: Gid, the user's primary group
	// and every group that lists the user (initgroups(3) with Gid, plus the
	// primary group when a different group was chosen).
	Groups []uint32
	// User is the user name, for logs and status.
	User string
}

// LookupCredential resolves a `user USERNAME [GROUPNAME]` pair (vrrp_script
// user, global_defs script_user). An empty group means the user's primary
// group.
func LookupCredential(userName, group string) (*Credential, error) {
	u, err := user.Lookup(userName)
	if err != nil {
		return nil, fmt.Errorf("script user %q: %w", userName, err)
	}
	gid := u.Gid
	if group != "" {
		g, err := user.LookupGroup(group)
		if err != nil {
			return nil, fmt.Errorf("script group %q: %w", group, err)
		}
		gid = g.Gid
	}
	return credentialOf(u, gid)
}

// credentialOf builds the Credential of u running with primary group gid.
func credentialOf(u *user.User, gid string) (*Credential, error) {
	uid, err := parseID(u.Uid)
	if err != nil {
		return nil, fmt.Errorf("script user %q: uid %w", u.Username, err)
	}
	g, err := parseID(gid)
	if err != nil {
		return nil, fmt.Errorf("script user %q: gid %w", u.Username, err)
	}
	ids, err := u.GroupIds()
	if err != nil {
		return nil, fmt.Errorf("script user %q: groups: %w", u.Username, err)
	}
	groups := []uint32{g}
	for _, s := range ids {
		if id, err := parseID(s); err == nil && !slices.Contains(groups, id) {
			groups = append(groups, id)
		}
	}
	return &Credential{Uid: uid, Gid: g, Groups: groups, User: u.Username}, nil
}

func parseID(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err
}

// DefaultScriptUser is who scripts without a user of their own run as, as
// keepalived decides it: global_defs script_user when set, else
// keepalived_script when that user exists, else the daemon's own user (a nil
// Credential) together with a warning for the log.
//
// With enable_script_security keepalived 2.2.7 does not fall back: it
// refuses ("Unable to set default user keepalived_script") and drops every
// script without its own user. Callers that enable script security treat a
// non-empty warning as that error.
func DefaultScriptUser(globalUser, globalGroup string) (*Credential, string, error) {
	return defaultScriptUser(globalUser, globalGroup, LookupCredential)
}

// defaultScriptUser is DefaultScriptUser with the lookup as a seam for
// tests (whether keepalived_script exists depends on the machine).
func defaultScriptUser(globalUser, globalGroup string, lookup func(u, g string) (*Credential, error)) (*Credential, string, error) {
	if globalUser != "" {
		c, err := lookup(globalUser, globalGroup)
		return c, "", err
	}
	c, err := lookup(DefaultScriptUserName, "")
	var unknown user.UnknownUserError
	switch {
	case err == nil:
		return c, "", nil
	case errors.As(err, &unknown):
		return nil, "default script user '" + DefaultScriptUserName +
			"' does not exist: scripts without a user run as the daemon's user (root); " +
			"create the user or set script_user in global_defs", nil
	}
	return nil, "", err
}
