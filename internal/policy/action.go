package policy

// Action is what an actor asks to do in a patient's space. The zero value, ActionNone, is
// denied to everyone.
type Action uint8

// Actions. Their String form ("document.read", ...) is the Action field of audit events.
const (
	ActionNone Action = iota

	// Documents: each needs Request.Doc.
	ActionReadDocument            // read a document (metadata and body)
	ActionListDocument            // see a document's metadata in a listing: same rule as read
	ActionDepositDocument         // add a document; Doc is the new document, flags included
	ActionReplaceDocument         // replace a document by a new version; Doc is the old one
	ActionDeleteDocument          // delete a document (entered in error)
	ActionHideDocument            // hide a document from professionals
	ActionUnhideDocument          // make a hidden document visible to professionals again
	ActionRevealToPatient         // make a document visible to the patient (announcement consultation)
	ActionRevealToRepresentatives // make a document visible to legal representatives: irreversible

	// The rest of the space.
	ActionReadProfile      // read the medical profile
	ActionWriteProfile     // edit the medical profile (allergies, conditions, treatments, measures)
	ActionReadVaccinations // read vaccinations
	ActionAddVaccination   // add a vaccination
	ActionReadWishes       // read Entourage & Volontés
	ActionWriteWishes      // edit Entourage & Volontés
	ActionWriteSettings    // change settings: hide everything, emergency modes, notifications
	ActionBlock            // block a professional or a structure
	ActionUnblock          // lift a block
	ActionDeclareConsent   // record a consent to a professional's access
	ActionRevokeConsent    // withdraw a consent
	ActionReadHistory      // read the access history
	ActionSetAdministrator // designate (or change) the administrator

	actionCount
)

var actionNames = [actionCount]string{
	ActionNone:                    "none",
	ActionReadDocument:            "document.read",
	ActionListDocument:            "document.list",
	ActionDepositDocument:         "document.deposit",
	ActionReplaceDocument:         "document.replace",
	ActionDeleteDocument:          "document.delete",
	ActionHideDocument:            "document.hide",
	ActionUnhideDocument:          "document.unhide",
	ActionRevealToPatient:         "document.reveal_to_patient",
	ActionRevealToRepresentatives: "document.reveal_to_representatives",
	ActionReadProfile:             "profile.read",
	ActionWriteProfile:            "profile.write",
	ActionReadVaccinations:        "vaccination.read",
	ActionAddVaccination:          "vaccination.add",
	ActionReadWishes:              "wishes.read",
	ActionWriteWishes:             "wishes.write",
	ActionWriteSettings:           "settings.write",
	ActionBlock:                   "block.create",
	ActionUnblock:                 "block.remove",
	ActionDeclareConsent:          "consent.declare",
	ActionRevokeConsent:           "consent.revoke",
	ActionReadHistory:             "history.read",
	ActionSetAdministrator:        "administrator.set",
}

// String returns the action's code, as recorded in the audit log.
func (a Action) String() string {
	if a < actionCount {
		return actionNames[a]
	}
	return "unknown"
}

// ParseAction returns the action of a code returned by String.
func ParseAction(s string) (Action, bool) {
	for a := ActionNone + 1; a < actionCount; a++ {
		if actionNames[a] == s {
			return a, true
		}
	}
	return ActionNone, false
}

// Actions returns every action, ActionNone excepted, in declaration order.
func Actions() []Action {
	out := make([]Action, 0, actionCount-1)
	for a := ActionNone + 1; a < actionCount; a++ {
		out = append(out, a)
	}
	return out
}

// valid reports whether a is a known action other than ActionNone.
func (a Action) valid() bool { return a > ActionNone && a < actionCount }

// NeedsDocument reports whether the action concerns one document, passed in Request.Doc.
func (a Action) NeedsDocument() bool {
	return a >= ActionReadDocument && a <= ActionRevealToRepresentatives
}

// ReadsHealthContent reports whether the action discloses health content.
func (a Action) ReadsHealthContent() bool {
	switch a {
	case ActionReadDocument, ActionListDocument, ActionReadProfile, ActionReadVaccinations,
		ActionReadWishes:
		return true
	}
	return false
}
