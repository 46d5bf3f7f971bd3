// nporacle: an independent NetworkPolicy oracle for ztmap's tests. It answers "is this
// connection allowed?" with Cyclonus's matcher (github.com/mattfenwick/cyclonus/pkg/matcher),
// which evaluates policies without a cluster. See README.md for what is Cyclonus and what is
// this wrapper.
//
// stdin:  {"policies":[NetworkPolicy...], "namespaces":{"ns":{labels}}, "pods":[...], "cases":[...]}
//
//	pod:  {"namespace","name","labels":{},"ip","ports":[{"name","containerPort","protocol"}]}
//	case: {"id","from":{"pod":"ns/name"}|{"ip":"1.2.3.4"},"to":{...},"port":8080|"http","protocol":"TCP"}
//
// stdout: one JSON line per case, in input order:
//
//	{"id","allowed","ingress","egress"} (+ "error" when the case could not be evaluated)
//
// Exit status 2 when the input is not JSON or the policies are invalid (Cyclonus panics on them).
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/mattfenwick/cyclonus/pkg/matcher"
	"github.com/sirupsen/logrus"
	v1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

type ContainerPort struct {
	Name          string      `json:"name"`
	ContainerPort int         `json:"containerPort"`
	Protocol      v1.Protocol `json:"protocol"`
}

type Pod struct {
	Namespace string            `json:"namespace"`
	Name      string            `json:"name"`
	Labels    map[string]string `json:"labels"`
	IP        string            `json:"ip"`
	Ports     []ContainerPort   `json:"ports"`
}

type Endpoint struct {
	Pod string `json:"pod"` // "ns/name"
	IP  string `json:"ip"`
}

type Case struct {
	ID       string             `json:"id"`
	From     Endpoint           `json:"from"`
	To       Endpoint           `json:"to"`
	Port     intstr.IntOrString `json:"port"` // number, or a name resolved against the destination pod
	Protocol v1.Protocol        `json:"protocol"`
}

type Input struct {
	Policies   []*networkingv1.NetworkPolicy `json:"policies"`
	Namespaces map[string]map[string]string  `json:"namespaces"`
	Pods       []Pod                         `json:"pods"`
	Cases      []Case                        `json:"cases"`
}

type Result struct {
	ID      string `json:"id"`
	Allowed bool   `json:"allowed"`
	Ingress bool   `json:"ingress"`
	Egress  bool   `json:"egress"`
	Error   string `json:"error,omitempty"`
}

type Options struct {
	Simplify     bool // let Cyclonus simplify the policy before matching
	RawSelectors bool // hand selectors to Cyclonus unchanged (exposes its label-selector bugs)
}

