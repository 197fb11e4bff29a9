// Package signing makes, loads and uses the OpenPGP keys that sign debflow's
// apt repositories (InRelease, Release.gpg) and packages (the debsigs
// _gpgorigin member), and verifies such signatures.
//
// The signatures must be accepted by the verifiers that run on devices, the
// oldest of which is GnuPG 2.2's gpgv in Debian 12: apt calls it for every
// InRelease. That dictates the choices made here, on top of
// github.com/ProtonMail/go-crypto:
//
//   - Keys are version 4. Ed25519 keys use the legacy EdDSA algorithm (22)
//     with the Ed25519 curve OID, as GnuPG makes them. RFC 9580 Ed25519
//     (algorithm 27) and version 6 keys are rejected by gpgv 2.2 with
//     "Invalid public key algorithm", so they are never produced.
//   - Generated keys are signing-only: one primary key that certifies and
//     signs, no encryption subkey. (go-crypto's NewEntity always adds one;
//     Generate drops it.) Keys made elsewhere, such as a GnuPG key whose
//     primary part is kept offline and whose subkey signs, are used as they
//     are.
//   - Signatures use SHA-512. SHA-1 signatures are never made, and are
//     refused on verification, as apt refuses them.
//   - Signatures carry no random salt notation (go-crypto adds one by
//     default), so they look like GnuPG's and are deterministic: the same
//     key, message and time give the same bytes, which keeps a republished
//     repository byte-for-byte the same.
//   - A signature dated before its key was created is refused here rather
//     than by gpgv on every device. A time taken from SOURCE_DATE_EPOCH can
//     be that old.
//
// Clearsigned documents follow gpg --clearsign exactly. The message must end
// in a newline, which is not part of the signed text, and no line may end in
// a space, tab or carriage return, which clearsigning would drop; ClearSign
// refuses other messages instead of signing text that differs from them.
// `gpgv --output` and VerifyClearsigned then give back the message byte for
// byte. (apt itself joins the signed lines with "\n" and so reads it without
// the final newline, as it does for Debian's own InRelease files.)
//
// The rest of debflow depends on the Signer interface rather than on *Key,
// so that a KMS, an agent or a test key can sign instead.
package signing
