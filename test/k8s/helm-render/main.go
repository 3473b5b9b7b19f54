// helm-render renders a Helm v3 chart's templates the way `helm template` does, with the engines
// Helm itself uses (Go text/template and Masterminds/sprig), because no helm binary is available
// here. It implements the Helm builtins the distrain chart uses: .Values (values.yaml merged with
// --values files and --set a.b=c), .Release, .Chart, .Capabilities (KubeVersion, APIVersions.Has),
// .Template, .Files (Get, Glob), and the functions include, tpl, required, toYaml, fromYaml, toJson,
// fail, lookup (always empty, as in `helm template`). Not covered: dependencies/subcharts, hooks
// ordering, --set type coercion beyond numbers/bools, values.schema.json (tests check it with ajv),
// library charts, and .Files.AsConfig/AsSecrets.
//
// Build (GOPATH mode, Debian packages): GO111MODULE=off GOPATH=/usr/share/gocode go build -o helm-render .
// Usage: helm-render --chart DIR [--release NAME] [--namespace NS] [--values FILE]... [--set a.b=c]...
//        [--notes]  (print the rendered NOTES.txt instead of the manifests)
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	"gopkg.in/yaml.v3"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// Files is .Files: the chart's non-template files.
type Files map[string][]byte

// Get returns a file's content ("" when missing), as Helm does.
func (f Files) Get(name string) string { return string(f[name]) }

// Glob returns the files whose chart-relative path matches the pattern.
func (f Files) Glob(pattern string) Files {
	out := Files{}
	for name, data := range f {
		if ok, _ := path.Match(pattern, name); ok {
			out[name] = data
		}
	}
	return out
}

// APIVersions is .Capabilities.APIVersions.
type APIVersions []string

// Has reports whether an apiVersion (or apiVersion/Kind) is available.
func (a APIVersions) Has(v string) bool {
	for _, x := range a {
		if x == v {
			return true
		}
	}
	return false
}

func readYAML(file string) (map[string]interface{}, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	out := map[string]interface{}{}
	if err := yaml.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return out, nil
}

