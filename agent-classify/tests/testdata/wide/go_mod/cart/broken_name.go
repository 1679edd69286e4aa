//go:build broken_name

package cart

// Names lists the item names.
func Names(lines []Line) []string {
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		out = append(out, l.Name)
	}
	return output
}
