// Command checkdist checks what `goreleaser release` left in dist/ against
// .goreleaser.yml, as make release-check runs it after a snapshot release:
//
//   - one zip per os/arch the builds in .goreleaser.yml name (goos × goarch
//     without ignore, or targets), named as Packer expects,
//     <project>_v<version>_<api>_<os>_<arch>.zip, and no other zip;
//   - each zip holds one file, the binary of the same name (.exe on Windows),
//     executable, built for that os/arch with CGO_ENABLED=0 and -trimpath
//     from the plugin's module (its Go build info), whose version.Version is
//     the version and version.VersionPrerelease empty (read from its data:
//     binaries for other systems cannot run here);
//   - <project>_v<version>_SHA256SUMS lists every zip, and only those, each
//     with its SHA-256.
//
// With -extract DIR it writes the binary for this machine's os/arch there,
// for make release-check to run (describe, plugin-check, packer plugins
// install). It prints the artifacts it checked.
package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"

	"github.com/goreleaser/goreleaser/v2/pkg/config"
)

type target struct{ OS, Arch string }

func (t target) String() string { return t.OS + "_" + t.Arch }

func main() {
	cfgPath := flag.String("config", ".goreleaser.yml", "goreleaser configuration")
	dist := flag.String("dist", "dist", "goreleaser's output directory")
	version := flag.String("version", "", "the version the release must carry (no v)")
	module := flag.String("module", "", "the plugin's Go module path")
	extract := flag.String("extract", "", "directory to write this machine's binary to")
	flag.Parse()
	if *version == "" || *module == "" {
		fmt.Fprintln(os.Stderr, "checkdist: -version and -module are required")
		os.Exit(2)
	}
	if err := check(*cfgPath, *dist, *version, *module, *extract); err != nil {
		fmt.Fprintln(os.Stderr, "checkdist:", err)
		os.Exit(1)
	}
}

func check(cfgPath, dist, version, module, extract string) error {
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return err
	}
	project := cfg.ProjectName
	if !strings.HasPrefix(project, "packer-plugin-") {
		return fmt.Errorf("%s: project_name %q: Packer only loads binaries named packer-plugin-*", cfgPath, project)
	}
	api := ""
	for _, e := range cfg.Env {
		if v, ok := strings.CutPrefix(e, "API_VERSION="); ok {
			api = v
		}
	}
	if !regexp.MustCompile(`^x[0-9]+\.[0-9]+$`).MatchString(api) {
		return fmt.Errorf("%s: env API_VERSION is %q, want x<major>.<minor>", cfgPath, api)
	}
	targets, err := buildTargets(cfg)
	if err != nil {
		return fmt.Errorf("%s: %w", cfgPath, err)
	}

	prefix := fmt.Sprintf("%s_v%s_%s_", project, version, api)
	want := map[string]target{}
	for _, t := range targets {
		want[prefix+t.String()+".zip"] = t
	}
	found, err := filepath.Glob(filepath.Join(dist, "*.zip"))
	if err != nil {
		return err
	}
	var problems []string
	have := map[string]bool{}
	for _, f := range found {
		name := filepath.Base(f)
		have[name] = true
		if _, ok := want[name]; !ok {
			problems = append(problems, fmt.Sprintf("%s: an archive .goreleaser.yml does not name (want %s<os>_<arch>.zip)", name, prefix))
		}
	}
	names := make([]string, 0, len(want))
	for name := range want {
		names = append(names, name)
	}
	slices.Sort(names)
	sums := map[string]string{}
	for _, name := range names {
		if !have[name] {
			problems = append(problems, name+": missing from "+dist)
			continue
		}
		sum, err := checkZip(filepath.Join(dist, name), strings.TrimSuffix(name, ".zip"), want[name], version, module, extract)
		if err != nil {
			problems = append(problems, name+": "+err.Error())
			continue
		}
		sums[name] = sum
	}

	sumsName := fmt.Sprintf("%s_v%s_SHA256SUMS", project, version)
	listed, err := readSums(filepath.Join(dist, sumsName))
	if err != nil {
		problems = append(problems, err.Error())
	} else {
		for name, sum := range listed {
			if _, ok := want[name]; !ok {
				problems = append(problems, fmt.Sprintf("%s lists %s, which is not a release archive", sumsName, name))
			} else if s, ok := sums[name]; ok && s != sum {
				problems = append(problems, fmt.Sprintf("%s: SHA-256 %s, %s says %s", name, s, sumsName, sum))
			}
		}
		for _, name := range names {
			if _, ok := listed[name]; !ok {
				problems = append(problems, fmt.Sprintf("%s does not list %s", sumsName, name))
			}
		}
	}
	if len(problems) > 0 {
		return errors.New("the release is not what .goreleaser.yml describes:\n  " + strings.Join(problems, "\n  "))
	}
	fmt.Printf("checkdist: %d archives (one per os/arch in %s), each with one binary of version %s, and %s:\n",
		len(names), cfgPath, version, sumsName)
	for _, name := range names {
		fmt.Printf("  %s  %s\n", sums[name], name)
	}
	return nil
}

