package main

import (
	"archive/zip"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goreleaser/goreleaser/v2/pkg/config"
)

const fakeModule = "example.com/packer-plugin-fake"

// fakeRelease builds a tiny module with a version package for each target,
// as goreleaser would (-trimpath, -w, -X), zips it and writes SHA256SUMS.
// ldflags maps an os_arch to other -X flags than the release's.
func fakeRelease(t *testing.T, targets []target, version string, ldflags map[string]string) (cfg, dist string) {
	t.Helper()
	src := t.TempDir()
	for name, text := range map[string]string{
		"go.mod":             "module " + fakeModule + "\n\ngo 1.24\n",
		"main.go":            "package main\n\nimport \"" + fakeModule + "/version\"\n\nfunc main() { println(version.Version + version.VersionPrerelease) }\n",
		"version/version.go": "package version\n\nvar (\n\tVersion = \"0.0.1\"\n\tVersionPrerelease = \"dev\"\n)\n",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(src, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var goos, goarch []string
	for _, tg := range targets {
		if !strings.Contains(strings.Join(goos, " "), tg.OS) {
			goos = append(goos, tg.OS)
		}
		if !strings.Contains(strings.Join(goarch, " "), tg.Arch) {
			goarch = append(goarch, tg.Arch)
		}
	}
	cfg = filepath.Join(src, ".goreleaser.yml")
	conf := fmt.Sprintf("version: 2\nproject_name: packer-plugin-fake\nenv:\n  - API_VERSION=x5.0\nbuilds:\n  - goos: [%s]\n    goarch: [%s]\n",
		strings.Join(goos, ", "), strings.Join(goarch, ", "))
	// Every os × arch pair that is not a target is ignored.
	var ignore []string
	for _, o := range goos {
		for _, a := range goarch {
			want := false
			for _, tg := range targets {
				want = want || tg == target{o, a}
			}
			if !want {
				ignore = append(ignore, fmt.Sprintf("      - goos: %s\n        goarch: %s\n", o, a))
			}
		}
	}
	if len(ignore) > 0 {
		conf += "    ignore:\n" + strings.Join(ignore, "")
	}
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}

	dist = t.TempDir()
	var sums strings.Builder
	for _, tg := range targets {
		name := fmt.Sprintf("packer-plugin-fake_v%s_x5.0_%s", version, tg)
		bin := name
		if tg.OS == "windows" {
			bin += ".exe"
		}
		x := ldflags[tg.String()]
		if x == "" {
			x = fmt.Sprintf("-X %s/version.Version=%s -X %s/version.VersionPrerelease=", fakeModule, version, fakeModule)
		}
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-w "+x, "-o", filepath.Join(src, bin), ".")
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+tg.OS, "GOARCH="+tg.Arch, "GOFLAGS=-buildvcs=false")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", tg, err, out)
		}
		zipPath := filepath.Join(dist, name+".zip")
		zf, err := os.Create(zipPath)
		if err != nil {
			t.Fatal(err)
		}
		zw := zip.NewWriter(zf)
		hdr := &zip.FileHeader{Name: bin, Method: zip.Deflate}
		hdr.SetMode(0o755)
		w, err := zw.CreateHeader(hdr)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(src, bin))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(b); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := zf.Close(); err != nil {
			t.Fatal(err)
		}
		z, err := os.ReadFile(zipPath)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&sums, "%x  %s\n", sha256.Sum256(z), name+".zip")
	}
	if err := os.WriteFile(filepath.Join(dist, "packer-plugin-fake_v"+version+"_SHA256SUMS"), []byte(sums.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg, dist
}

// One binary of each format checkdist reads: ELF, PE, Mach-O.
var fakeTargets = []target{{"linux", "amd64"}, {"windows", "amd64"}, {"darwin", "arm64"}}

func TestCheckGoodRelease(t *testing.T) {
	cfg, dist := fakeRelease(t, fakeTargets, "1.2.3", nil)
	extract := t.TempDir()
	if err := check(cfg, dist, "1.2.3", fakeModule, extract); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(extract, "packer-plugin-fake_v1.2.3_x5.0_linux_amd64")); err != nil {
		t.Errorf("this machine's binary was not extracted: %v", err)
	}
}

func TestCheckBadReleases(t *testing.T) {
	dev := fmt.Sprintf("-X %s/version.Version=1.2.3", fakeModule) // prerelease stays "dev"
	other := fmt.Sprintf("-X %s/version.Version=1.2.4 -X %s/version.VersionPrerelease=", fakeModule, fakeModule)
	for _, c := range []struct {
		name    string
		ldflags map[string]string
		mangle  func(t *testing.T, dist string)
		want    string
	}{
		{"prerelease left (PE)", map[string]string{"windows_amd64": dev}, nil,
			`windows_amd64.exe: version.VersionPrerelease is "dev", want ""`},
		{"other version (Mach-O)", map[string]string{"darwin_arm64": other}, nil,
			`darwin_arm64: version.Version is "1.2.4", want "1.2.3"`},
		{"stripped (ELF)", map[string]string{"linux_amd64": "-s " + other}, nil, "linux_amd64: no symbol table"},
		{"archive missing", nil, func(t *testing.T, dist string) {
			rm(t, filepath.Join(dist, "packer-plugin-fake_v1.2.3_x5.0_darwin_arm64.zip"))
		}, "packer-plugin-fake_v1.2.3_x5.0_darwin_arm64.zip: missing from"},
		{"archive extra", nil, func(t *testing.T, dist string) {
			cp(t, filepath.Join(dist, "packer-plugin-fake_v1.2.3_x5.0_linux_amd64.zip"), filepath.Join(dist, "packer-plugin-fake_v1.2.3_x5.0_plan9_amd64.zip"))
		}, "plan9_amd64.zip: an archive .goreleaser.yml does not name"},
		{"sum wrong", nil, func(t *testing.T, dist string) {
			sums := filepath.Join(dist, "packer-plugin-fake_v1.2.3_SHA256SUMS")
			b, err := os.ReadFile(sums)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(sums, []byte("0"+string(b[1:])), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "_SHA256SUMS says 0"},
		{"sum missing", nil, func(t *testing.T, dist string) {
			sums := filepath.Join(dist, "packer-plugin-fake_v1.2.3_SHA256SUMS")
			b, err := os.ReadFile(sums)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.SplitAfter(string(b), "\n")
			if err := os.WriteFile(sums, []byte(strings.Join(lines[1:], "")), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "_SHA256SUMS does not list"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, dist := fakeRelease(t, fakeTargets, "1.2.3", c.ldflags)
			if c.mangle != nil {
				c.mangle(t, dist)
			}
			err := check(cfg, dist, "1.2.3", fakeModule, "")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("check: %v\nwant an error with %q", err, c.want)
			}
		})
	}
}

// goos × goarch without the ignored pairs: windows/arm64 is not a target.
func TestBuildTargetsIgnore(t *testing.T) {
	want := []target{{"linux", "amd64"}, {"linux", "arm64"}, {"windows", "amd64"}}
	cfgPath, dist := fakeRelease(t, want, "1.0.0", nil)
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	got, err := buildTargets(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("targets %v, want %v", got, want)
	}
	if err := check(cfgPath, dist, "1.0.0", fakeModule, ""); err != nil {
		t.Fatal(err)
	}
}

func rm(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

func cp(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
