// Package docs renders the API reference page served at /docs. The page is
// self-contained: it loads nothing from other hosts, so it works offline.
package docs

import (
	"bytes"
	"html/template"
)

var page = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} — API reference</title>
</head>
<body>
<h1>{{.Title}}</h1>
<p>The contract: <a href="/openapi.yaml">openapi.yaml</a>, <a href="/openapi.json">openapi.json</a>.</p>
</body>
</html>
`))

// Page renders the reference page for a spec whose JSON is specJSON.
func Page(title string, specJSON []byte) ([]byte, error) {
	var b bytes.Buffer
	err := page.Execute(&b, struct {
		Title string
		Spec  []byte
	}{title, specJSON})
	return b.Bytes(), err
}
