package appid

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/vcguard/vcguard/agent/proctable"
)

// rpmTimeout bounds one rpm -qf run.
const rpmTimeout = 10 * time.Second

// inspectOS on Linux: a flatpak sandbox is recognised by its .flatpak-info;
// otherwise the owning snap (from the path), deb (dpkg's .list files of the
// candidate's names) or rpm (rpm -qf, when rpm is installed) gives the
// package and version; and the root-ownership of the file and its
// directories gives Signed.
func (in *Inspector) inspectOS(ctx context.Context, pid int32, exe string, c Candidate) Info {
	info := Info{Path: exe}
	fsys := osMetaFS{}
	if pid > 0 {
		data, err := readFileCapped(in.underRoot(procPath(pid, "root/.flatpak-info")), maxFlatpakInfoSize)
		switch {
		case err == nil:
			in.inspectFlatpak(pid, exe, data, c, &info)
			return info
		case !errors.Is(err, fs.ErrNotExist):
			info.addReason("cannot read the process's flatpak metadata: %v", err)
		}
	}
	if !strings.HasPrefix(exe, "/") {
		info.addReason("the executable path %q is not absolute", exe)
		return info
	}
	// Everything below looks at the host's file at exe. A process in
	// another mount namespace (a container, a user namespace with its own
	// mounts) may run a different file under the same path: trust the
	// host's facts only for the very file the process runs.
	if same, known := in.runningIsFile(pid, exe); known && !same {
		info.addReason("the running executable is not the file at %s on this system (another mount namespace?)", exe)
		return info
	}

	if name, instance, rev, ok := snapFromPath(exe); ok {
		if slices.Contains(c.packageNames("snap"), name) {
			info.Package = "snap:" + name
			yml := in.underRoot(path.Join("/snap", instance, rev, "meta/snap.yaml"))
			if data, err := readFileCapped(yml, maxSnapYAMLSize); err != nil {
				info.addReason("snap version: %v", err)
			} else if v, err := ParseSnapYAMLVersion(data); err != nil {
				info.addReason("snap version: %v", err)
			} else {
				info.Version = v
			}
		} else {
			info.addReason("snap %s is not one of the app's packages", name)
		}
	}
	if info.Package == "" {
		if names := c.packageNames("deb"); len(names) > 0 {
			name, pkg, err := in.dpkgOwner(exe, names, fsys)
			switch {
			case err != nil:
				info.addReason("dpkg: %v", err)
			case name != "":
				info.Package = "deb:" + name
				if pkg.Version == "" {
					info.addReason("dpkg: %s lists the file but the status file has no installed version", name)
				}
				info.Version = pkg.Version
			}
		}
	}
	if info.Package == "" {
		if names := c.packageNames("rpm"); len(names) > 0 {
			name, version, err := in.rpmOwner(ctx, exe, names)
			switch {
			case err != nil:
				info.addReason("rpm: %v", err)
			case name != "":
				info.Package, info.Version = "rpm:"+name, version
			}
		}
	}
	if err := checkRootOwned(fsys, in.Root, exe); err != nil {
		info.addReason("%v", err)
	} else {
		info.Signed = true
	}
	return info
}

func procPath(pid int32, rel string) string { return proctable.ProcPath(pid, rel) }

// runningIsFile compares the file process pid runs (/proc/PID/exe) with the
// file at p. known is false when the process's file cannot be seen (no pid,
// process gone).
func (in *Inspector) runningIsFile(pid int32, p string) (same, known bool) {
	if pid <= 0 {
		return false, false
	}
	running, err := os.Stat(in.underRoot(procPath(pid, "exe")))
	if err != nil {
		return false, false
	}
	file, err := os.Stat(in.underRoot(p))
	if err != nil {
		return false, true
	}
	return os.SameFile(running, file), true
}

