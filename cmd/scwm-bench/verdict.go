package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// A verdict compares one figure of each binary with a target of issue 12:
// at least (">=") or at most ("<=") Want. The targets are ratios of one run
// on one machine, not timed tests: a MISS makes no run fail.
type verdict struct {
	Target string  `json:"target"`
	Op     string  `json:"op"`
	Want   float64 `json:"want"`
	Unit   string  `json:"unit"` // "x" for a ratio, "ms", "s"
	// Figures holds one figure per binary of the run; nil where it could
	// not be measured, and then Missing says why.
	Figures []*float64 `json:"figures"`
	Missing []string   `json:"missing,omitempty"`
}

// newVerdict is a verdict with room for n binaries' figures.
func newVerdict(target, op string, want float64, unit string, n int) *verdict {
	return &verdict{Target: target, Op: op, Want: want, Unit: unit, Figures: make([]*float64, n), Missing: make([]string, n)}
}

// set records binary i's figure; a figure that is not a finite number
// (a ratio to zero) is missing.
func (v *verdict) set(i int, figure float64) {
	if math.IsNaN(figure) || math.IsInf(figure, 0) {
		v.Missing[i] = "not measurable"
		return
	}
	v.Figures[i] = &figure
}

// missing records why binary i has no figure.
func (v *verdict) missing(i int, why string) { v.Missing[i] = why }

// pass is binary i's result: nil when it has no figure.
func (v *verdict) pass(i int) *bool {
	if i >= len(v.Figures) || v.Figures[i] == nil {
		return nil
	}
	ok := meets(v.Op, *v.Figures[i], v.Want)
	return &ok
}

// meets reports whether figure meets the target op want.
func meets(op string, figure, want float64) bool {
	switch op {
	case ">=":
		return figure >= want
	case "<=":
		return figure <= want
	}
	return false
}

// ratio is a/b, NaN when b is not positive.
func ratio(a, b float64) float64 {
	if b <= 0 {
		return math.NaN()
	}
	return a / b
}

// formatFigure prints a figure in its unit.
func formatFigure(f float64, unit string) string {
	switch unit {
	case "x":
		return fmt.Sprintf("%.2fx", f)
	case "ms":
		return fmt.Sprintf("%.1f ms", f)
	case "s":
		return fmt.Sprintf("%.3f s", f)
	}
	return fmt.Sprintf("%.2f %s", f, unit)
}

// printVerdicts prints the targets with each binary's figure and PASS or
// MISS.
func printVerdicts(out io.Writer, bins []binary, vs []*verdict) {
	if len(vs) == 0 {
		return
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	head := "target\twanted"
	for _, b := range bins {
		head += "\t" + b.Label
	}
	fmt.Fprintln(tw, head+"\t")
	for _, v := range vs {
		line := v.Target + "\t" + v.Op + " " + formatFigure(v.Want, v.Unit)
		for i := range bins {
			switch p := v.pass(i); {
			case p == nil:
				why := "n/a"
				if i < len(v.Missing) && v.Missing[i] != "" {
					why = "n/a (" + v.Missing[i] + ")"
				}
				line += "\t" + why
			case *p:
				line += "\t" + formatFigure(*v.Figures[i], v.Unit) + " PASS"
			default:
				line += "\t" + formatFigure(*v.Figures[i], v.Unit) + " MISS"
			}
		}
		fmt.Fprintln(tw, line+"\t")
	}
	tw.Flush()
}

// figureRow is one line of a scenario's figures: a name and one value per
// binary, formatted.
type figureRow struct {
	Name   string   `json:"name"`
	Values []string `json:"values"`
}

// printRows prints a scenario's figures, one column per binary.
func printRows(out io.Writer, bins []binary, rows []figureRow) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	head := "figure"
	for _, b := range bins {
		head += "\t" + b.Label
	}
	fmt.Fprintln(tw, head+"\t")
	for _, r := range rows {
		vals := make([]string, len(bins))
		for i := range vals {
			vals[i] = "-"
			if i < len(r.Values) && r.Values[i] != "" {
				vals[i] = r.Values[i]
			}
		}
		fmt.Fprintln(tw, r.Name+"\t"+strings.Join(vals, "\t")+"\t")
	}
	tw.Flush()
}