// normalize applies the defaults the API server applies before storing a policy
// (k8s.io/kubernetes pkg/apis/networking/v1/defaults.go, SetDefaults_NetworkPolicy):
// when policyTypes is empty, Ingress, plus Egress if len(spec.egress) != 0 — so
// `egress: []` does not make a policy an egress policy. Cyclonus panics on empty
// policyTypes instead. An empty namespace becomes "default", as Cyclonus does itself.
// (Port protocols left empty are read as TCP by Cyclonus, as the API server defaults them.)
func normalize(p *networkingv1.NetworkPolicy) {
	if p.Namespace == "" {
		p.Namespace = "default"
	}
	if len(p.Spec.PolicyTypes) == 0 {
		p.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		if len(p.Spec.Egress) != 0 {
			p.Spec.PolicyTypes = append(p.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
		}
	}
}

// --- workaround for two Cyclonus v0.5.6 label-selector bugs (see README) ---
// kube.IsLabelsMatchLabelSelector:
//   - NotIn returns false when the key is absent (Kubernetes: true);
//   - matchLabels {k: ""} matches when k is absent (Kubernetes: false), because it
//     compares labels[k] (the zero value "") with "".
//
// Rewrite every selector into In/NotIn-only form and give every absent key that some
// selector mentions a sentinel value that can never be a valid label value (labels
// values are at most 63 characters of [A-Za-z0-9_.-]). Cyclonus's In/NotIn are then exact:
//
//	k=v -> k In [v]; Exists k -> k NotIn [S]; DoesNotExist k -> k In [S].
const absent = "\x00absent"

type selectorFixer struct {
	keys map[string]bool // every key some rewritten selector mentions
}

func newSelectorFixer() *selectorFixer { return &selectorFixer{keys: map[string]bool{}} }

func (f *selectorFixer) fixSelector(sel *metav1.LabelSelector) {
	if sel == nil {
		return
	}
	var exprs []metav1.LabelSelectorRequirement
	for k, v := range sel.MatchLabels {
		exprs = append(exprs, metav1.LabelSelectorRequirement{Key: k, Operator: metav1.LabelSelectorOpIn, Values: []string{v}})
	}
	for _, e := range sel.MatchExpressions {
		switch e.Operator {
		case metav1.LabelSelectorOpExists:
			e = metav1.LabelSelectorRequirement{Key: e.Key, Operator: metav1.LabelSelectorOpNotIn, Values: []string{absent}}
		case metav1.LabelSelectorOpDoesNotExist:
			e = metav1.LabelSelectorRequirement{Key: e.Key, Operator: metav1.LabelSelectorOpIn, Values: []string{absent}}
		}
		exprs = append(exprs, e)
	}
	for _, e := range exprs {
		f.keys[e.Key] = true
	}
	// Cyclonus merges the targets of policies with equal selectors by a key built from
	// the expressions in order: sort them so equal selectors give equal keys.
	sort.SliceStable(exprs, func(i, j int) bool {
		if exprs[i].Key != exprs[j].Key {
			return exprs[i].Key < exprs[j].Key
		}
		if exprs[i].Operator != exprs[j].Operator {
			return exprs[i].Operator < exprs[j].Operator
		}
		return strings.Join(exprs[i].Values, "\x01") < strings.Join(exprs[j].Values, "\x01")
	})
	sel.MatchLabels = nil
	sel.MatchExpressions = exprs
}

func (f *selectorFixer) fixPolicy(p *networkingv1.NetworkPolicy) {
	f.fixSelector(&p.Spec.PodSelector)
	fixPeers := func(peers []networkingv1.NetworkPolicyPeer) {
		for i := range peers {
			f.fixSelector(peers[i].PodSelector)
			f.fixSelector(peers[i].NamespaceSelector)
		}
	}
	for i := range p.Spec.Ingress {
		fixPeers(p.Spec.Ingress[i].From)
	}
	for i := range p.Spec.Egress {
		fixPeers(p.Spec.Egress[i].To)
	}
}

// withSentinels copies labels and adds the sentinel value for every selector key they lack.
// A nil fixer (raw selectors) copies only.
func (f *selectorFixer) withSentinels(labels map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range labels {
		out[k] = v
	}
	if f != nil {
		for k := range f.keys {
			if _, ok := out[k]; !ok {
				out[k] = absent
			}
		}
	}
	return out
}

type oracle struct {
	in     *Input
	pods   map[string]*Pod
	fixer  *selectorFixer // nil with RawSelectors
	policy *matcher.Policy
}

// newOracle normalizes the policies and builds Cyclonus's policy model; Cyclonus panics on
// invalid policies, which is returned as an error.
func newOracle(in *Input, opts Options) (o *oracle, err error) {
	o = &oracle{in: in, pods: map[string]*Pod{}}
	if !opts.RawSelectors {
		o.fixer = newSelectorFixer()
	}
	for i, p := range in.Policies {
		if p == nil {
			return nil, fmt.Errorf("policy %d is null", i)
		}
		normalize(p)
		if o.fixer != nil {
			o.fixer.fixPolicy(p)
		}
	}
	for i := range in.Pods {
		p := &in.Pods[i]
		o.pods[p.Namespace+"/"+p.Name] = p
	}
	defer func() {
		if r := recover(); r != nil {
			o, err = nil, fmt.Errorf("invalid policies: %v", r)
		}
	}()
	o.policy = matcher.BuildNetworkPolicies(opts.Simplify, in.Policies)
	return o, nil
}

func (o *oracle) nsLabels(ns string) map[string]string {
	out := map[string]string{}
	for k, v := range o.in.Namespaces[ns] {
		out[k] = v
	}
	// Set by the API server on every namespace since Kubernetes 1.21.
	if _, ok := out["kubernetes.io/metadata.name"]; !ok {
		out["kubernetes.io/metadata.name"] = ns
	}
	return o.fixer.withSentinels(out)
}

func (o *oracle) peer(e Endpoint) (*matcher.TrafficPeer, *Pod, error) {
	if e.Pod != "" {
		p, ok := o.pods[e.Pod]
		if !ok {
			return nil, nil, fmt.Errorf("unknown pod %q", e.Pod)
		}
		if p.IP == "" {
			return nil, nil, fmt.Errorf("pod %q has no ip", e.Pod)
		}
		return &matcher.TrafficPeer{
			IP: p.IP,
			Internal: &matcher.InternalPeer{
				Namespace:       p.Namespace,
				NamespaceLabels: o.nsLabels(p.Namespace),
				PodLabels:       o.fixer.withSentinels(p.Labels),
			},
		}, p, nil
	}
	if e.IP == "" {
		return nil, nil, fmt.Errorf("endpoint needs pod or ip")
	}
	return &matcher.TrafficPeer{IP: e.IP}, nil, nil
}

func protocolOf(p v1.Protocol) v1.Protocol {
	if p == "" {
		return v1.ProtocolTCP
	}
	return v1.Protocol(strings.ToUpper(string(p)))
}

func (o *oracle) evaluate(c Case) (res Result) {
	defer func() {
		if r := recover(); r != nil { // Cyclonus panics on bad input (bad CIDR, bad IP, ...)
			res = Result{ID: c.ID, Error: fmt.Sprint(r)}
		}
	}()
	src, _, err := o.peer(c.From)
	if err != nil {
		return Result{ID: c.ID, Error: err.Error()}
	}
	dst, dstPod, err := o.peer(c.To)
	if err != nil {
		return Result{ID: c.ID, Error: err.Error()}
	}
	proto := protocolOf(c.Protocol)

	// Cyclonus takes the port both as a number and as a name (its matcher compares a
	// policy's named port with the name). Resolve the one not given against the
	// destination pod's container ports of the same protocol; a destination that is not
	// a pod has no port names.
	portNum, portName := -1, ""
	if c.Port.Type == intstr.Int {
		portNum = int(c.Port.IntVal)
	} else {
		portName = c.Port.StrVal
	}
	if dstPod != nil {
		for _, cp := range dstPod.Ports {
			if protocolOf(cp.Protocol) != proto {
				continue
			}
			if c.Port.Type == intstr.Int && cp.ContainerPort == portNum {
				portName = cp.Name
				break
			}
			if c.Port.Type == intstr.String && cp.Name != "" && cp.Name == portName {
				portNum = cp.ContainerPort
				break
			}
		}
	}
	if portNum == -1 {
		return Result{ID: c.ID, Error: fmt.Sprintf("named port %q not found on destination", portName)}
	}

	ar := o.policy.IsTrafficAllowed(&matcher.Traffic{
		Source:           src,
		Destination:      dst,
		ResolvedPort:     portNum,
		ResolvedPortName: portName,
		Protocol:         proto,
	})
	return Result{ID: c.ID, Allowed: ar.IsAllowed(), Ingress: ar.Ingress.IsAllowed(), Egress: ar.Egress.IsAllowed()}
}

// run reads one input document from r and writes one result line per case to w.
func run(r io.Reader, w io.Writer, opts Options) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	var in Input
	if err := json.Unmarshal(raw, &in); err != nil {
		return fmt.Errorf("bad input: %w", err)
	}
	o, err := newOracle(&in, opts)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for _, c := range in.Cases {
		if err := enc.Encode(o.evaluate(c)); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func main() {
	var opts Options
	flag.BoolVar(&opts.Simplify, "simplify", false, "let Cyclonus simplify the policy before matching")
	flag.BoolVar(&opts.RawSelectors, "raw-selectors", false, "do not work around Cyclonus's NotIn / empty-matchLabels-value bugs")
	flag.Parse()
	logrus.SetLevel(logrus.WarnLevel)
	if err := run(os.Stdin, os.Stdout, opts); err != nil {
		fmt.Fprintln(os.Stderr, "nporacle:", err)
		os.Exit(2)
	}
}