// inspectFlatpak fills info for a process in a flatpak sandbox. The sandbox
// metadata comes from the process's own root, which any user can fake with
// an unprivileged mount namespace; so the app counts as the flatpak only
// when the process runs the very file of a deployed app on the host
// (.../app/ID/ARCH/BRANCH/COMMIT/files, from the metadata's app-path) and
// that installation is root's (system-wide), which a user cannot forge.
func (in *Inspector) inspectFlatpak(pid int32, exe string, data []byte, c Candidate, info *Info) {
	fp, err := ParseFlatpakInfo(data)
	if err != nil {
		info.addReason("%v", err)
		return
	}
	if !slices.Contains(c.packageNames("flatpak"), fp.Name) {
		info.addReason("flatpak %s is not one of the app's packages", fp.Name)
		return
	}
	info.Version = in.flatpakVersion(pid, fp)

	hostExe, err := flatpakHostPath(fp, exe)
	if err != nil {
		info.addReason("flatpak %s: %v", fp.Name, err)
		return
	}
	switch same, known := in.runningIsFile(pid, hostExe); {
	case !known:
		info.addReason("flatpak %s: the process's executable cannot be read", fp.Name)
		return
	case !same:
		info.addReason("flatpak %s: the process does not run %s", fp.Name, hostExe)
		return
	}
	if err := checkRootOwned(osMetaFS{}, in.Root, hostExe); err != nil {
		info.addReason("flatpak %s is not a system-wide installation: %v", fp.Name, err)
		return
	}
	info.Package = "flatpak:" + fp.Name
	info.Signed = true
}

// flatpakHostPath maps the sandbox path /app/... to the deployed app's
// files on the host, after checking app-path has the layout flatpak deploys
// apps with.
func flatpakHostPath(fp FlatpakInfo, exe string) (string, error) {
	rel, ok := strings.CutPrefix(exe, "/app/")
	if !ok {
		return "", fmt.Errorf("the executable %s is not under /app", exe)
	}
	ap := path.Clean(fp.AppPath)
	parts := strings.Split(ap, "/")
	n := len(parts)
	if !strings.HasPrefix(fp.AppPath, "/") || n < 7 || parts[n-1] != "files" || parts[n-6] != "app" || parts[n-5] != fp.Name {
		return "", fmt.Errorf("app-path %q is not a deployed flatpak app", fp.AppPath)
	}
	host := path.Join(ap, rel)
	if !strings.HasPrefix(host, ap+"/") {
		return "", fmt.Errorf("the executable %s leaves the app's files", exe)
	}
	return host, nil
}

// flatpakVersion reads the app's AppStream metainfo, inside the sandbox
// first, then in the deployed app on the host.
func (in *Inspector) flatpakVersion(pid int32, fp FlatpakInfo) string {
	var dirs []string
	dirs = append(dirs, procPath(pid, "root/app/share"))
	if strings.HasPrefix(fp.AppPath, "/") {
		dirs = append(dirs, path.Join(path.Clean(fp.AppPath), "share"))
	}
	for _, dir := range dirs {
		for _, rel := range []string{"metainfo/%s.metainfo.xml", "metainfo/%s.appdata.xml", "appdata/%s.appdata.xml", "appdata/%s.metainfo.xml"} {
			data, err := readFileCapped(in.underRoot(path.Join(dir, fmt.Sprintf(rel, fp.Name))), maxMetainfoSize)
			if err != nil {
				continue
			}
			if v, err := ParseMetainfoVersion(data); err == nil {
				return v
			}
		}
	}
	return ""
}