// buildTargets is every os/arch the builds produce: targets when a build
// lists them, else goos × goarch without the ignored pairs.
func buildTargets(cfg config.Project) ([]target, error) {
	var out []target
	seen := map[target]bool{}
	for i, b := range cfg.Builds {
		if b.Skip != "" && b.Skip != "false" {
			continue
		}
		var ts []target
		if len(b.Targets) > 0 {
			for _, s := range b.Targets {
				parts := strings.Split(s, "_")
				if len(parts) < 2 {
					return nil, fmt.Errorf("builds[%d]: target %q is not os_arch", i, s)
				}
				ts = append(ts, target{parts[0], parts[1]})
			}
		} else {
			if len(b.Goos) == 0 || len(b.Goarch) == 0 {
				return nil, fmt.Errorf("builds[%d]: no goos or goarch: name them (checkdist does not assume goreleaser's defaults)", i)
			}
			for _, os := range b.Goos {
				for _, arch := range b.Goarch {
					t := target{os, arch}
					if !slices.ContainsFunc(b.Ignore, func(ig config.IgnoredBuild) bool {
						return (ig.Goos == "" || ig.Goos == os) && (ig.Goarch == "" || ig.Goarch == arch)
					}) {
						ts = append(ts, t)
					}
				}
			}
		}
		for _, t := range ts {
			if seen[t] {
				return nil, fmt.Errorf("builds[%d]: %s is built twice: its archive names would collide", i, t)
			}
			seen[t] = true
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no build names an os/arch")
	}
	return out, nil
}

// checkZip checks one archive and returns its SHA-256.
func checkZip(path, binary string, t target, version, module, extract string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return "", err
	}
	if t.OS == "windows" {
		binary += ".exe"
	}
	if len(zr.File) != 1 || zr.File[0].Name != binary {
		var got []string
		for _, f := range zr.File {
			got = append(got, f.Name)
		}
		return "", fmt.Errorf("holds %q, want exactly %q", got, binary)
	}
	f := zr.File[0]
	if t.OS != "windows" && f.Mode()&0o111 == 0 {
		return "", fmt.Errorf("%s is not executable (mode %v)", binary, f.Mode())
	}
	rc, err := f.Open()
	if err != nil {
		return "", err
	}
	bin, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return "", err
	}
	bi, err := buildinfo.Read(bytes.NewReader(bin))
	if err != nil {
		return "", fmt.Errorf("%s: no Go build info: %w", binary, err)
	}
	if bi.Main.Path != module {
		return "", fmt.Errorf("%s is built from %q, want %q", binary, bi.Main.Path, module)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	for k, v := range map[string]string{"GOOS": t.OS, "GOARCH": t.Arch, "CGO_ENABLED": "0", "-trimpath": "true"} {
		if settings[k] != v {
			return "", fmt.Errorf("%s: build setting %s=%q, want %q", binary, k, settings[k], v)
		}
	}
	// The version the binary reports: version.Version and
	// version.VersionPrerelease as -ldflags -X set them, read from its data
	// through its symbol table (Go leaves -ldflags out of the build info of
	// a -trimpath build).
	for name, want := range map[string]string{"Version": version, "VersionPrerelease": ""} {
		got, err := stringVar(bin, t, module+"/version."+name)
		if err != nil {
			return "", fmt.Errorf("%s: %w", binary, err)
		}
		if got != want {
			return "", fmt.Errorf("%s: version.%s is %q, want %q", binary, name, got, want)
		}
	}
	if extract != "" && t.OS == runtime.GOOS && t.Arch == runtime.GOARCH {
		if err := os.MkdirAll(extract, 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(extract, binary), bin, 0o755); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(sum[:]), nil
}

// readSums reads a SHA256SUMS file: "<hex>  <name>" lines.
func readSums(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok || len(sum) != 64 {
			return nil, fmt.Errorf("%s:%d: not a sha256sum line: %q", path, n, sc.Text())
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("%s:%d: %s listed twice", path, n, name)
		}
		out[name] = sum
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s is empty", path)
	}
	return out, nil
}

