package apply

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// TextDiff renders the difference between the live object and the object
// after the apply as unified-style lines ("-" live, "+" after), with two
// lines of context, leaving out what the server maintains (status,
// managedFields, resourceVersion, generation, uid, creationTimestamp).
func TextDiff(live, merged *unstructured.Unstructured) string {
	a := strings.Split(strings.TrimSpace(comparable(live)), "\n")
	b := strings.Split(strings.TrimSpace(comparable(merged)), "\n")
	return lineDiff(a, b, 2)
}

func comparable(u *unstructured.Unstructured) string {
	c := u.DeepCopy()
	unstructured.RemoveNestedField(c.Object, "status")
	for _, f := range []string{"managedFields", "resourceVersion", "generation", "uid", "creationTimestamp"} {
		unstructured.RemoveNestedField(c.Object, "metadata", f)
	}
	out, err := yaml.Marshal(c.Object)
	if err != nil {
		return err.Error()
	}
	return string(out)
}

// lineDiff is a longest-common-subsequence diff of two line lists.
func lineDiff(a, b []string, context int) string {
	n, m := len(a), len(b)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type line struct {
		op   byte
		text string
	}
	var lines []line
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			lines = append(lines, line{' ', a[i]})
			i++
			j++
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			lines = append(lines, line{'-', a[i]})
			i++
		default:
			lines = append(lines, line{'+', b[j]})
			j++
		}
	}
	show := make([]bool, len(lines))
	for k, l := range lines {
		if l.op != ' ' {
			for d := max(0, k-context); d <= min(len(lines)-1, k+context); d++ {
				show[d] = true
			}
		}
	}
	var sb strings.Builder
	gap := false
	for k, l := range lines {
		if !show[k] {
			gap = true
			continue
		}
		if gap && sb.Len() > 0 {
			sb.WriteString("    ...\n")
		}
		gap = false
		sb.WriteString("  ")
		sb.WriteByte(l.op)
		sb.WriteString(" ")
		sb.WriteString(l.text)
		sb.WriteString("\n")
	}
	return sb.String()
}
