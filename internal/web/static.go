package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
	"sync"
	"time"
)

// contentTypes lists the static files served, by extension; a file of another kind (VERSIONS,
// LICENSE...) is embedded but not served. The table is explicit so that the answer does not
// depend on the host's MIME database.
var contentTypes = map[string]string{
	".css":         "text/css; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".ico":         "image/vnd.microsoft.icon",
	".woff2":       "font/woff2",
	".webmanifest": "application/manifest+json",
}

// compressible lists the kinds worth gzipping (fonts and PNG are compressed already).
var compressible = map[string]bool{".css": true, ".js": true, ".svg": true, ".ico": true, ".webmanifest": true}

// immutable is the Cache-Control of a file asked for under the current version.
const immutable = "public, max-age=31536000, immutable"

// staticFiles are the files under static/, served at /static/<version>/<name>. The version is a
// hash of all the files, so a URL names one content: browsers keep it for a year without
// asking again. The version is in the path rather than in a query string so that the URLs
// that dsfr.min.css holds (fonts, icons, relative to it) carry it too.
type staticFiles struct {
	version string
	files   map[string]*staticFile // by name relative to static/, e.g. "dsfr/dsfr.min.css"
}

type staticFile struct {
	data  []byte
	ctype string
	etag  string

	gzOnce sync.Once
	gz     []byte // the gzipped data, nil when not worth it
}

func newStaticFiles(fsys fs.FS, root string) (*staticFiles, error) {
	sf := &staticFiles{files: map[string]*staticFile{}}
	var names []string
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ctype, ok := contentTypes[path.Ext(p)]
		if !ok {
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, root+"/")
		sum := sha256.Sum256(data)
		sf.files[name] = &staticFile{data: data, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		names = append(names, name)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no file under %s", root)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%s\x00", n, sf.files[n].etag)
	}
	sf.version = hex.EncodeToString(h.Sum(nil))[:12]
	return sf, nil
}

// url returns the versioned URL of a file; it is the templates' "asset" function.
func (sf *staticFiles) url(name string) (string, error) {
	if _, ok := sf.files[name]; !ok {
		return "", fmt.Errorf("web: no static file %q", name)
	}
	return "/static/" + sf.version + "/" + name, nil
}

// ServeHTTP serves GET /static/<version>/<name>. Under the current version the answer is
// cacheable for good; under another one (a page from an older release, still open) it is the
// current file, to be revalidated (Cache-Control: no-cache, with an ETag).
func (sf *staticFiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	version, name, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/static/"), "/")
	f := sf.files[name]
	if !ok || version == "" || f == nil {
		http.NotFound(w, r)
		return
	}
	cache := "no-cache"
	if version == sf.version {
		cache = immutable
	}
	sf.serve(w, r, name, f, cache)
}

func (sf *staticFiles) serve(w http.ResponseWriter, r *http.Request, name string, f *staticFile, cache string) {
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("Cache-Control", cache)
	h.Set("X-Content-Type-Options", "nosniff")
	body, etag := f.data, f.etag
	if compressible[path.Ext(name)] {
		h.Add("Vary", "Accept-Encoding")
		if gz := f.gzipped(); gz != nil && acceptsGzip(r.Header.Get("Accept-Encoding")) {
			body, etag = gz, strings.TrimSuffix(f.etag, `"`)+`-gz"`
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("ETag", etag)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(body))
}

// gzipped compresses the file the first time it is asked for.
func (f *staticFile) gzipped() []byte {
	f.gzOnce.Do(func() {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		_, _ = zw.Write(f.data)
		if zw.Close() == nil && b.Len() < len(f.data)*9/10 {
			f.gz = b.Bytes()
		}
	})
	return f.gz
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip.
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		if strings.TrimSpace(coding) != "gzip" {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}