// stringVar reads the Go string variable sym (a package path and name) from
// an ELF, Mach-O or PE binary of t: its string header (pointer, length) in
// the data, then the bytes it points to. It needs the symbol table (no -s).
func stringVar(bin []byte, t target, sym string) (string, error) {
	ptrSize, order := 8, binary.ByteOrder(binary.LittleEndian)
	switch t.Arch {
	case "amd64", "arm64", "riscv64", "loong64":
	case "386", "arm":
		ptrSize = 4
	default:
		return "", fmt.Errorf("checkdist cannot read %s binaries", t.Arch)
	}
	type segment struct {
		addr uint64
		data func() ([]byte, error)
	}
	var segs []segment
	var addr uint64
	found := false
	r := bytes.NewReader(bin)
	switch t.OS {
	case "windows":
		f, err := pe.NewFile(r)
		if err != nil {
			return "", err
		}
		var base uint64
		switch oh := f.OptionalHeader.(type) {
		case *pe.OptionalHeader64:
			base = oh.ImageBase
		case *pe.OptionalHeader32:
			base = uint64(oh.ImageBase)
		}
		for _, s := range f.Sections {
			segs = append(segs, segment{base + uint64(s.VirtualAddress), s.Data})
		}
		for _, s := range f.Symbols {
			if s.Name == sym && s.SectionNumber > 0 && int(s.SectionNumber) <= len(f.Sections) {
				addr, found = base+uint64(f.Sections[s.SectionNumber-1].VirtualAddress)+uint64(s.Value), true
			}
		}
	case "darwin", "ios":
		f, err := macho.NewFile(r)
		if err != nil {
			return "", err
		}
		for _, s := range f.Sections {
			segs = append(segs, segment{s.Addr, s.Data})
		}
		if f.Symtab != nil {
			for _, s := range f.Symtab.Syms {
				if s.Name == sym || s.Name == "_"+sym {
					addr, found = s.Value, true
				}
			}
		}
	default:
		f, err := elf.NewFile(r)
		if err != nil {
			return "", err
		}
		for _, s := range f.Sections {
			if s.Type != elf.SHT_NOBITS && s.Flags&elf.SHF_ALLOC != 0 {
				segs = append(segs, segment{s.Addr, s.Data})
			}
		}
		syms, err := f.Symbols()
		if err != nil {
			return "", fmt.Errorf("no symbol table (built with -s?): %w", err)
		}
		for _, s := range syms {
			if s.Name == sym {
				addr, found = s.Value, true
			}
		}
	}
	if !found {
		return "", fmt.Errorf("no symbol %s (built with -s?)", sym)
	}
	read := func(at, n uint64) ([]byte, error) {
		for _, s := range segs {
			data, err := s.data()
			if err != nil || at < s.addr || at+n > s.addr+uint64(len(data)) {
				continue
			}
			return data[at-s.addr : at-s.addr+n], nil
		}
		return nil, fmt.Errorf("address %#x+%d is in no section", at, n)
	}
	hdr, err := read(addr, uint64(2*ptrSize))
	if err != nil {
		return "", fmt.Errorf("%s: %w", sym, err)
	}
	var ptr, n uint64
	if ptrSize == 8 {
		ptr, n = order.Uint64(hdr), order.Uint64(hdr[8:])
	} else {
		ptr, n = uint64(order.Uint32(hdr)), uint64(order.Uint32(hdr[4:]))
	}
	if n == 0 {
		return "", nil
	}
	if n > 1<<16 {
		return "", fmt.Errorf("%s: string of %d bytes: not a string variable", sym, n)
	}
	b, err := read(ptr, n)
	if err != nil {
		return "", fmt.Errorf("%s: %w", sym, err)
	}
	return string(b), nil
}
