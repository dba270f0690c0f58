package letter_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/notify/letter"
)

func TestFileSinkWritesOneFilePerBatch(t *testing.T) {
	dir := t.TempDir() + "/lettres"
	now := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	s := letter.NewFileSink(dir, func() time.Time { return now })
	good := letter.Letter{
		ID:             "m1",
		Recipient:      "Mme Hélène Durand\n12 rue des Lilas\n75011 PARIS",
		Subject:        "Votre code d'activation",
		Body:           "Madame,\n\nVoici votre code provisoire : ABCD-1234.\n",
		IdempotencyKey: "activation_code:p1",
	}
	second := good
	second.ID, second.IdempotencyKey = "m2", "activation_code:p2"
	bad := good
	bad.ID, bad.Recipient = "m3", "une seule ligne"

	err := s.SendBatch(context.Background(), []letter.Letter{good, bad, second})
	var be *letter.BatchError
	if !errors.As(err, &be) || len(be.Failed) != 1 || be.Failed["m3"] == nil {
		t.Fatalf("err = %v", err)
	}
	var le *letter.Error
	if !errors.As(be.Failed["m3"], &le) || !le.Permanent() || carnet.ErrorCode(le) != carnet.EINVALID {
		t.Errorf("m3: %v", be.Failed["m3"])
	}
	if err := s.SendBatch(context.Background(), []letter.Letter{good}); err != nil {
		t.Fatal(err)
	}

	files, err := letter.Files(dir)
	if err != nil || len(files) != 2 {
		t.Fatalf("files %v, %v", files, err)
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	for _, want := range []string{
		"=== Lettre m1 — référence activation_code:p1 ===",
		"Mme Hélène Durand\n12 rue des Lilas\n75011 PARIS\n\nObjet : Votre code d'activation\n\nMadame,",
		"\f\n=== Lettre m2 — référence activation_code:p2 ===",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in\n%s", want, text)
		}
	}
	if strings.Contains(text, "une seule ligne") {
		t.Error("the invalid letter was written")
	}
	if st, _ := os.Stat(files[0]); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode())
	}
}

func TestCheck(t *testing.T) {
	ok := letter.Letter{ID: "1", Recipient: "M. Jean Martin\n1 place de la Mairie\n13001 MARSEILLE", Body: "x"}
	if err := letter.Check(ok); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*letter.Letter){
		"one line":   func(l *letter.Letter) { l.Recipient = "M. Jean Martin" },
		"seven":      func(l *letter.Letter) { l.Recipient = strings.Repeat("ligne\n", 7) },
		"long line":  func(l *letter.Letter) { l.Recipient = "M. Jean Martin\n" + strings.Repeat("é", 39) },
		"empty line": func(l *letter.Letter) { l.Recipient = "M. Jean Martin\n \n13001 MARSEILLE" },
		"no body":    func(l *letter.Letter) { l.Body = " \n" },
		"form feed":  func(l *letter.Letter) { l.Body = "a\fb" },
	} {
		l := ok
		mod(&l)
		if err := letter.Check(l); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
