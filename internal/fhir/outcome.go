package fhir

import (
	"errors"
	"net/http"

	"github.com/carnet-sante/carnet"
)

// OperationOutcome is a FHIR OperationOutcome: the body of every error answer.
type OperationOutcome struct {
	ResourceType string                  `json:"resourceType"`
	Issue        []OperationOutcomeIssue `json:"issue"`
}

// OperationOutcomeIssue is one problem.
type OperationOutcomeIssue struct {
	Severity   string           `json:"severity"` // fatal | error | warning | information
	Code       string           `json:"code"`     // IssueType
	Details    *CodeableConcept `json:"details,omitempty"`
	Expression []string         `json:"expression,omitempty"`
}

// Outcome returns an OperationOutcome of one issue whose details text is frenchText.
func Outcome(severity, code, frenchText string) OperationOutcome {
	is := OperationOutcomeIssue{Severity: severity, Code: code}
	if frenchText != "" {
		is.Details = &CodeableConcept{Text: frenchText}
	}
	return OperationOutcome{ResourceType: "OperationOutcome", Issue: []OperationOutcomeIssue{is}}
}

// errorKinds maps Carnet's error codes to the HTTP status and the FHIR issue code of the answer.
var errorKinds = map[string]struct {
	status int
	issue  string
}{
	carnet.EINVALID:      {http.StatusBadRequest, "invalid"},
	carnet.ENOTFOUND:     {http.StatusNotFound, "not-found"},
	carnet.EFORBIDDEN:    {http.StatusForbidden, "forbidden"},
	carnet.EUNAUTHORIZED: {http.StatusUnauthorized, "login"},
	carnet.ECONFLICT:     {http.StatusConflict, "conflict"},
	carnet.ETOOLARGE:     {http.StatusRequestEntityTooLarge, "too-costly"},
	carnet.ERATELIMIT:    {http.StatusTooManyRequests, "throttled"},
	carnet.EUNAVAILABLE:  {http.StatusServiceUnavailable, "transient"},
	carnet.EINTEGRITY:    {http.StatusInternalServerError, "exception"},
	carnet.EKEY:          {http.StatusInternalServerError, "exception"},
}

// OutcomeFromError maps an error to its HTTP status and OperationOutcome, in one place for the
// whole facade. The text is the error's user-facing French message (carnet.ErrorMessage); an
// internal or unknown error says "erreur interne" and nothing more, whatever its chain holds. An
// error from this package's parsers also gives the precise issue code and the FHIRPath of the
// element at fault. A nil error is 200 with an informational issue.
func OutcomeFromError(err error) (int, OperationOutcome) {
	if err == nil {
		return http.StatusOK, Outcome("information", "informational", "opération réussie")
	}
	k, ok := errorKinds[carnet.ErrorCode(err)]
	if !ok {
		return http.StatusInternalServerError, Outcome("error", "exception", "erreur interne")
	}
	o := Outcome("error", k.issue, carnet.ErrorMessage(err))
	var is *issue
	if carnet.ErrorCode(err) == carnet.EINVALID && errors.As(err, &is) {
		if is.code != "" {
			o.Issue[0].Code = is.code
		}
		if is.expression != "" {
			o.Issue[0].Expression = []string{is.expression}
		}
	}
	return k.status, o
}
