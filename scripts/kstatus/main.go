// Command vireo-kstatus judges Kubernetes objects with kstatus (sigs.k8s.io/cli-utils/pkg/kstatus/status),
// the library Flux, Helm 4's --wait and kpt use to decide whether a resource is healthy. The integration
// tests run it over the VirtualMachines the operator writes, so health is checked by the real judge rather
// than a port of its rules.
//
// Input (stdin, or the files named as arguments): JSON, either one object, a JSON array of objects, or a
// List with "items". Output (stdout): a JSON array with one {"name", "namespace", "status", "message"} per
// object, in input order. Exit status 2 on unreadable input.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type verdict struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
	Status    string `json:"status"`
	Message   string `json:"message"`
}

func objects(data []byte) ([]map[string]interface{}, error) {
	// apimachinery's decoder keeps integers as int64, as the API machinery (and kstatus) expects.
	var doc interface{}
	if err := utiljson.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("input is not JSON: %w", err)
	}
	var list []interface{}
	switch v := doc.(type) {
	case []interface{}:
		list = v
	case map[string]interface{}:
		if items, ok := v["items"].([]interface{}); ok {
			list = items
		} else {
			list = []interface{}{v}
		}
	default:
		return nil, fmt.Errorf("input is neither an object nor an array")
	}
	out := make([]map[string]interface{}, 0, len(list))
	for i, item := range list {
		obj, ok := item.(map[string]interface{})
		if !ok {
			return nil, fmt.Errorf("item %d is not an object", i)
		}
		out = append(out, obj)
	}
	return out, nil
}

func judge(data []byte) ([]verdict, error) {
	objs, err := objects(data)
	if err != nil {
		return nil, err
	}
	verdicts := make([]verdict, 0, len(objs))
	for _, obj := range objs {
		u := &unstructured.Unstructured{Object: obj}
		res, err := status.Compute(u)
		if err != nil {
			return nil, fmt.Errorf("%s/%s: %w", u.GetNamespace(), u.GetName(), err)
		}
		verdicts = append(verdicts, verdict{
			Name:      u.GetName(),
			Namespace: u.GetNamespace(),
			Status:    res.Status.String(),
			Message:   res.Message,
		})
	}
	return verdicts, nil
}

func main() {
	var inputs [][]byte
	if len(os.Args) > 1 {
		for _, path := range os.Args[1:] {
			data, err := os.ReadFile(path)
			if err != nil {
				fmt.Fprintln(os.Stderr, "vireo-kstatus:", err)
				os.Exit(2)
			}
			inputs = append(inputs, data)
		}
	} else {
		data, err := io.ReadAll(os.Stdin)
		if err != nil {
			fmt.Fprintln(os.Stderr, "vireo-kstatus: reading stdin:", err)
			os.Exit(2)
		}
		inputs = append(inputs, data)
	}
	all := []verdict{}
	for _, data := range inputs {
		v, err := judge(data)
		if err != nil {
			fmt.Fprintln(os.Stderr, "vireo-kstatus:", err)
			os.Exit(2)
		}
		all = append(all, v...)
	}
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(all); err != nil {
		fmt.Fprintln(os.Stderr, "vireo-kstatus: writing output:", err)
		os.Exit(2)
	}
}
