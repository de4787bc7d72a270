// Package docs checks the repository's Markdown: every relative link names a
// file that exists, every #anchor a heading (or an HTML id) of the page it
// points to, and every link to this repository's files on GitHub a path that
// exists. Links inside fenced code blocks and code spans are not links.
package docs

import (
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"unicode"
)

// RepoURL is the repository's address on GitHub: links to RepoURL/blob/main/PATH
// and RepoURL/tree/main/PATH must name an existing PATH, as .web-docs does for
// the pages the Packer registry does not publish.
const RepoURL = "https://github.com/ami-harden/packer-plugin-ami-harden"

// skipDirs are not walked: version control, build output, downloaded
// packages, and docs-partials, whose links are written for the page that
// includes them (they are checked there, in .web-docs).
var skipDirs = map[string]bool{
	".git":          true,
	"bin":           true,
	"dist":          true,
	"node_modules":  true,
	".docs":         true,
	"docs-partials": true,
}

// Problem is one link that does not resolve.
type Problem struct {
	File   string // relative to the root, with slashes
	Line   int
	Target string
	Reason string
}

func (p Problem) String() string {
	return fmt.Sprintf("%s:%d: %s: %s", p.File, p.Line, p.Target, p.Reason)
}

// Link is a link found in a page.
type Link struct {
	Line   int
	Target string
}

// MarkdownFiles lists the .md and .mdx files below root, relative to it, with
// slashes, sorted.
func MarkdownFiles(root string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && skipDirs[d.Name()] {
				return filepath.SkipDir
			}
			return nil
		}
		if ext := filepath.Ext(p); ext == ".md" || ext == ".mdx" {
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}

// Check checks the links of every Markdown file below root.
func Check(root string) ([]Problem, error) {
	files, err := MarkdownFiles(root)
	if err != nil {
		return nil, err
	}
	c := &checker{root: root, anchors: map[string]map[string]bool{}}
	var problems []Problem
	for _, f := range files {
		text, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f)))
		if err != nil {
			return nil, err
		}
		for _, l := range Links(string(text)) {
			if reason := c.check(f, l.Target); reason != "" {
				problems = append(problems, Problem{File: f, Line: l.Line, Target: l.Target, Reason: reason})
			}
		}
	}
	return problems, nil
}

type checker struct {
	root    string
	anchors map[string]map[string]bool // repository path -> anchors of that page
}

// check returns why target, a link in the page file, does not resolve, or "".
func (c *checker) check(file, target string) string {
	if strings.HasPrefix(target, "#") {
		return c.anchor(file, target[1:])
	}
	var p string
	switch {
	case strings.HasPrefix(target, RepoURL+"/blob/main/") || strings.HasPrefix(target, RepoURL+"/tree/main/"):
		rest := strings.TrimPrefix(strings.TrimPrefix(target, RepoURL+"/blob/main/"), RepoURL+"/tree/main/")
		p = "/" + rest
	case strings.HasPrefix(target, RepoURL+"/"), target == RepoURL:
		return "" // issues, pulls, the repository's front page
	case scheme.MatchString(target):
		return "" // another site; not checked here
	case strings.HasPrefix(target, "/packer/"):
		return "" // a page of the Packer integration registry (docs/README.md, .web-docs)
	default:
		p = target
	}
	anchor := ""
	if i := strings.Index(p, "#"); i >= 0 {
		p, anchor = p[:i], p[i+1:]
	}
	if i := strings.Index(p, "?"); i >= 0 {
		p = p[:i]
	}
	unescaped, err := url.PathUnescape(p)
	if err != nil {
		return "not a valid path: " + err.Error()
	}
	p = unescaped
	var repoPath string
	if strings.HasPrefix(p, "/") {
		repoPath = path.Clean(strings.TrimPrefix(p, "/")) // GitHub: relative to the repository's root
	} else {
		repoPath = path.Join(path.Dir(file), p)
	}
	if repoPath == ".." || strings.HasPrefix(repoPath, "../") {
		return "leaves the repository"
	}
	if repoPath == "" {
		repoPath = "."
	}
	info, err := os.Stat(filepath.Join(c.root, filepath.FromSlash(repoPath)))
	if err != nil {
		return "no such file: " + repoPath
	}
	if anchor == "" {
		return ""
	}
	if info.IsDir() {
		return "an anchor on a folder: " + repoPath
	}
	if ext := path.Ext(repoPath); ext != ".md" && ext != ".mdx" {
		return "" // line anchors of code and such are GitHub's
	}
	return c.anchor(repoPath, anchor)
}

func (c *checker) anchor(page, anchor string) string {
	set, ok := c.anchors[page]
	if !ok {
		text, err := os.ReadFile(filepath.Join(c.root, filepath.FromSlash(page)))
		if err != nil {
			return "cannot read " + page + ": " + err.Error()
		}
		set = Anchors(string(text))
		c.anchors[page] = set
	}
	if unescaped, err := url.PathUnescape(anchor); err == nil {
		anchor = unescaped
	}
	if !set[anchor] {
		return "no heading #" + anchor + " in " + page
	}
	return ""
}

