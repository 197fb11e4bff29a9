// Package debian holds the Debian data formats that both ends of debflow
// share: control paragraphs (deb822 stanzas, as in DEBIAN/control, Packages
// and Release files), and the syntax of package names, versions and
// architectures from Debian policy.
//
// The parser is strict on purpose. debflow copies control data from
// uploaded packages into the indexes that every device reads, so a field
// that smuggles a newline, a control character or a second stanza must be
// refused here rather than escaped later. Version ordering is dpkg's, taken
// from aptly's implementation and checked against dpkg itself in tests.
package debian
