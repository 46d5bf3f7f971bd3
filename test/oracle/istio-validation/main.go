// istiovalidation: Istio's own validating-webhook checks (istio.io/istio
// pkg/config/validation) run over policy objects, as an independent check of ztmap's
// src/verify/admission.ts. Reads a JSON array of objects (apiVersion, kind, metadata,
// spec) on stdin; writes one JSON line per object: {"index": N, "ok": bool, "error": "…"}.
// Only AuthorizationPolicy and PeerAuthentication are judged: the API server's own checks
// (metadata.name, CRD enums) are not Istio's webhook and are not in this module.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	securityv1beta1 "istio.io/api/security/v1beta1"
	"istio.io/istio/pkg/config"
	"istio.io/istio/pkg/config/schema/gvk"
	"istio.io/istio/pkg/config/validation"
	"istio.io/istio/pkg/util/protomarshal"
	"google.golang.org/protobuf/proto"
)

type object struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name        string            `json:"name"`
		Namespace   string            `json:"namespace"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Spec json.RawMessage `json:"spec"`
}

type result struct {
	Index int    `json:"index"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

func judge(o object) error {
	var pb proto.Message
	var kind config.GroupVersionKind
	var validate validation.ValidateFunc
	switch o.Kind {
	case "AuthorizationPolicy":
		pb, kind, validate = &securityv1beta1.AuthorizationPolicy{}, gvk.AuthorizationPolicy, validation.ValidateAuthorizationPolicy
	case "PeerAuthentication":
		pb, kind, validate = &securityv1beta1.PeerAuthentication{}, gvk.PeerAuthentication, validation.ValidatePeerAuthentication
	default:
		return fmt.Errorf("kind %q is not judged by this oracle", o.Kind)
	}
	spec := string(o.Spec)
	if spec == "" || spec == "null" {
		spec = "{}"
	}
	// As the webhook converts a custom resource: the spec's JSON into the proto, strictly.
	if err := protomarshal.ApplyJSONStrict(spec, pb); err != nil {
		return fmt.Errorf("spec does not decode: %v", err)
	}
	cfg := config.Config{
		Meta: config.Meta{GroupVersionKind: kind, Name: o.Metadata.Name, Namespace: o.Metadata.Namespace, Labels: o.Metadata.Labels, Annotations: o.Metadata.Annotations},
		Spec: pb,
	}
	_, err := validate(cfg)
	return err
}

func main() {
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "istiovalidation: reading stdin:", err)
		os.Exit(2)
	}
	var objects []object
	if err := json.Unmarshal(in, &objects); err != nil {
		fmt.Fprintln(os.Stderr, "istiovalidation: stdin is not a JSON array of objects:", err)
		os.Exit(2)
	}
	enc := json.NewEncoder(os.Stdout)
	for i, o := range objects {
		r := result{Index: i, OK: true}
		if err := judge(o); err != nil {
			r.OK, r.Error = false, err.Error()
		}
		if err := enc.Encode(r); err != nil {
			os.Exit(1)
		}
	}
}