// merge overlays src onto dst (maps merge recursively, everything else replaces; null deletes), as Helm coalesces values.
func merge(dst, src map[string]interface{}) map[string]interface{} {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
			continue
		}
		if sm, ok := v.(map[string]interface{}); ok {
			if dm, ok := dst[k].(map[string]interface{}); ok {
				dst[k] = merge(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
	return dst
}

func setValue(values map[string]interface{}, expr string) error {
	eq := strings.Index(expr, "=")
	if eq < 0 {
		return fmt.Errorf("--set %q: want key=value", expr)
	}
	keys := strings.Split(expr[:eq], ".")
	raw := expr[eq+1:]
	var val interface{} = raw
	if n, err := strconv.ParseInt(raw, 10, 64); err == nil {
		val = n
	} else if b, err := strconv.ParseBool(raw); err == nil {
		val = b
	} else if raw == "null" {
		val = nil
	}
	node := values
	for _, k := range keys[:len(keys)-1] {
		next, ok := node[k].(map[string]interface{})
		if !ok {
			next = map[string]interface{}{}
			node[k] = next
		}
		node = next
	}
	node[keys[len(keys)-1]] = val
	return nil
}

func toYAML(v interface{}) string {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return ""
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

func fromYAML(s string) map[string]interface{} {
	out := map[string]interface{}{}
	if err := yaml.Unmarshal([]byte(s), &out); err != nil {
		out["Error"] = err.Error()
	}
	return out
}

func main() {
	chartDir := flag.String("chart", "", "chart directory")
	release := flag.String("release", "distrain", "release name")
	namespace := flag.String("namespace", "default", "release namespace")
	kubeVersion := flag.String("kube-version", "v1.30.0", "Kubernetes version for .Capabilities")
	notes := flag.Bool("notes", false, "render NOTES.txt only")
	var valueFiles, sets, apiVersions multiFlag
	flag.Var(&valueFiles, "values", "values file (repeatable)")
	flag.Var(&sets, "set", "key=value (repeatable)")
	flag.Var(&apiVersions, "api-versions", "extra API versions for .Capabilities.APIVersions (repeatable)")
	flag.Parse()
	if err := run(*chartDir, *release, *namespace, *kubeVersion, *notes, valueFiles, sets, apiVersions); err != nil {
		fmt.Fprintln(os.Stderr, "helm-render:", err)
		os.Exit(1)
	}
}

func run(chartDir, release, namespace, kubeVersion string, notes bool, valueFiles, sets, extraAPIs []string) error {
	chartMeta, err := readYAML(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return err
	}
	values, err := readYAML(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		return err
	}
	for _, f := range valueFiles {
		v, err := readYAML(f)
		if err != nil {
			return err
		}
		values = merge(values, v)
	}
	for _, s := range sets {
		if err := setValue(values, s); err != nil {
			return err
		}
	}
	chart := map[string]interface{}{}
	for k, v := range chartMeta {
		// Helm exposes Chart.yaml fields capitalized: .Chart.Name, .Chart.AppVersion.
		chart[strings.ToUpper(k[:1])+k[1:]] = v
	}
	files := Files{}
	var templates []string
	err = filepath.Walk(chartDir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(chartDir, p)
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(rel, "templates/") {
			templates = append(templates, rel)
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files[rel] = data
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(templates)
	ver := strings.TrimPrefix(kubeVersion, "v")
	parts := strings.SplitN(ver, ".", 3)
	apis := APIVersions{"v1", "apps/v1", "rbac.authorization.k8s.io/v1", "policy/v1", "batch/v1"}
	apis = append(apis, extraAPIs...)
	top := map[string]interface{}{
		"Values":  values,
		"Chart":   chart,
		"Files":   files,
		"Release": map[string]interface{}{"Name": release, "Namespace": namespace, "Service": "Helm", "IsInstall": true, "IsUpgrade": false, "Revision": 1},
		"Capabilities": map[string]interface{}{
			"KubeVersion": map[string]interface{}{"Version": kubeVersion, "GitVersion": kubeVersion, "Major": parts[0], "Minor": parts[1]},
			"APIVersions": apis,
		},
	}

	root := template.New("chart")
	funcs := sprig.TxtFuncMap()
	funcs["toYaml"] = toYAML
	funcs["fromYaml"] = fromYAML
	funcs["toJson"] = func(v interface{}) string { b, _ := json.Marshal(v); return string(b) }
	funcs["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil || v == "" {
			return nil, fmt.Errorf("%s", msg)
		}
		return v, nil
	}
	funcs["fail"] = func(msg string) (string, error) { return "", fmt.Errorf("%s", msg) }
	funcs["lookup"] = func(string, string, string, string) map[string]interface{} { return map[string]interface{}{} }
	funcs["include"] = func(name string, data interface{}) (string, error) {
		var buf bytes.Buffer
		err := root.ExecuteTemplate(&buf, name, data)
		return buf.String(), err
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := root.Clone()
		if err != nil {
			return "", err
		}
		t, err = t.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		err = t.Execute(&buf, data)
		return strings.ReplaceAll(buf.String(), "<no value>", ""), err
	}
	root.Funcs(funcs).Option("missingkey=zero")
	for _, name := range templates {
		data, err := os.ReadFile(filepath.Join(chartDir, name))
		if err != nil {
			return err
		}
		if _, err := root.New(name).Parse(string(data)); err != nil {
			return err
		}
	}
	chartName, _ := chart["Name"].(string)
	var out strings.Builder
	for _, name := range templates {
		base := path.Base(name)
		isNotes := base == "NOTES.txt"
		if strings.HasPrefix(base, "_") || notes != isNotes {
			continue
		}
		if !isNotes && !strings.HasSuffix(base, ".yaml") && !strings.HasSuffix(base, ".yml") {
			continue
		}
		scope := map[string]interface{}{}
		for k, v := range top {
			scope[k] = v
		}
		scope["Template"] = map[string]interface{}{"Name": chartName + "/" + name, "BasePath": chartName + "/templates"}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, name, scope); err != nil {
			return err
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		if strings.TrimSpace(text) == "" {
			continue
		}
		if isNotes {
			out.WriteString(text)
			continue
		}
		fmt.Fprintf(&out, "---\n# Source: %s/%s\n%s\n", chartName, name, strings.TrimSpace(text))
	}
	_, err = os.Stdout.WriteString(out.String())
	return err
}
