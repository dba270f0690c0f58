package fhir

import (
	"encoding/json"
	"strings"
)

// Bundle is a FHIR Bundle; Carnet answers searches with searchset bundles.
type Bundle struct {
	ResourceType string        `json:"resourceType"`
	ID           string        `json:"id,omitempty"`
	Meta         *Meta         `json:"meta,omitempty"`
	Type         string        `json:"type"`
	Total        *int          `json:"total,omitempty"`
	Link         []BundleLink  `json:"link,omitempty"`
	Entry        []BundleEntry `json:"entry,omitempty"`
}

// BundleLink is a link of a bundle: self, next, previous.
type BundleLink struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

// BundleEntry is one resource of a bundle.
type BundleEntry struct {
	FullURL  string        `json:"fullUrl,omitempty"`
	Resource any           `json:"resource,omitempty"`
	Search   *BundleSearch `json:"search,omitempty"`
}

// BundleSearch says why an entry is in a searchset.
type BundleSearch struct {
	Mode string `json:"mode"` // match | include | outcome
}

// resource is implemented by this package's resource types.
type resource interface {
	typeAndID() (resourceType, id string)
}

// SearchSet returns a searchset bundle of entries (resources of this package, or any value
// marshalling to a resource with resourceType and id), each with its fullUrl under baseURL and
// search mode match. total is the number of matches of the whole search (negative: unknown, left
// out); selfURL, when not empty, is the self link. Nil entries are skipped.
func SearchSet(baseURL string, total int, entries []any, selfURL string) Bundle {
	b := Bundle{ResourceType: "Bundle", Type: "searchset"}
	if total >= 0 {
		b.Total = ptr(total)
	}
	if selfURL != "" {
		b.AddLink("self", selfURL)
	}
	base := strings.TrimRight(baseURL, "/")
	for _, e := range entries {
		if e == nil {
			continue
		}
		typ, id := typeAndID(e)
		entry := BundleEntry{Resource: e, Search: &BundleSearch{Mode: "match"}}
		if typ != "" && id != "" {
			entry.FullURL = base + "/" + typ + "/" + id
		}
		b.Entry = append(b.Entry, entry)
	}
	return b
}

// AddLink adds a link (next, previous...) to the bundle.
func (b *Bundle) AddLink(relation, url string) {
	b.Link = append(b.Link, BundleLink{Relation: relation, URL: url})
}

// typeAndID returns the resource type and id of a resource of this package, or of any value that
// marshals to a JSON object holding them.
func typeAndID(v any) (string, string) {
	switch r := v.(type) {
	case resource:
		return r.typeAndID()
	case json.RawMessage:
		return peekTypeAndID(r)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", ""
	}
	return peekTypeAndID(b)
}

func peekTypeAndID(b []byte) (string, string) {
	var p struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
	}
	if json.Unmarshal(b, &p) != nil {
		return "", ""
	}
	return p.ResourceType, p.ID
}

// TypeAndID returns the resource type and id of a resource, for a bundle entry's fullUrl.
func TypeAndID(v any) (resourceType, id string) { return typeAndID(v) }
