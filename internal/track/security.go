package track

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// ResolveExecutable finds the file a script's argv[0] names, as keepalived
// does when it loads the configuration: a name without a slash is looked up
// in PATH (executable files only), then the path is made absolute and every
// symlink resolved. keepalived runs, and checks, the resolved file, so
// replacing a symlink later changes nothing; the daemon should do the same.
func ResolveExecutable(argv0 string) (string, error) {
	if argv0 == "" {
		return "", errors.New("empty script path")
	}
	p := argv0
	if !strings.Contains(argv0, "/") {
		found, err := exec.LookPath(argv0)
		if err != nil {
			return "", fmt.Errorf("script %s: not found in PATH %q", argv0, os.Getenv("PATH"))
		}
		p = found
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("script %s: %w", argv0, err)
	}
	resolved, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("script %s cannot be accessed: %w", argv0, unwrapPath(err))
	}
	return resolved, nil
}

// PathSearchWarning is the warning keepalived users know for a script found
// through PATH ("" when argv0 names a path).
func PathSearchWarning(argv0, resolved string) string {
	if strings.Contains(argv0, "/") {
		return ""
	}
	return fmt.Sprintf("script %s was found by PATH search as %s: specify the full path", argv0, resolved)
}

// CheckScriptSecurity is enable_script_security for one script. When the
// script would run as root (cred nil while the daemon is root, or uid 0) it
// refuses the file unless no one but root can change it or any directory
// above it, checked on the symlink-resolved path as keepalived does:
//   - every component must be owned by root;
//   - none may be writable by a group other than gid 0, or by everyone,
//     except a directory with the sticky bit (like /tmp), where others
//     cannot replace root's entries;
//   - the script itself must be a regular file.
//
// Scripts run as another user are not checked (keepalived 2.2.7 accepts
// them in a world-writable directory). POSIX ACLs are not looked at.
func CheckScriptSecurity(path string, cred *Credential) error {
	if uid, _, _ := identity(cred); uid != 0 {
		return nil
	}
	resolved, err := resolvedPath(path)
	if err != nil {
		return err
	}
	for _, c := range components(resolved) {
		fi, err := os.Lstat(c)
		if err != nil {
			return fmt.Errorf("script %s: %w", path, unwrapPath(err))
		}
		if why := unsafeBecause(fi, c == resolved); why != "" {
			return fmt.Errorf("unsafe permissions for script %s run as root: %s %s", named(path, resolved), c, why)
		}
	}
	return nil
}

// unsafeBecause says why fi lets someone other than root change what runs,
// or "" when it does not. last is the script itself.
func unsafeBecause(fi fs.FileInfo, last bool) string {
	st := fi.Sys().(*syscall.Stat_t)
	mode := fi.Mode()
	switch {
	case last && !mode.IsRegular():
		return fmt.Sprintf("is not a regular file (mode %v)", mode)
	case st.Uid != 0:
		return fmt.Sprintf("is owned by uid %d", st.Uid)
	case mode.IsDir() && mode&fs.ModeSticky != 0:
		return "" // root's entries in a sticky directory are root's to replace
	case mode&0o002 != 0:
		return fmt.Sprintf("is writable by everyone (mode %v)", mode)
	case mode&0o020 != 0 && st.Gid != 0:
		return fmt.Sprintf("is writable by group %d (mode %v)", st.Gid, mode)
	}
	return ""
}

// CheckExecutable refuses a script the user cannot run: every directory
// above it must be searchable and the file executable for cred (nil: the
// daemon's own user), by the owner/group/other mode bits. keepalived
// disables such a script at start-up ("not executable for uid:gid").
func CheckExecutable(path string, cred *Credential) error {
	resolved, err := resolvedPath(path)
	if err != nil {
		return err
	}
	uid, gid, groups := identity(cred)
	for _, c := range components(resolved) {
		fi, err := os.Stat(c)
		if err != nil {
			return fmt.Errorf("script %s: %w", path, unwrapPath(err))
		}
		if c == resolved && !fi.Mode().IsRegular() {
			return fmt.Errorf("script %s: %s is not a regular file", named(path, resolved), c)
		}
		if !mayExecute(fi, uid, gid, groups) {
			return fmt.Errorf("script %s is not executable for uid:gid %d:%d: no execute permission on %s",
				named(path, resolved), uid, gid, c)
		}
	}
	return nil
}

// mayExecute reports whether uid (with gid and groups) may execute fi, or
// search it when it is a directory. Root needs one x bit on a file and none
// on a directory, as the kernel decides for CAP_DAC_OVERRIDE.
func mayExecute(fi fs.FileInfo, uid, gid uint32, groups []uint32) bool {
	st := fi.Sys().(*syscall.Stat_t)
	perm := fi.Mode().Perm()
	switch {
	case uid == 0:
		return fi.IsDir() || perm&0o111 != 0
	case st.Uid == uid:
		return perm&0o100 != 0
	case st.Gid == gid || slices.Contains(groups, st.Gid):
		return perm&0o010 != 0
	}
	return perm&0o001 != 0
}

// identity is who a script with cred runs as.
func identity(cred *Credential) (uid, gid uint32, groups []uint32) {
	if cred != nil {
		return cred.Uid, cred.Gid, cred.Groups
	}
	ids, _ := os.Getgroups()
	for _, g := range ids {
		groups = append(groups, uint32(g))
	}
	return uint32(os.Geteuid()), uint32(os.Getegid()), groups
}

// resolvedPath is path made absolute with every symlink resolved.
func resolvedPath(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("script %s: %w", path, err)
	}
	resolved, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("script %s cannot be accessed: %w", path, unwrapPath(err))
	}
	return resolved, nil
}

// components lists "/", "/a", "/a/b" ... down to the clean absolute path p.
func components(p string) []string {
	out := []string{"/"}
	for i := 1; i < len(p); i++ {
		if p[i] == '/' {
			out = append(out, p[:i])
		}
	}
	if p != "/" {
		out = append(out, p)
	}
	return out
}

// named is path, with what it resolves to when that differs.
func named(path, resolved string) string {
	if path == resolved {
		return path
	}
	return path + " (" + resolved + ")"
}

// unwrapPath drops the *fs.PathError wrapper, whose path the callers' text
// already names.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
