package docs

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The repository's own Markdown: every relative link and every link to this
// repository on GitHub resolves.
func TestRepositoryLinks(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	files, err := MarkdownFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	// The pages a newcomer starts from must be among those checked.
	for _, want := range []string{"README.md", "CONTRIBUTING.md", "docs/README.md", "docs/provisioners/ami-harden.mdx",
		"docs/steps.md", "docs/sources.md", ".web-docs/README.md", ".web-docs/components/provisioner/ami-harden/README.md"} {
		if !contains(files, want) {
			t.Errorf("%s is not checked (found %d files)", want, len(files))
		}
	}
	problems, err := Check(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// The docs once cited a seeds/ folder that is not in the repository; sources
// are cited by a link into docs/sources.md.
func TestNoSeedsFolderCitations(t *testing.T) {
	root := filepath.Join("..", "..")
	files, err := MarkdownFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		text, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(text), "\n") {
			if strings.Contains(line, "seeds/") {
				t.Errorf("%s:%d cites seeds/, a folder the repository does not have: link to docs/sources.md", f, i+1)
			}
		}
	}
}

// The checker bites: a tiny repository with one link of each kind, good and
// broken.
func TestCheckFindsBrokenLinks(t *testing.T) {
	root := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("docs/steps.md", "# Steps\n\n## sshd\n\n### temp\n\n### temp\n\n### accounts (Windows)\n\n<a id=\"custom\"></a>\n")
	write("docs/data.json", "{}\n")
	write("example/audit/audit.pkr.hcl", "\n")
	write("bin/ignored.md", "[gone](nowhere.md)\n")
	write("docs-partials/p.mdx", "[relative to the including page](x.md)\n")
	write("README.md", strings.Join([]string{
		"# Top",
		"[good](docs/steps.md) [good anchor](docs/steps.md#sshd) [second temp](docs/steps.md#temp-1)",
		"[windows](docs/steps.md#accounts-windows) [html id](docs/steps.md#custom) [self](#top)",
		"[folder](example/audit/) [json](docs/data.json) [root-relative](/docs/steps.md)",
		"[missing file](docs/nope.md)",
		"[missing anchor](docs/steps.md#nope)",
		"[missing self anchor](#nowhere)",
		"[outside](../outside.md)",
		"[blob](" + RepoURL + "/blob/main/docs/steps.md#sshd) [tree](" + RepoURL + "/tree/main/example/audit)",
		"[blob missing](" + RepoURL + "/blob/main/docs/gone.md)",
		"<" + RepoURL + "/blob/main/docs/gone2.md>",
		"[issue](" + RepoURL + "/issues/14) [elsewhere](https://example.com/nope.md) [registry](/packer/integrations/x)",
		"`[code span](docs/nope2.md)` and `` `[double](docs/nope3.md)` ``",
		"```md",
		"[fenced](docs/nope4.md)",
		"```",
		"- item",
		"  ~~~",
		"  [indented fence](docs/nope5.md)",
		"  ~~~",
		"[after the fences](docs/nope6.md)",
		"[titled](docs/steps.md \"a title\") [angle](<docs/steps.md>)",
		"[ref]: docs/nope7.md",
		"",
	}, "\n"))

	problems, err := Check(root)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range problems {
		got = append(got, p.String())
	}
	want := []string{
		"README.md:5: docs/nope.md: no such file: docs/nope.md",
		"README.md:6: docs/steps.md#nope: no heading #nope in docs/steps.md",
		"README.md:7: #nowhere: no heading #nowhere in README.md",
		"README.md:8: ../outside.md: leaves the repository",
		"README.md:10: " + RepoURL + "/blob/main/docs/gone.md: no such file: docs/gone.md",
		"README.md:11: " + RepoURL + "/blob/main/docs/gone2.md: no such file: docs/gone2.md",
		"README.md:21: docs/nope6.md: no such file: docs/nope6.md",
		"README.md:23: docs/nope7.md: no such file: docs/nope7.md",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestSlug(t *testing.T) {
	for heading, want := range map[string]string{
		"Windows: what was checked, and what rests on reading": "windows-what-was-checked-and-what-rests-on-reading",
		"On a running machine: the build's own shutdown":       "on-a-running-machine-the-builds-own-shutdown",
		"accounts (Windows)":             "accounts-windows",
		"Steps (Linux)":                  "steps-linux",
		"report_file":                    "report_file",
		"`junit_file` and [links](x.md)": "junit_file-and-links",
		"AWS Security Best Practices whitepaper (2016)": "aws-security-best-practices-whitepaper-2016",
		"Image-sharing security guide (Alibaba Cloud)":  "image-sharing-security-guide-alibaba-cloud",
	} {
		if got := Slug(heading); got != want {
			t.Errorf("Slug(%q) = %q, want %q", heading, got, want)
		}
	}
}

func TestAnchorsNumberRepeatsAndSkipFences(t *testing.T) {
	got := Anchors("# temp\n\n## temp ##\n\n```\n# not a heading\n```\n\n### temp\n")
	want := map[string]bool{"temp": true, "temp-1": true, "temp-2": true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Anchors = %v, want %v", got, want)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
