package script

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These run the secrets step's own functions in a real sh, on files made
// here in a temporary directory: the kinds (grep with secret_any, then the
// awk classifier) and the dependency trees (dep_tree). They only read those
// files; nothing of the hardening runs.

// shellFuncs is a sh prelude: the step's helpers defined, and the globals
// they use set, with $work in dir.
func shellFuncs(t *testing.T, work string) string {
	t.Helper()
	return "set -u\nwork=" + Quote(work) + "\ntab=$(printf '\\t')\nnl='\n'\nsoh=$(printf '\\001')\n" +
		withoutDirective(file("linux/lib/reporting.sh")) + withoutDirective(file("linux/steps/secrets.kinds.sh")) +
		withoutDirective(file("linux/steps/secrets.deps.sh"))
}

func runSh(t *testing.T, script string) string {
	t.Helper()
	out, err := exec.Command("sh", "-c", script).CombinedOutput()
	require.NoError(t, err, string(out))
	return string(out)
}

// classify writes each line to a file of its own and returns, per line, the
// kinds the step names for it ("" for none).
func classify(t *testing.T, lines []string) []string {
	t.Helper()
	dir := t.TempDir()
	var names []string
	for i, l := range lines {
		name := filepath.Join(dir, fmt.Sprintf("f%03d.txt", i))
		require.NoError(t, os.WriteFile(name, []byte(l+"\n"), 0o644))
		names = append(names, Quote(name))
	}
	out := runSh(t, shellFuncs(t, dir)+"\ngrep -I -n -H -Z -E -e \"$secret_any\" -- "+strings.Join(names, " ")+
		" | tr '\\0' '\\001' | awk \"$secret_classify\"; true\n")
	got := make([]string, len(lines))
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		rank, l, ok := strings.Cut(l, "\t")
		require.True(t, ok && (rank == "0" || rank == "1"), "no rank: %q", l)
		var i int
		_, err := fmt.Sscanf(filepath.Base(l), "f%03d.txt:1", &i)
		require.NoError(t, err, l)
		got[i] = l[strings.Index(l, ":1 ")+3:]
	}
	return got
}

