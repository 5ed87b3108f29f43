package stack

import "sort"

func sortedRefs[V any](m map[ObjectRef]V) []ObjectRef {
	refs := make([]ObjectRef, 0, len(m))
	for r := range m {
		refs = append(refs, r)
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].String() < refs[j].String() })
	return refs
}
