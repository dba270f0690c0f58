package notify

import (
	"net/mail"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/carnet-sante/carnet/internal/notify/sms"
)

// MaskEmail hides an email address for logs, keeping the first character of the local part and
// the domain: "jean.dupont@example.org" → "j***@example.org". A display name is dropped.
func MaskEmail(addr string) string {
	if a, err := mail.ParseAddress(addr); err == nil {
		addr = a.Address
	}
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 {
		return "***"
	}
	r, _ := utf8.DecodeRuneInString(addr)
	return string(r) + "***" + addr[at:]
}

// MaskPhone hides a phone number for logs, keeping its country code's first digits and its last
// two digits: "+33612345678" → "+33*******78".
func MaskPhone(number string) string {
	if n, err := sms.Normalize(number); err == nil {
		number = n
	}
	var digits []byte
	plus := strings.HasPrefix(strings.TrimSpace(number), "+")
	for i := 0; i < len(number); i++ {
		if c := number[i]; c >= '0' && c <= '9' {
			digits = append(digits, c)
		}
	}
	if len(digits) < 6 {
		return "***"
	}
	keepHead := 0
	if plus {
		keepHead = 2
	}
	var b strings.Builder
	if plus {
		b.WriteByte('+')
	}
	b.Write(digits[:keepHead])
	b.WriteString(strings.Repeat("*", len(digits)-keepHead-2))
	b.Write(digits[len(digits)-2:])
	return b.String()
}

// MaskRecipient hides a recipient of the given outbox channel for logs. A postal address is not
// shown at all.
func MaskRecipient(channel, recipient string) string {
	switch channel {
	case ChannelEmail:
		return MaskEmail(recipient)
	case ChannelSMS:
		return MaskPhone(recipient)
	}
	return "***"
}

var (
	emailLike = regexp.MustCompile(`[^\s<>"'(),;:@]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)
	phoneLike = regexp.MustCompile(`\+[0-9][0-9 .-]{6,}[0-9]|\b0[1-9](?:[ .-]?[0-9]{2}){4}\b`)
)

// scrub removes addresses and phone numbers from an error text before it is logged or stored:
// servers like to echo the recipient ("550 <jean@example.org>: no such user").
func scrub(s, recipient string) string {
	if recipient != "" && !strings.Contains(recipient, "\n") {
		s = strings.ReplaceAll(s, recipient, "***")
	}
	for _, line := range strings.Split(recipient, "\n") {
		// Postal addresses: drop each line of the address that the text repeats.
		if line = strings.TrimSpace(line); len(line) >= 4 {
			s = strings.ReplaceAll(s, line, "***")
		}
	}
	s = emailLike.ReplaceAllStringFunc(s, MaskEmail)
	s = phoneLike.ReplaceAllStringFunc(s, MaskPhone)
	return s
}