// Each kind is found in a line of its shape, and not in a line that only
// looks like it. The values are made here from their published shapes
// (prefix, length, alphabet), never real.
func TestSecretKinds(t *testing.T) {
	r := strings.Repeat
	b64 := base64.StdEncoding.EncodeToString([]byte("deploy:" + r("s3cr", 4)))
	cases := []struct{ line, want string }{
		{"AWS_ACCESS_KEY_ID=AKIA" + r("Q7", 8), "AWS access key id"},
		{"aws_access_key_id = AKIAIOSFODNN7EXAMPLE", ""},
		{"-----BEGIN OPENSSH PRIVATE KEY-----", "private key"},
		{`{"auths": {"registry.internal": {"auth": "` + b64 + `"}}}`, "registry auth"},
		{`{"auths": {"registry.internal": {"auth": ""}}}`, ""},
		{`  "private_key_id": "` + r("a1", 20) + `",`, "Google service account key"},
		{`  "private_key_id": "your-private-key-id",`, ""},
		{"DefaultEndpointsProtocol=https;AccountName=appstore;AccountKey=" + r("Ab1+", 21) + "Ab==;EndpointSuffix=core.windows.net", "Azure storage key"},
		{"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + r("Eb8v", 21) + "Gw==", ""},
		{"OPENAI_API_KEY=sk-" + r("a", 20) + "T3BlbkFJ" + r("b", 20), "OpenAI API key"},
		{"OPENAI_API_KEY=sk-proj-" + r("A", 64) + "T3BlbkFJ" + r("B", 64), "OpenAI API key"},
		{"OPENAI_API_KEY=sk-" + r("a", 48), ""},
		{"ANTHROPIC_API_KEY=sk-ant-api03-" + r("x", 93) + "AA", "Anthropic API key"},
		{"ANTHROPIC_API_KEY=sk-ant-api03-..." + r("x", 10), ""},
		{"HF_TOKEN=hf_" + r("a", 34), "Hugging Face token"},
		{"pdf_" + r("a", 34), ""},
		{"password = pypi-AgEIcHlwaS5vcmc" + r("Ab_-", 15), "PyPI token"},
		{"pypi-AgEIcHlwaS5vcmc", ""},
		{"SENDGRID=SG." + r("a", 22) + "." + r("b", 43), "SendGrid key"},
		{"MSG." + r("a", 22) + "." + r("b", 43), ""},
		{"DO_TOKEN=dop_v1_" + r("a0", 32), "DigitalOcean token"},
		{"DO_TOKEN=dop_v1_" + r("g", 64), ""},
		{"VAULT_TOKEN=hvs." + r("A", 95), "Vault token"},
		{"VAULT_TOKEN=hvs.CAESI", ""},
		{`token = "` + r("a", 14) + ".atlasv1." + r("b", 64) + `"`, "Terraform Cloud token"},
		{`token = "app.atlasv1.` + r("b", 20) + `"`, ""},
		{"shpat_" + r("a1", 16), "Shopify token"},
		{"shpat_" + r("z", 32), ""},
		{"AGE-SECRET-KEY-1" + r("Q", 58), "age secret key"},
		{"AGE-SECRET-KEY-1" + r("B", 58), ""},
		{"token: dapi" + r("a1", 16), "Databricks token"},
		{"rapidapi" + r("a1", 16), ""},
		{"glsa_" + r("a", 32) + "_" + r("f", 8), "Grafana token"},
		{"glsa_" + r("a", 32) + "_" + r("z", 8), ""},
		{"PMAK-" + r("a", 24) + "-" + r("b", 34), "Postman key"},
		{"PMAK-" + r("a", 24), ""},
		{"dp.pt." + r("a", 43), "Doppler token"},
		{"dp.pt." + r("a", 12), ""},
		{"dckr_pat_" + r("a", 27), "Docker Hub token"},
		{"dckr_pat_short", ""},
		{"CI_TOKEN=glrt-" + r("a", 20), "GitLab token"},
		{"glptt-" + r("a1", 20), "GitLab token"},
		{"glptt-" + r("z", 40), ""},
		{"xapp-1-A0123-1234567890-abcdef0123", "Slack token"},
		{"xapp-x-A0123", ""},
		{"DATABASE_URL=postgres://app:Zq8vR2mW9xLp@db.internal:5432/app", "URL with a password"},
		{"http://u:Zq8vR2mW9xLp@localhost:8080/", "URL with a password"},
		{"postgres://user:pass@localhost/db", ""},
		{"https://user:password@example.com/", ""},
		{"mysql://root:Zq8vR2mW9xLp@db.example.org/app", ""},
		{"amqp://guest:Zq8vR2mW9xLp@broker.test/", ""},
		{"redis://default:changeme@redis:6379", ""},
		{"postgres://app:${DB_PASSWORD}@db/app", ""},
		// pip's configuration (/etc/pip.conf, pip.conf in a home): a login
		// is a password in the index URL; a documentation host is none.
		{"index-url = https://ci:Zq8vR2mW9xLp@pypi.corp.internal/simple", "URL with a password"},
		{"extra-index-url=https://deploy:p%40ss-Zq8vR2mW@nexus.acme.io/repository/pypi/simple/", "URL with a password"},
		{"index-url = https://user:s3cret@pypi.example.com/simple", ""},
		{"index-url = https://pypi.corp.internal/simple", ""},
	}
	var lines []string
	for _, c := range cases {
		lines = append(lines, c.line)
	}
	got := classify(t, lines)
	for i, c := range cases {
		assert.Equal(t, c.want, got[i], "line %q", c.line)
	}
}

// secretPrelude writes nothing: dep_tree DIR, then the vouched files and the
// notes, sorted, relative to root.
func depTree(t *testing.T, root, dir string) (vouched []string, notes string) {
	t.Helper()
	work := t.TempDir()
	runSh(t, shellFuncs(t, work)+": >\"$work/dep.vouched\"; : >\"$work/dep.notes\"\ndep_tree "+Quote(dir)+" || echo no >\"$work/dep.none\"\n")
	b, err := os.ReadFile(filepath.Join(work, "dep.vouched"))
	require.NoError(t, err)
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l != "" {
			rel, err := filepath.Rel(root, l)
			require.NoError(t, err)
			vouched = append(vouched, rel)
		}
	}
	sort.Strings(vouched)
	n, err := os.ReadFile(filepath.Join(work, "dep.notes"))
	require.NoError(t, err)
	if _, err := os.Stat(filepath.Join(work, "dep.none")); err == nil {
		notes = "not a dependency tree"
	}
	return vouched, notes + string(n)
}

