package identity

import (
	"testing"
	"time"

	"github.com/carnet-sante/carnet"
)

func TestGenericAnswers(t *testing.T) {
	tests := []struct {
		name string
		err  *carnet.Error
		code string
		msg  string
	}{
		{"activation", ActivationFailed(), carnet.EUNAUTHORIZED, "Les informations saisies ne permettent pas d'activer l'espace santé."},
		{"login", LoginFailed(), carnet.EUNAUTHORIZED, "Identifiant ou mot de passe incorrect."},
		{"code", CodeRejected(), carnet.EUNAUTHORIZED, "Le code saisi est incorrect ou a expiré."},
	}
	for _, tt := range tests {
		if carnet.ErrorCode(tt.err) != tt.code || carnet.ErrorMessage(tt.err) != tt.msg {
			t.Errorf("%s: %v, want %s %q", tt.name, tt.err, tt.code, tt.msg)
		}
	}
	// Each call returns a fresh error: callers may wrap it without affecting others.
	if a, b := ActivationFailed(), ActivationFailed(); a == b {
		t.Error("ActivationFailed returns a shared value")
	}
}

func TestTooManyAttempts(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "Trop de tentatives. Réessayez dans 1 seconde."},
		{time.Millisecond, "Trop de tentatives. Réessayez dans 1 seconde."},
		{time.Second, "Trop de tentatives. Réessayez dans 1 seconde."},
		{1500 * time.Millisecond, "Trop de tentatives. Réessayez dans 2 secondes."},
		{45 * time.Second, "Trop de tentatives. Réessayez dans 45 secondes."},
		{59 * time.Second, "Trop de tentatives. Réessayez dans 59 secondes."},
		{time.Minute, "Trop de tentatives. Réessayez dans 1 minute."},
		{61 * time.Second, "Trop de tentatives. Réessayez dans 2 minutes."},
		{15 * time.Minute, "Trop de tentatives. Réessayez dans 15 minutes."},
		{59 * time.Minute, "Trop de tentatives. Réessayez dans 59 minutes."},
		{time.Hour, "Trop de tentatives. Réessayez dans 1 heure."},
		{time.Hour + time.Second, "Trop de tentatives. Réessayez dans 1 heure 1 minute."},
		{2*time.Hour + 30*time.Minute, "Trop de tentatives. Réessayez dans 2 heures 30 minutes."},
		{2*time.Hour + 59*time.Minute + 30*time.Second, "Trop de tentatives. Réessayez dans 3 heures."},
		{24 * time.Hour, "Trop de tentatives. Réessayez dans 24 heures."},
		{time.Duration(1<<63 - 1), "Trop de tentatives. Réessayez dans 1000 heures."},
	}
	for _, tt := range tests {
		err := TooManyAttempts(tt.d)
		if carnet.ErrorCode(err) != carnet.ERATELIMIT || carnet.ErrorMessage(err) != tt.want {
			t.Errorf("TooManyAttempts(%v) = %v, want %q", tt.d, err, tt.want)
		}
	}
}
