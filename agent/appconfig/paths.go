package appconfig

// osPaths says where one kind of file of an app lives, relative to the
// user's home directory, per OS. Paths are slash separated; on Windows they
// are relative to the profile directory (C:\Users\<name>), with %APPDATA%
// = AppData/Roaming and %LOCALAPPDATA% = AppData/Local as Windows lays them
// out by default (a redirected AppData folder is not followed). The column
// for the running OS is picked by current(), defined per OS by file suffix;
// the table itself is data, so every column is tested on every OS.
//
// Electron apps keep their files in app.getPath("userData"), which is
// <appData>/<productName>: ~/.config on Linux (a Flatpak's
// ~/.var/app/<id>/config, a Snap's ~/snap/<name>/current/.config),
// %APPDATA% on Windows and ~/Library/Application Support on macOS
// (https://www.electronjs.org/docs/latest/api/app#appgetpathname).
type osPaths struct {
	Linux   []string
	Windows []string
	Darwin  []string
}

// electronUserData returns the userData directories of an Electron app
// whose product name is product, for its Flatpak id and Snap name (either
// may be empty), plus extra macOS directories (a Mac App Store build's
// sandbox container).
func electronUserData(product, flatpak, snap string, darwinExtra ...string) osPaths {
	p := osPaths{
		Linux:   []string{".config/" + product},
		Windows: []string{"AppData/Roaming/" + product},
		Darwin:  []string{"Library/Application Support/" + product},
	}
	if flatpak != "" {
		p.Linux = append(p.Linux, ".var/app/"+flatpak+"/config/"+product)
	}
	if snap != "" {
		p.Linux = append(p.Linux, "snap/"+snap+"/current/.config/"+product)
	}
	p.Darwin = append(p.Darwin, darwinExtra...)
	return p
}

// join appends a relative path to every directory of every OS.
func (p osPaths) join(rel string) osPaths {
	j := func(dirs []string) []string {
		out := make([]string, 0, len(dirs))
		for _, d := range dirs {
			out = append(out, d+"/"+rel)
		}
		return out
	}
	return osPaths{Linux: j(p.Linux), Windows: j(p.Windows), Darwin: j(p.Darwin)}
}
