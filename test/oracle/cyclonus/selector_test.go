package main

import (
	"math/rand"
	"testing"

	"github.com/mattfenwick/cyclonus/pkg/kube"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// The selector rewrite plus sentinels must make Cyclonus's selector matching agree with
// apimachinery's (the code the API server and kube-controller-manager use), on random
// selectors and label sets over a small vocabulary that includes the empty value.
func TestSelectorRewriteMatchesApimachinery(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	keys := []string{"a", "b", "c"}
	vals := []string{"", "x", "y"}
	ops := []metav1.LabelSelectorOperator{metav1.LabelSelectorOpIn, metav1.LabelSelectorOpNotIn, metav1.LabelSelectorOpExists, metav1.LabelSelectorOpDoesNotExist}
	rawMismatch := 0
	for i := 0; i < 20000; i++ {
		sel := metav1.LabelSelector{}
		for _, k := range keys {
			if r.Intn(3) == 0 {
				if sel.MatchLabels == nil {
					sel.MatchLabels = map[string]string{}
				}
				sel.MatchLabels[k] = vals[r.Intn(len(vals))]
			}
		}
		for n := r.Intn(3); n > 0; n-- {
			op := ops[r.Intn(len(ops))]
			e := metav1.LabelSelectorRequirement{Key: keys[r.Intn(len(keys))], Operator: op}
			if op == metav1.LabelSelectorOpIn || op == metav1.LabelSelectorOpNotIn {
				e.Values = []string{vals[r.Intn(len(vals))], vals[r.Intn(len(vals))]}
			}
			sel.MatchExpressions = append(sel.MatchExpressions, e)
		}
		l := map[string]string{}
		for _, k := range keys {
			if r.Intn(2) == 0 {
				l[k] = vals[r.Intn(len(vals))]
			}
		}
		ks, err := metav1.LabelSelectorAsSelector(&sel)
		if err != nil {
			t.Fatal(err)
		}
		want := ks.Matches(labels.Set(l))
		if kube.IsLabelsMatchLabelSelector(l, sel) != want {
			rawMismatch++
		}
		fixed := *sel.DeepCopy()
		f := newSelectorFixer()
		f.fixSelector(&fixed)
		if got := kube.IsLabelsMatchLabelSelector(f.withSentinels(l), fixed); got != want {
			t.Fatalf("selector %+v labels %v: got %v want %v", sel, l, got, want)
		}
	}
	if rawMismatch == 0 {
		t.Fatalf("unpatched Cyclonus agreed with apimachinery on all cases: is the workaround still needed?")
	}
	t.Logf("unpatched Cyclonus disagreed with apimachinery on %d/20000 random cases", rawMismatch)
}
