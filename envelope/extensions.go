package envelope

import (
	"slices"
	"strings"
)

// decodeExtensions decodes the extension headers Read collected into
// e.Extensions. A valid message costs one pass: each header is checked,
// decoded and stored, and a name given twice shows as a map that did not
// grow. Only a message with a fault is sorted, by firstExtensionFault, so
// that the fault reported is the same whatever order the header map gave.
// The count is checked first, so neither pass ever sees more than
// MaxExtensions headers.
func decodeExtensions(extensions []rawExtension, e *Envelope) error {
	if len(extensions) == 0 {
		return nil
	}
	if len(extensions) > MaxExtensions {
		return tooManyExtensions(len(extensions))
	}
	m := make(map[string]string, len(extensions))
	for i, x := range extensions {
		if len(x.values) > 1 || extensionNameProblem(x.name) != "" {
			return firstExtensionFault(extensions)
		}
		v, p := decodeHeaderValue(x.values[0])
		if p != "" {
			return firstExtensionFault(extensions)
		}
		if m[x.name] = v; len(m) != i+1 {
			return firstExtensionFault(extensions)
		}
	}
	e.Extensions = m
	return nil
}

// firstExtensionFault reports the fault of a set of extension headers that
// has one: sorted by name, the first bad or repeated name, or failing that
// the first value that does not decode. Sorting also puts a name given in
// two letter cases next to itself. (slices.SortFunc is O(n log n) and does
// not allocate; an insertion sort here once made 5,000 extensions take
// 59 ms.)
func firstExtensionFault(extensions []rawExtension) error {
	slices.SortFunc(extensions, func(a, b rawExtension) int { return strings.Compare(a.name, b.name) })
	for i, x := range extensions {
		if p := extensionNameProblem(x.name); p != "" {
			return malformed(x.name, "%s", p)
		}
		if len(x.values) > 1 || (i > 0 && extensions[i-1].name == x.name) {
			return malformed(x.name, "given more than once (as several headers differing only in "+
				"letter case, or several values); send exactly one ce-%s header", clip(x.name))
		}
	}
	for _, x := range extensions {
		if _, p := decodeHeaderValue(x.values[0]); p != "" {
			return malformed(x.name, "header ce-%s: %s", clip(x.name), p)
		}
	}
	// Unreachable while the checks above match decodeExtensions'; an error,
	// not a panic, should they ever drift apart.
	return malformed(extensions[0].name, "extension headers are invalid")
}
