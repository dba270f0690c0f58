package enroll_test

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/carnet-sante/carnet/internal/enroll"
)

// The example of the package documentation.
func Example() {
	const file = `nir;vitale_serial;birth_name;given_names;used_name;sex;birth_date;email;mobile;postal_address;rights_holder_nir
285037505612306;123456789012;DUPONT;Marie Louise;MARTIN;F;1985-03-12;marie.dupont@exemple.fr;06 12 34 56 78;;
115067505620161;987654321098;DUPONT;Lucas;;M;2015-06-20;;;;285037505612306
152116912304531;1234;MARTIN;Jean;;M;1952-11-02;;;"12 rue de la Paix
75002 Paris";
`
	r, err := enroll.NewReader(strings.NewReader(file), time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		fmt.Println(err)
		return
	}
	for {
		row, bad, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		if bad != nil {
			fmt.Printf("ligne %d rejetée : %s\n", bad.Line, bad.Reason)
			continue
		}
		kind := "majeur"
		if row.RightsHolderNIR != "" {
			kind = "mineur"
		}
		fmt.Printf("ligne %d : %s (%s) %q\n", row.Line, row.Patient.DisplayName(), kind, row.Patient.Mobile)
	}
	// Output:
	// ligne 2 : Marie MARTIN (majeur) "+33612345678"
	// ligne 3 : Lucas DUPONT (mineur) ""
	// ligne 4 rejetée : numéro de série de la carte Vitale invalide : 8 à 20 chiffres ou lettres majuscules attendus
}
