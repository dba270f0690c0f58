package policy

import (
	"testing"
	"time"

	"github.com/carnet-sante/carnet"
)

func TestConsentInForce(t *testing.T) {
	day := 24 * time.Hour
	old := consentOf(proID, func(c *carnet.Consent) { c.ID, c.DeclaredAt = "old", now.Add(-30*day) })
	expired := consentOf(proID, func(c *carnet.Consent) { c.ID, c.ExpiresAt = "expired", ptr(now.Add(-day)) })
	research := consentOf(proID, func(c *carnet.Consent) { c.ID, c.Purpose, c.DeclaredAt = "research", "recherche", now.Add(-day) })
	other := consentOf(otherProID, func(c *carnet.Consent) { c.ID = "other" })
	cases := []struct {
		name     string
		consents []*carnet.Consent
		purpose  string
		wantID   string
		wantOK   bool
	}{
		{"none", nil, "", "", false},
		{"another professional's", []*carnet.Consent{other}, "", "", false},
		{"in force", []*carnet.Consent{old, other}, "", "old", true},
		{"expired only: the latest is returned", []*carnet.Consent{expired, nil}, "", "expired", false},
		{"an older consent still in force wins over an expired one", []*carnet.Consent{expired, old}, "", "old", true},
		{"purpose-bound, same purpose: the latest in force", []*carnet.Consent{old, research}, "recherche", "research", true},
		{"purpose-bound, other purpose: the unbound one", []*carnet.Consent{old, research}, "soins", "old", true},
		{"purpose-bound only, other purpose", []*carnet.Consent{research}, "soins", "research", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := ConsentInForce(c.consents, proID, c.purpose, now)
			id := ""
			if got != nil {
				id = got.ID
			}
			if id != c.wantID || ok != c.wantOK {
				t.Errorf("ConsentInForce = %q, %v; want %q, %v", id, ok, c.wantID, c.wantOK)
			}
			// What the helper finds, Decide agrees with.
			r := proRequest(ActionReadProfile, "10", nil)
			r.Consent, r.Purpose = got, c.purpose
			if d := testPolicy.Decide(r); d.Allow != ok {
				t.Errorf("Decide with that consent: %v (%s)", d.Allow, d.Reason)
			}
		})
	}
	if _, ok := ConsentInForce([]*carnet.Consent{consentOf("")}, "", "", now); ok {
		t.Error("a consent without professional")
	}
}

func TestBlocked(t *testing.T) {
	removed := ptr(now.Add(-time.Minute))
	later := ptr(now.Add(time.Hour))
	cases := []struct {
		name                   string
		blocks                 []*carnet.Block
		wantPro, wantStructure bool
	}{
		{"none", nil, false, false},
		{"the professional", []*carnet.Block{{ProfessionalID: proID}}, true, false},
		{"another professional", []*carnet.Block{{ProfessionalID: otherProID}}, false, false},
		{"a professional block naming the structure is not a structure block", []*carnet.Block{{ProfessionalID: otherProID, StructureID: structureID}}, false, false},
		{"the structure", []*carnet.Block{{StructureID: structureID}}, false, true},
		{"another structure", []*carnet.Block{{StructureID: "finess-9"}}, false, false},
		{"lifted", []*carnet.Block{{ProfessionalID: proID, RemovedAt: removed}, {StructureID: structureID, RemovedAt: removed}}, false, false},
		{"lifted later", []*carnet.Block{{ProfessionalID: proID, RemovedAt: later}}, true, false},
		{"both", []*carnet.Block{nil, {ProfessionalID: proID}, {StructureID: structureID}}, true, true},
		{"empty block", []*carnet.Block{{}}, false, false},
	}
	for _, c := range cases {
		pro, structure := Blocked(c.blocks, proID, structureID, now)
		if pro != c.wantPro || structure != c.wantStructure {
			t.Errorf("%s: Blocked = %v, %v; want %v, %v", c.name, pro, structure, c.wantPro, c.wantStructure)
		}
	}
	if pro, structure := Blocked([]*carnet.Block{{StructureID: ""}, {ProfessionalID: ""}}, "", "", now); pro || structure {
		t.Error("empty IDs match nothing")
	}
}

func TestActionsAndReasons(t *testing.T) {
	seen := map[string]bool{}
	for _, a := range Actions() {
		s := a.String()
		if seen[s] || s == "unknown" || s == "none" {
			t.Errorf("action %d: %q", a, s)
		}
		seen[s] = true
		if back, ok := ParseAction(s); !ok || back != a {
			t.Errorf("ParseAction(%q) = %v, %v", s, back, ok)
		}
	}
	if _, ok := ParseAction("none"); ok {
		t.Error("ParseAction(none)")
	}
	if Action(200).String() != "unknown" || ActionNone.valid() || Action(200).valid() {
		t.Error("unknown actions")
	}
	allows, denies := 0, 0
	for _, r := range Reasons() {
		s := r.String()
		if seen[s] || s == "unknown" || s == "" {
			t.Errorf("reason %d: %q", r, s)
		}
		seen[s] = true
		back, ok := ParseReason(s)
		if !ok || back != r {
			t.Errorf("ParseReason(%q) = %v, %v", s, back, ok)
		}
		text, _ := r.MarshalText()
		var u Reason
		if err := u.UnmarshalText(text); err != nil || u != r {
			t.Errorf("text round trip of %s: %v", r, err)
		}
		if r.Allows() {
			allows++
		} else {
			denies++
		}
	}
	if allows != 12 || denies < 30 {
		t.Errorf("%d allowing reasons, %d denying", allows, denies)
	}
	if ReasonNone.Allows() || Reason(250).Allows() || Reason(250).String() != "unknown" || reasonFirstDeny.String() != "unknown" {
		t.Error("sentinels")
	}
	var u Reason
	if err := u.UnmarshalText([]byte("nope")); err == nil {
		t.Error("UnmarshalText(nope)")
	}
	if reasonCount > 64 {
		t.Error("the generated tests hold reasons in a uint64 set")
	}
}