var (
	fenceOpen  = regexp.MustCompile("^[ \t]*(`{3,}|~{3,})")
	atxHeading = regexp.MustCompile(`^ {0,3}(#{1,6})[ \t]+(.*?)[ \t]*$`)
	closingATX = regexp.MustCompile(`[ \t]+#+[ \t]*$`)
	htmlID     = regexp.MustCompile(`<[a-zA-Z][^>]*\s(?:id|name)\s*=\s*"([^"]+)"`)
	refDef     = regexp.MustCompile(`^ {0,3}\[[^\]]+\]:[ \t]*(\S+)`)
	autolink   = regexp.MustCompile(`<(https?://[^>\s]+)>`)
	inlineLink = regexp.MustCompile(`\[[^\]]*\]\(([^)]*)\)`)
	mdLinkText = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
	scheme     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)
)

// outsideFences calls fn with each line that is not inside a fenced code
// block (nor a fence line itself), and its 1-based number. A fence opens with
// three or more backticks or tildes, indented or not (in a list item), and
// closes with a run of the same character at least as long, alone on its line.
func outsideFences(text string, fn func(n int, line string)) {
	fence := ""
	for i, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimLeft(line, " \t")
		if fence != "" {
			run := len(trimmed) - len(strings.TrimLeft(trimmed, fence[:1]))
			if run >= len(fence) && strings.TrimSpace(trimmed[run:]) == "" {
				fence = ""
			}
			continue
		}
		if m := fenceOpen.FindStringSubmatch(line); m != nil {
			fence = m[1]
			continue
		}
		fn(i+1, line)
	}
}

// StripCodeSpans blanks out code spans: a run of N backticks opens a span that
// the next run of exactly N backticks closes.
func StripCodeSpans(line string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(line, '`')
		if i < 0 {
			b.WriteString(line)
			return b.String()
		}
		b.WriteString(line[:i])
		n := 0
		for i+n < len(line) && line[i+n] == '`' {
			n++
		}
		rest := line[i+n:]
		closeAt := -1
		for j := 0; j < len(rest); {
			if rest[j] != '`' {
				j++
				continue
			}
			m := 0
			for j+m < len(rest) && rest[j+m] == '`' {
				m++
			}
			if m == n {
				closeAt = j
				break
			}
			j += m
		}
		if closeAt < 0 {
			b.WriteString(line[i : i+n])
			line = rest
			continue
		}
		b.WriteString(strings.Repeat(" ", n+closeAt+n))
		line = rest[closeAt+n:]
	}
}

// Links returns the links of a Markdown page: inline links and images,
// reference definitions and autolinks, outside fenced code and code spans.
func Links(text string) []Link {
	var links []Link
	outsideFences(text, func(n int, line string) {
		line = StripCodeSpans(line)
		if m := refDef.FindStringSubmatch(line); m != nil {
			links = append(links, Link{n, strings.Trim(m[1], "<>")})
			return
		}
		for _, m := range inlineLink.FindAllStringSubmatch(line, -1) {
			t := strings.TrimSpace(m[1])
			if strings.HasPrefix(t, "<") {
				if j := strings.Index(t, ">"); j > 0 {
					t = t[1:j]
				}
			} else if j := strings.IndexAny(t, " \t"); j >= 0 {
				t = t[:j] // drop a title
			}
			if t != "" {
				links = append(links, Link{n, t})
			}
		}
		for _, m := range autolink.FindAllStringSubmatch(line, -1) {
			links = append(links, Link{n, m[1]})
		}
	})
	return links
}

// Anchors returns the anchors of a Markdown page: the GitHub slug of every
// ATX heading outside fenced code (a repeated slug gets -1, -2, ...) and every
// HTML id or name.
func Anchors(text string) map[string]bool {
	set := map[string]bool{}
	count := map[string]int{}
	outsideFences(text, func(_ int, line string) {
		for _, m := range htmlID.FindAllStringSubmatch(line, -1) {
			set[m[1]] = true
		}
		m := atxHeading.FindStringSubmatch(line)
		if m == nil {
			return
		}
		slug := Slug(closingATX.ReplaceAllString(" "+m[2], ""))
		if k := count[slug]; k > 0 {
			count[slug]++
			slug = fmt.Sprintf("%s-%d", slug, k)
		} else {
			count[slug] = 1
		}
		set[slug] = true
	})
	return set
}

// Slug is GitHub's anchor for a heading: the text of its links, lowercased,
// with every character but letters, digits, marks, spaces, '-' and '_'
// dropped, and each space turned into '-'.
func Slug(heading string) string {
	heading = mdLinkText.ReplaceAllString(strings.TrimSpace(heading), "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}
