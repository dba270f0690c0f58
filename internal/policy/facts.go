package policy

import (
	"time"

	"github.com/carnet-sante/carnet"
)

// ConsentInForce looks among a patient's consents for those of professional proID. It returns
// the one in force at now that covers purpose (a consent without a purpose covers every
// purpose) and true; when none is in force, the latest declared one of that professional (so
// that Decide can say "expired", "revoked" or "another purpose") and false; nil and false when
// the professional never declared one. Put the result in Facts.Consent either way.
func ConsentInForce(consents []*carnet.Consent, proID, purpose string, now time.Time) (*carnet.Consent, bool) {
	var best, latest *carnet.Consent
	for _, c := range consents {
		if c == nil || proID == "" || c.ProfessionalID != proID {
			continue
		}
		if latest == nil || c.DeclaredAt.After(latest.DeclaredAt) {
			latest = c
		}
		if consentCheck(c, proID, purpose, now) == ReasonNone &&
			(best == nil || c.DeclaredAt.After(best.DeclaredAt)) {
			best = c
		}
	}
	if best != nil {
		return best, true
	}
	return latest, false
}

// Blocked reports whether, at now, a block in force covers the professional proID
// (professional) or, when the block names no professional, the structure structureID they act
// for (structure). A block is in force until its RemovedAt: lifting it restores the earlier
// state, consents included, since a block never touches them.
func Blocked(blocks []*carnet.Block, proID, structureID string, now time.Time) (professional, structure bool) {
	for _, b := range blocks {
		if b == nil || (b.RemovedAt != nil && !b.RemovedAt.After(now)) {
			continue
		}
		switch {
		case b.ProfessionalID != "":
			if b.ProfessionalID == proID && proID != "" {
				professional = true
			}
		case b.StructureID != "" && b.StructureID == structureID:
			structure = true
		}
	}
	return professional, structure
}

// consentCheck returns ReasonNone when c is in force at now for professional proID and purpose,
// else the denying reason.
func consentCheck(c *carnet.Consent, proID, purpose string, now time.Time) Reason {
	switch {
	case c == nil || proID == "" || c.ProfessionalID != proID || c.DeclaredAt.IsZero():
		return ReasonNoConsent
	case c.RevokedAt != nil && !c.RevokedAt.After(now):
		return ReasonConsentRevoked
	case c.ExpiresAt != nil && !c.ExpiresAt.After(now):
		return ReasonConsentExpired
	case c.DeclaredAt.After(now):
		return ReasonNoConsent
	case c.Purpose != "" && c.Purpose != purpose:
		return ReasonConsentPurpose
	}
	return ReasonNone
}