// dpkgOwner finds which of the candidate deb packages lists exe in its file
// list (info/NAME.list or info/NAME:ARCH.list), and its installed version.
func (in *Inspector) dpkgOwner(exe string, names []string, fsys metaFS) (string, DpkgPackage, error) {
	resolved := map[string]string{}
	resolveDir := func(dir string) string {
		if r, ok := resolved[dir]; ok {
			return r
		}
		r, err := resolveInRoot(fsys, in.Root, dir)
		if err != nil {
			r = dir
		}
		resolved[dir] = r
		return r
	}
	archs := in.dpkgArchs()
	for _, name := range names {
		if !validDebName(name) {
			continue
		}
		files := []string{name + ".list"}
		for _, a := range archs {
			files = append(files, name+":"+a+".list")
		}
		for _, file := range files {
			f, err := os.Open(in.underRoot("/var/lib/dpkg/info/" + file))
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return "", DpkgPackage{}, err
			}
			has, err := dpkgListHas(f, exe, resolveDir)
			f.Close()
			if err != nil {
				return "", DpkgPackage{}, fmt.Errorf("%s: %w", file, err)
			}
			if !has {
				continue
			}
			pkg, err := in.dpkgStatus(name)
			return name, pkg, err
		}
	}
	return "", DpkgPackage{}, nil
}

// dpkgArchs lists the architectures multi-arch file lists may carry: the
// agent's, then the foreign ones dpkg was told about.
func (in *Inspector) dpkgArchs() []string {
	archs := []string{dpkgArch(runtime.GOARCH)}
	data, err := readFileCapped(in.underRoot("/var/lib/dpkg/arch"), 4096)
	if err != nil {
		return archs
	}
	for _, a := range strings.Fields(string(data)) {
		if validDebName(a) && !slices.Contains(archs, a) {
			archs = append(archs, a)
		}
	}
	return archs
}

// dpkgStatus returns the installed package name from dpkg's status file,
// parsed again only when the file changed.
func (in *Inspector) dpkgStatus(name string) (DpkgPackage, error) {
	file := in.underRoot("/var/lib/dpkg/status")
	fi, err := os.Stat(file)
	if err != nil {
		return DpkgPackage{}, err
	}
	pkg, _, err := in.dpkg.lookup(name, statStamp(fi), func() (io.ReadCloser, error) { return os.Open(file) })
	return pkg, err
}

// rpmOwner asks rpm which package owns exe and returns it when it is one of
// names. rpm runs only on the real root, when installed.
func (in *Inspector) rpmOwner(ctx context.Context, exe string, names []string) (string, string, error) {
	run := in.runRPM
	if run == nil {
		if in.Root != "" && in.Root != "/" {
			return "", "", nil
		}
		bin, err := exec.LookPath("rpm")
		if err != nil {
			return "", "", nil // not an rpm system
		}
		run = func(ctx context.Context, p string) (string, error) { return execRPM(ctx, bin, p) }
	}
	out, runErr := run(ctx, exe)
	owners, err := parseRpmQFLines(out)
	switch {
	case errors.Is(err, ErrNotOwned):
		return "", "", nil
	case err != nil && runErr != nil:
		return "", "", runErr
	case err != nil:
		return "", "", err
	}
	for _, o := range owners {
		if slices.Contains(names, o.name) {
			return o.name, o.version, nil
		}
	}
	return "", "", nil
}

// execRPM runs rpm -qf on p. rpm exits 1 for a file no package owns; the
// output says so and is returned with the error.
func execRPM(ctx context.Context, bin, p string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, rpmTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-qf", "--queryformat", RPMQueryFormat, p)
	cmd.Env = []string{"LC_ALL=C", "PATH=/usr/bin:/bin"}
	var out cappedBuffer
	out.limit = 64 << 10
	cmd.Stdout = &out
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("%s -qf %s: %w", bin, p, err)
	}
	return out.String(), err
}

// cappedBuffer keeps the first limit bytes written to it.
type cappedBuffer struct {
	bytes.Buffer
	limit int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if room := b.limit - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// osMetaFS is metaFS on the real file system.
type osMetaFS struct{}

func (osMetaFS) lstat(name string) (fileMeta, error) {
	fi, err := os.Lstat(name)
	if err != nil {
		return fileMeta{}, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileMeta{}, fmt.Errorf("lstat %s: no owner information", name)
	}
	return fileMeta{uid: st.Uid, mode: fi.Mode()}, nil
}

func (osMetaFS) readlink(name string) (string, error) { return os.Readlink(name) }
