// Package debfile inspects a .deb package that a CI job uploaded, before a
// publisher copies it into an apt repository. Inspect reads the package
// once, as a stream, and either returns what the publisher needs (the
// control stanza, the file's size and hashes) or an error wrapping
// ErrInvalid that says what is wrong and where, such as
//
//	invalid package: control.tar.xz: ./control: field "Filename" may only be set by the publisher
//
// # Threat model
//
// The package is untrusted: any CI job, or anyone who controls one, can
// upload. What it contains ends up in the Packages index and on thousands
// of devices, so every check below either protects the publisher itself
// (memory, time), the index that every device parses, or the devices that
// install the package. Anything unexpected is refused rather than repaired:
// a refusal is visible at upload time, a repair is a surprise on a device.
//
// # The archive
//
// deb(5) fixes the ar members and their order: debian-binary, then
// control.tar[.gz|.xz|.zst], then data.tar[.gz|.xz|.zst]. Only members whose
// names start with "_" (debsigs signatures such as _gpgorigin) may follow.
// Duplicates, unknown members, missing members, a member whose declared size
// runs past the end of the file and bytes after the last member are refused:
// tools disagree on such files (dpkg-deb ignores what follows data.tar, other
// readers do not), and a file that means different things to different
// readers is how a signature check or a scan gets bypassed. debian-binary
// must be one line "2.N": dpkg refuses other major versions. A bzip2 or lzma
// data member is refused with its own message: dpkg still reads those, but
// dpkg-deb calls them obsolete and no longer writes them, and debflow's
// compress package does not read them.
//
// # control.tar
//
// control.tar is decompressed through compress.LimitReader with
// Limits.MaxControlTar, and ./control (or "control") is read with a limit of
// Limits.MaxControl; every other entry is drained. Entries must be regular
// files or directories, with names free of control characters, absolute
// paths and ".." components, and each at most once: dpkg extracts this tar
// into its own database directory.
//
// ./control must be UTF-8 (Debian policy; clients read the index as UTF-8)
// and is parsed with debian.ParseParagraph, which accepts exactly one
// stanza and so refuses the ways of smuggling in a second one, or a field
// the publisher would write: an embedded empty line, control characters, a
// continuation line of white space only (a stanza break for some parsers).
// Package, Version and Architecture must be present and valid, since they
// name the package in the pool and in the index, and Description must have
// a synopsis, which apt shows and indexes. Relationship fields (Depends,
// Breaks, ...) must parse and Installed-Size must be a number, because apt
// refuses a whole Packages file that holds one malformed stanza: one bad
// upload would stop updates for every device.
//
// Two kinds of fields are refused because the uploader must not set them:
//
//   - Fields that the publisher writes into the Packages stanza: Filename,
//     MSDOS-Filename, Size, MD5sum, SHA1, SHA256, SHA512 and Description-md5
//     (a package that names its own file or hash could make the index point
//     at another file), and Phased-Update-Percentage (the rollout of an
//     upgrade is the publisher's decision, not the package's).
//   - Fields of dpkg's status database: Status, Config-Version,
//     Triggers-Pending and Triggers-Awaited, which dpkg itself refuses in a
//     package's control file ("value for 'Status' field not allowed in this
//     context"), so such a package could never be installed; and Conffiles,
//     which dpkg fills from the conffiles file and which has no meaning in a
//     package.
//
// Field names are compared case-insensitively, as dpkg and apt do.
//
// # data.tar
//
// data.tar may be gigabytes, so it is never held in memory: it is
// decompressed as a stream and walked with archive/tar, which checks that
// every header parses and every entry is complete. Its decompressed size is
// bounded by min(MaxData, 64 MiB + MaxRatio × the compressed size), so a
// decompression bomb (a few kilobytes of zstd or xz that expand to gigabytes
// of zeros) fails with compress.ErrTooLarge after at most that many bytes,
// in constant memory, while any honest package, whose ratio is far below
// 200, passes. Device nodes and FIFOs are refused (Debian policy: packages
// create them in maintainer scripts, if at all; a device node in a fleet
// package is a way to root), as are names with ".." components, absolute
// names, control characters in names (dpkg keeps its file lists one name a
// line), hard links that point outside the package, and entry types that
// dpkg does not install.
//
// In both tars, what follows the end-of-archive blocks must be zeros, and
// the compressed stream must end where its member does: "tar
// --ignore-zeros" would read entries hidden after the end that dpkg never
// sees. Draining the padding through the limit also stops a bomb hidden
// there, and makes the decompressor verify its trailing checksum.
//
// # Hashes
//
// The size and the MD5 and SHA-256 digests (what a Packages stanza lists;
// Debian's archive lists no SHA-1 or SHA-512 there) describe the exact
// bytes read, in the same single pass as the checks: Inspect reads its
// input once, through a tee under the ar reader, and drains what is left at
// the end. Beyond its first 256 KiB, a package has each digest run on a
// goroutine of its own, beside the decompression: with a few cores,
// inspecting a large package takes about as long as decompressing it; a
// smaller one is hashed as it is read, without goroutines. Check makes the
// same checks without the digests, for a caller that has no use for them
// (debflow build, checking what it wrote). An error from the reader itself
// (a failing disk, a broken connection) is returned as it is, without
// ErrInvalid: it says nothing about the package, and the upload can be
// retried.
//
// Signatures are not verified here: Info.Signed only reports whether a
// _gpgorigin member is present.
//
// testdata/malformed, at the root of the module, holds a corpus of packages
// that Inspect refuses, with what dpkg-deb makes of each: dpkg-deb accepts
// about half of them.
package debfile
