// Package docs renders the API reference page served at /docs.
//
// The page is Redoc (https://github.com/Redocly/redoc), rendered in the
// browser from the spec. Everything it needs is inlined into the one HTML
// document: the Redoc standalone bundle (embedded in the binary from
// redoc.standalone.js) and the spec as JSON. It makes no further requests,
// so it renders offline and behind any proxy.
//
// redoc.standalone.js is bundles/redoc.standalone.js from the npm package
// redoc, version RedocVersion, unmodified (MIT, see LICENSE.redoc; the
// notices of what it bundles are in redoc.standalone.js.LICENSE.txt). To
// update it, run `./update-redoc.sh VERSION` in this directory and change
// RedocVersion.
package docs

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"strings"
)

// RedocVersion is the version of the embedded Redoc bundle.
const RedocVersion = "2.5.4"

//go:embed redoc.standalone.js
var redocJS string

// page is the HTML around the inlined bundle and spec. The spec goes into a
// non-executed JSON script element and is read with JSON.parse, so no part
// of it is ever run as script.
var page = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} — API reference</title>
<style>
  body { margin: 0; padding: 0; }
  noscript p { font-family: sans-serif; margin: 2em; }
</style>
</head>
<body>
<noscript><p>This reference needs JavaScript. The contract itself:
<a href="/openapi.yaml">openapi.yaml</a>, <a href="/openapi.json">openapi.json</a>.</p></noscript>
<div id="redoc"></div>
<script id="sachet-spec" type="application/json">{{.Spec}}</script>
<script>{{.Redoc}}</script>
<script>
(function () {
  var spec = JSON.parse(document.getElementById('sachet-spec').textContent);
  Redoc.init(spec, {
    expandResponses: '200,201,206',
    jsonSampleExpandLevel: 3,
    pathInMiddlePanel: true,
    requiredPropsFirst: true,
    sortPropsAlphabetically: false,
    theme: { sidebar: { width: '280px' } }
  }, document.getElementById('redoc'));
})();
</script>
</body>
</html>
`))

// Page renders the reference page for a spec whose JSON is specJSON, and
// the Content-Security-Policy to serve it with (see policy).
func Page(title string, specJSON []byte) (html []byte, csp string, err error) {
	spec, err := jsonInScript(specJSON)
	if err != nil {
		return nil, "", err
	}
	js, err := scriptText(redocJS)
	if err != nil {
		return nil, "", err
	}
	var b bytes.Buffer
	err = page.Execute(&b, struct {
		Title string
		Spec  template.JS
		Redoc template.JS
	}{title, spec, js})
	if err != nil {
		return nil, "", err
	}
	return b.Bytes(), policy(b.Bytes()), nil
}

// policy is the page's Content-Security-Policy: nothing may load from
// anywhere, and the only scripts that run are the page's own inline
// scripts, each allowed by its SHA-256, so a spec text that somehow
// became markup could not run script. Redoc (styled-components) injects
// <style> elements as it renders, hence inline styles; its logo stand-in
// is a data: image; its search index runs in a worker made from a blob:
// URL.
func policy(html []byte) string {
	hashes := []string{}
	rest := html
	for {
		// Executable inline scripts are exactly the bare <script> elements
		// of the template; the spec's element has a type and is data.
		i := bytes.Index(rest, []byte("<script>"))
		if i < 0 {
			break
		}
		rest = rest[i+len("<script>"):]
		j := bytes.Index(rest, []byte("</script>"))
		if j < 0 {
			break
		}
		sum := sha256.Sum256(rest[:j])
		hashes = append(hashes, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
		rest = rest[j:]
	}
	return strings.Join([]string{
		"default-src 'none'",
		"script-src " + strings.Join(hashes, " "),
		"style-src 'unsafe-inline'",
		"img-src data:",
		"font-src data:",
		"worker-src blob:",
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors 'none'",
	}, "; ")
}

// jsonInScript makes JSON safe as the text of a <script> element: '<' can
// only occur inside JSON strings, where \u003c means the same, so after
// replacing it nothing can close the element or open a comment. '>' and
// '&' are replaced likewise for good measure.
func jsonInScript(j []byte) (template.JS, error) {
	if len(bytes.TrimSpace(j)) == 0 {
		return "", errors.New("docs: empty spec")
	}
	r := strings.NewReplacer("<", `\u003c`, ">", `\u003e`, "&", `\u0026`)
	return template.JS(r.Replace(string(j))), nil // #nosec G203 -- escaped above
}

// remote are the URLs the bundle would load from the network as it renders,
// each with the inline stand-in served instead. Redoc 2 shows a small logo
// from its CDN at the foot of the sidebar; a blank image takes its place.
// The browser test (tests/browser) fails on any request /docs makes beyond
// the page itself, so a new one in a future bundle is caught there.
var remote = map[string]string{
	"https://cdn.redoc.ly/redoc/logo-mini.svg": `data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='1' height='1'/%3E`,
}

// scriptText checks that the bundle can be inlined as is, points what it
// would fetch at inline stand-ins, and drops its source-map comment so that
// not even developer tools fetch anything.
func scriptText(js string) (template.JS, error) {
	if strings.Contains(strings.ToLower(js), "</script") {
		return "", errors.New("docs: the Redoc bundle contains </script and cannot be inlined")
	}
	for url, local := range remote {
		if !strings.Contains(js, url) {
			return "", fmt.Errorf("docs: %s is no longer in the Redoc bundle: review the remote table", url)
		}
		js = strings.ReplaceAll(js, url, local)
	}
	js = strings.TrimRight(js, "\n")
	if i := strings.LastIndex(js, "\n//# sourceMappingURL="); i >= 0 && !strings.Contains(js[i+1:], "\n") {
		js = js[:i]
	}
	return template.JS(js), nil // #nosec G203 -- the embedded bundle, checked above
}