// write makes the files of a tree, each with its modification time.
func write(t *testing.T, root string, files map[string]string, at time.Time) {
	t.Helper()
	for name, text := range files {
		p := filepath.Join(root, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
		require.NoError(t, os.Chtimes(p, at, at))
	}
}

// npm: the files of the package folders that node_modules/.package-lock.json
// lists, unchanged since npm wrote it; not a file of no package, nor one
// written later.
func TestDepTreeNpm(t *testing.T) {
	root := t.TempDir()
	old, lock, later := time.Now().Add(-time.Hour), time.Now().Add(-50*time.Minute), time.Now().Add(-time.Minute)
	write(t, root, map[string]string{
		"app/node_modules/express/index.js":                    "x",
		"app/node_modules/@scope/pkg/lib/a.js":                 "x",
		"app/node_modules/express/node_modules/debug/index.js": "x",
		"app/node_modules/unlisted/index.js":                   "x",
		"app/node_modules/.cache/babel/x.json":                 "x",
	}, old)
	write(t, root, map[string]string{"app/node_modules/.package-lock.json": `{
  "name": "app",
  "lockfileVersion": 3,
  "packages": {
    "node_modules/@scope/pkg": {
      "version": "1.0.0"
    },
    "node_modules/express": {
      "version": "5.0.0"
    },
    "node_modules/express/node_modules/debug": {
      "version": "4.0.0"
    }
  }
}
`}, lock)
	write(t, root, map[string]string{"app/node_modules/.npmrc": "x", "app/node_modules/express/.env": "x"}, later)
	vouched, notes := depTree(t, root, filepath.Join(root, "app/node_modules"))
	assert.Equal(t, []string{
		"app/node_modules/@scope/pkg/lib/a.js",
		"app/node_modules/express/index.js",
		"app/node_modules/express/node_modules/debug/index.js",
	}, vouched)
	assert.Contains(t, notes, "1 file(s) of npm's packages changed after npm recorded the install")
}

// goDirHash is Go's dirhash.Hash1 (golang.org/x/mod/sumdb/dirhash), written
// again here from its definition: a line "SHA256  NAME" per file, names
// sorted, and the SHA-256 of those lines in base64.
func goDirHash(prefix string, files map[string]string) string {
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%x  %s\n", sha256.Sum256([]byte(files[n])), prefix+"/"+n)
	}
	return "h1:" + base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// Go: a module whose files hash to the .ziphash Go wrote when it downloaded
// it (escaped path and version: capitals as !x), and Go's own records; a
// module changed since is scanned, and said.
func TestDepTreeGo(t *testing.T) {
	root := t.TempDir()
	mod := filepath.Join(root, "go/pkg/mod")
	good := map[string]string{"go.mod": "module example.com/MyMod\n", "a/test.pem": "-----BEGIN PRIVATE KEY-----\n", "a.go": "package a\n"}
	bad := map[string]string{"go.mod": "module example.com/other\n", "b.go": "package b\n"}
	for dir, files := range map[string]map[string]string{"example.com/!my!mod@v1.0.0-!r!c1": good, "example.com/other@v0.1.0": bad} {
		write(t, mod, prefixed(dir, files), time.Now())
	}
	write(t, mod, map[string]string{
		"cache/download/example.com/!my!mod/@v/v1.0.0-!r!c1.ziphash": goDirHash("example.com/MyMod@v1.0.0-RC1", good),
		"cache/download/example.com/!my!mod/@v/v1.0.0-!r!c1.zip":     "PK",
		"cache/download/example.com/!my!mod/@v/list":                 "v1.0.0-RC1\n",
		"cache/download/example.com/other/@v/v0.1.0.ziphash":         goDirHash("example.com/other@v0.1.0", bad),
		"cache/download/example.com/other/@v/v0.1.0.mod":             "module example.com/other\n",
		"cache/vcs/abc/config":                                       "[core]\n",
	}, time.Now())
	// Changed after Go unpacked it.
	write(t, mod, map[string]string{"example.com/other@v0.1.0/b.go": "package b // changed\n"}, time.Now())
	vouched, notes := depTree(t, root, mod)
	assert.Equal(t, []string{
		"go/pkg/mod/cache/download/example.com/!my!mod/@v/list",
		"go/pkg/mod/cache/download/example.com/!my!mod/@v/v1.0.0-!r!c1.zip",
		"go/pkg/mod/cache/download/example.com/!my!mod/@v/v1.0.0-!r!c1.ziphash",
		"go/pkg/mod/cache/download/example.com/other/@v/v0.1.0.mod",
		"go/pkg/mod/cache/download/example.com/other/@v/v0.1.0.ziphash",
		"go/pkg/mod/example.com/!my!mod@v1.0.0-!r!c1/a.go",
		"go/pkg/mod/example.com/!my!mod@v1.0.0-!r!c1/a/test.pem",
		"go/pkg/mod/example.com/!my!mod@v1.0.0-!r!c1/go.mod",
	}, vouched)
	assert.Contains(t, notes, "1 module(s) do not hash to what Go recorded when it downloaded them (cache/download), so they were scanned: example.com/other@v0.1.0")
}

func prefixed(dir string, files map[string]string) map[string]string {
	out := map[string]string{}
	for n, text := range files {
		out[dir+"/"+n] = text
	}
	return out
}

// Python: a file whose SHA-256 is the one its RECORD lists (URL-safe
// base64 without padding), and the RECORD; not a file no RECORD lists, nor
// one changed since.
func TestDepTreePip(t *testing.T) {
	root := t.TempDir()
	sp := filepath.Join(root, "venv/lib/python3.11/site-packages")
	files := map[string]string{"pkg/__init__.py": "x = 1\n", "pkg/data, with comma.txt": "data\n", "pkg/changed.py": "y = 1\n"}
	var record strings.Builder
	for _, n := range []string{"pkg/__init__.py", "pkg/data, with comma.txt", "pkg/changed.py"} {
		sum := sha256.Sum256([]byte(files[n]))
		name := n
		if strings.Contains(n, ",") {
			name = `"` + n + `"`
		}
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", name, base64.RawURLEncoding.EncodeToString(sum[:]), len(files[n]))
	}
	record.WriteString("pkg-1.0.dist-info/RECORD,,\n../../../bin/tool,sha256=x,1\n")
	files["pkg-1.0.dist-info/RECORD"] = record.String()
	files["pkg/changed.py"] = "y = 2\n"
	files["pkg/.env"] = "unlisted\n"
	write(t, sp, files, time.Now())
	vouched, _ := depTree(t, root, sp)
	assert.Equal(t, []string{
		"venv/lib/python3.11/site-packages/pkg-1.0.dist-info/RECORD",
		"venv/lib/python3.11/site-packages/pkg/__init__.py",
		"venv/lib/python3.11/site-packages/pkg/data, with comma.txt",
	}, vouched)
}

// Maven: a file whose SHA-1 is the one its .sha1 holds, and that .sha1.
func TestDepTreeMaven(t *testing.T) {
	root := t.TempDir()
	repo := filepath.Join(root, ".m2/repository")
	pom := "<project/>\n"
	sum := sha1.Sum([]byte(pom))
	write(t, repo, map[string]string{
		"org/ex/lib/1.0/lib-1.0.pom":          pom,
		"org/ex/lib/1.0/lib-1.0.pom.sha1":     hex.EncodeToString(sum[:]) + "  lib-1.0.pom\n",
		"org/ex/lib/1.0/lib-1.0.jar":          "changed",
		"org/ex/lib/1.0/lib-1.0.jar.sha1":     hex.EncodeToString(sum[:]) + "\n",
		"org/ex/lib/1.0/_remote.repositories": "x\n",
	}, time.Now())
	vouched, _ := depTree(t, root, repo)
	assert.Equal(t, []string{".m2/repository/org/ex/lib/1.0/lib-1.0.pom", ".m2/repository/org/ex/lib/1.0/lib-1.0.pom.sha1"}, vouched)
}

// Cargo: an unpacked crate's files unchanged since .cargo-ok, the index and
// the archives; RubyGems: a gem's files unchanged since its specification;
// Composer: a listed package's files unchanged since installed.json.
func TestDepTreeCargoGemsComposer(t *testing.T) {
	root := t.TempDir()
	old, mark, later := time.Now().Add(-time.Hour), time.Now().Add(-50*time.Minute), time.Now().Add(-time.Minute)
	write(t, root, map[string]string{
		".cargo/registry/src/index.crates.io-1/serde-1.0.0/src/lib.rs": "x",
		".cargo/registry/cache/index.crates.io-1/serde-1.0.0.crate":    "x",
		".cargo/registry/index/index.crates.io-1/config.json":          "x",
		"gems/3.1.0/gems/rake-13.0.6/lib/rake.rb":                      "x",
		"app/vendor/monolog/monolog/src/Logger.php":                    "x",
		"app/vendor/autoload.php":                                      "x",
	}, old)
	write(t, root, map[string]string{
		".cargo/registry/src/index.crates.io-1/serde-1.0.0/.cargo-ok": `{"v":1}`,
		"gems/3.1.0/specifications/rake-13.0.6.gemspec":               "x",
		"app/vendor/composer/installed.json": `{
    "packages": [
        {
            "name": "monolog/monolog",
            "authors": [
                {
                    "name": "Jordi Boggiano"
                }
            ]
        }
    ]
}
`,
	}, mark)
	write(t, root, map[string]string{
		".cargo/registry/src/index.crates.io-1/serde-1.0.0/.env": "x",
		"gems/3.1.0/gems/rake-13.0.6/.env":                       "x",
		"app/vendor/monolog/monolog/.env":                        "x",
	}, later)
	vouched, _ := depTree(t, root, filepath.Join(root, ".cargo/registry"))
	assert.Equal(t, []string{
		".cargo/registry/cache/index.crates.io-1/serde-1.0.0.crate",
		".cargo/registry/index/index.crates.io-1/config.json",
		".cargo/registry/src/index.crates.io-1/serde-1.0.0/.cargo-ok",
		".cargo/registry/src/index.crates.io-1/serde-1.0.0/src/lib.rs",
	}, vouched)
	vouched, _ = depTree(t, root, filepath.Join(root, "gems/3.1.0/gems"))
	assert.Equal(t, []string{"gems/3.1.0/gems/rake-13.0.6/lib/rake.rb"}, vouched)
	vouched, _ = depTree(t, root, filepath.Join(root, "app/vendor"))
	assert.Equal(t, []string{"app/vendor/monolog/monolog/src/Logger.php"}, vouched)
	// A vendor folder without Composer's record is no tree.
	require.NoError(t, os.Remove(filepath.Join(root, "app/vendor/composer/installed.json")))
	vouched, notes := depTree(t, root, filepath.Join(root, "app/vendor"))
	assert.Empty(t, vouched)
	assert.Equal(t, "not a dependency tree", notes)
}

// The step's failure names files by directory, those whose paths do not
// say test, example or documentation first, with the count of each; the
// findings come in that order too.
func TestSecretSummary(t *testing.T) {
	root := t.TempDir()
	key := "-----BEGIN PRIVATE KEY-----\n"
	aws := "AWS_ACCESS_KEY_ID=AKIA" + strings.Repeat("Q7", 8) + "\n"
	write(t, root, map[string]string{
		"lib/test/fixture.pem": key, "lib/README.md": key, "app/.env": aws + aws, "app/key.pem": key, "srv/tls.key": key,
	}, time.Now())
	work := t.TempDir()
	out := runSh(t, shellFuncs(t, work)+withoutDirective(file("linux/steps/secrets.sh"))+
		"\nfind "+Quote(root)+" -type f -print0 | xargs -0 grep -I -n -H -Z -E -e \"$secret_any\" -- | tr '\\0' '\\001' |"+
		" SECRET_GROUPS=$work/secret.groups AMI_HARDEN_SECRETS_ALLOW= awk \"$secret_classify\" | sort -s -t \"$tab\" -k1,1n | cut -f 2-\n"+
		"echo ==\nsecret_summary\n")
	hits, summary, _ := strings.Cut(out, "==\n")
	lines := strings.Split(strings.TrimSpace(hits), "\n")
	require.Len(t, lines, 6)
	assert.True(t, strings.HasPrefix(lines[4], root+"/lib/"), "the test and documentation files last: %q", lines)
	assert.True(t, strings.HasPrefix(lines[5], root+"/lib/"), "the test and documentation files last: %q", lines)
	assert.Equal(t, "6 stray secret(s) in 5 file(s) (2 of them test, example or documentation files): "+
		root+"/app/: .env (AWS access key id), key.pem (private key); "+root+"/srv/: tls.key (private key); "+
		root+"/lib/: README.md (private key); "+root+"/lib/test/: fixture.pem (private key); "+
		"each with its line and kind in the findings (report_file and junit_file have them all)", summary)
}
