// Package enroll is the pure, streaming part of bulk enrolment (carnet enroll FILE.csv): it reads
// a CSV file of insured people, validates every row and hands good rows and bad rows to the
// caller, writes a report of bad rows, shows progress, and generates synthetic test files.
//
// Nothing here touches storage: the caller creates the patients (and resolves a minor's rights
// holder to a patient ID), deduplicates NIRs against the store, and saves checkpoints. Memory
// stays flat in the size of the file: records are read one at a time and nothing is kept
// between rows. Nothing is logged; neither errors nor bad-row reasons quote a NIR (they may quote
// an email address, a phone number or a date, so the report is written for its owner only).
//
// # File format
//
// The file is UTF-8 CSV, with or without a byte-order mark. The first line is a header naming
// the columns; names are case-insensitive and may come in any order. The separator is ";" or
// ",", whichever the header line uses most. Fields holding the separator, a double quote or a
// line break are enclosed in double quotes, and a double quote inside them is doubled (RFC 4180).
// Empty lines are ignored. Columns:
//
//	column             required  content
//	nir                yes       NIR: 13 characters + 2-digit key; spaces, dots and dashes ignored
//	vitale_serial      yes       Vitale card serial number: 8 to 20 digits or upper-case letters, spaces ignored
//	birth_name         yes       birth name (nom de naissance)
//	given_names        yes       given names, space-separated, the first one first
//	used_name          no        used name (nom d'usage)
//	sex                yes       M or F
//	birth_date         yes       AAAA-MM-JJ (YYYY-MM-DD)
//	email              no        email address
//	mobile             no        mobile number: 06 12 34 56 78, 06.12.34.56.78 or +33612345678
//	postal_address     no        lines separated by a line break inside a quoted field, or by " / "
//	rights_holder_nir  no        for a minor only: the NIR of the parent who holds the insurance rights
//
// A column marked "no" may be left out of the header; a column in the header has a field in
// every row, possibly empty. Which of email, mobile and postal_address a row needs is a rule
// of the row (below), not of the header.
//
// An unknown or repeated column, or a missing required column, is an error of the whole file
// (NewReader fails). Every other problem concerns one row, which is reported as bad while the
// rest of the file goes on:
//
//   - a wrong number of fields, or a CSV syntax error confined to one record (a stray quote);
//   - the identity traits: NIR layout and key, NIR consistent with sex, birth year and month,
//     names present and free of control characters, sex, a real date not in the future;
//   - email and mobile when given (the mobile is normalized to E.164 first);
//   - the Vitale card serial number;
//   - contact: an adult (18 or over on the day of the run) needs at least one of email, mobile
//     or postal address, and must leave rights_holder_nir empty; a minor needs a valid
//     rights_holder_nir different from their own NIR, and their own contact fields are optional.
//
// The reader does not check that a rights holder appears in the file or in the store, nor that
// a NIR is unique: both need state beyond one row, and belong to the caller.
//
// A quoted field that is never closed swallows the lines after it; rather than silently skip
// them, the reader stops with an error naming the line where the record began.
//
// Example (separator ";"; the second person is a minor; the third row is bad, its Vitale serial
// number is too short):
//
//	nir;vitale_serial;birth_name;given_names;used_name;sex;birth_date;email;mobile;postal_address;rights_holder_nir
//	285037505612306;123456789012;DUPONT;Marie Louise;MARTIN;F;1985-03-12;marie.dupont@exemple.fr;06 12 34 56 78;;
//	115067505620161;987654321098;DUPONT;Lucas;;M;2015-06-20;;;;285037505612306
//	152116912304531;1234;MARTIN;Jean;;M;1952-11-02;;;"12 rue de la Paix
//	75002 Paris";
//
// # Line numbers, report and resuming
//
// A row's Line is the physical line where its record starts (the header is line 1), so a
// quoted field spanning several lines does not shift later numbers. Bad rows go to a report,
// a CSV file with the columns ligne;motif, that the operator fixes the file from.
//
// To resume an interrupted run, the caller saves a checkpoint now and then: the Line of the last
// row handled and, after Report.Sync, Report.Offset. A new run opens the report with
// OpenReport(path, offset) and calls Reader.SkipThrough(line) before reading on; the report then
// ends up byte for byte as an uninterrupted run would have written it. A fresh run uses offset 0.
//
// The report is a CSV file with ";" as separator, the header ligne;motif, and one row per bad
// row: its line in the input, and every problem found, in French, joined with "; " (the field
// is quoted then, as it holds the separator):
//
//	ligne;motif
//	4;numéro de série de la carte Vitale invalide : 8 à 20 chiffres ou lettres majuscules attendus
//	9;"NIR invalide : la clé de contrôle ne correspond pas; majeur sans moyen de contact : courriel, mobile ou adresse postale requis"
package enroll
