package values

import (
	"reflect"

	"k8s.io/apimachinery/pkg/api/resource"
)

// deepCopy returns an addressable deep copy of v (of type ti): pointers,
// slices and maps are copied, so decoding into the copy leaves v as it was.
// Unexported fields are copied shallowly.
func deepCopy(v reflect.Value, ti *typeInfo) reflect.Value {
	out := reflect.New(ti.t).Elem()
	copyInto(out, v, ti, 0)
	return out
}

func copyInto(dst, src reflect.Value, ti *typeInfo, depth int) {
	if depth > maxDepth {
		dst.Set(src)
		return
	}
	switch ti.kind {
	case kQuantity:
		dst.Set(reflect.ValueOf(src.Interface().(resource.Quantity).DeepCopy()))
	case kPtr:
		if src.IsNil() {
			dst.Set(reflect.Zero(ti.t))
			return
		}
		p := reflect.New(ti.elem.t)
		copyInto(p.Elem(), src.Elem(), ti.elem, depth+1)
		dst.Set(p)
	case kStruct:
		dst.Set(src)
		for _, f := range ti.fields {
			copyInto(dst.FieldByIndex(f.index), src.FieldByIndex(f.index), f.info, depth+1)
		}
	case kSlice:
		if src.IsNil() {
			dst.Set(reflect.Zero(ti.t))
			return
		}
		s := reflect.MakeSlice(ti.t, src.Len(), src.Len())
		for i := 0; i < src.Len(); i++ {
			copyInto(s.Index(i), src.Index(i), ti.elem, depth+1)
		}
		dst.Set(s)
	case kMap:
		if src.IsNil() {
			dst.Set(reflect.Zero(ti.t))
			return
		}
		m := reflect.MakeMapWithSize(ti.t, src.Len())
		iter := src.MapRange()
		for iter.Next() {
			e := reflect.New(ti.elem.t).Elem()
			copyInto(e, iter.Value(), ti.elem, depth+1)
			m.SetMapIndex(iter.Key(), e)
		}
		dst.Set(m)
	default:
		dst.Set(src)
	}
}
