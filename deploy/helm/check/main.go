// manifest-check decodes every object of a rendered Helm chart strictly into its Kubernetes API
// type, as the API server would, so a misspelled or misplaced field fails here instead of on a
// cluster. There is no cluster and no schema download where this runs (kubeconform fetches its
// schemas), so the types come from k8s.io/api itself; the two CRDs the chart uses (KEDA's
// ScaledObject, the Prometheus Operator's ServiceMonitor) have minimal types in crds.go.
//
// Strict means: case-sensitive field names, no unknown fields, no duplicate keys (sigs.k8s.io/json,
// the decoder the API server uses), values of the right type (a quantity that does not parse, a
// string where an integer belongs). Names and labels are checked against the API's rules too.
//
// Usage: manifest-check [FILE...]   (no FILE, or "-": standard input; a stream of YAML documents)
// Prints one line per object and exits 1 when any object fails.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// known maps "apiVersion kind" to a fresh value of its Go type. An object of any other type fails:
// add its type here when the chart starts rendering one.
var known = map[string]func() any{
	"v1 ConfigMap":                            func() any { return &corev1.ConfigMap{} },
	"v1 Secret":                               func() any { return &corev1.Secret{} },
	"v1 Service":                              func() any { return &corev1.Service{} },
	"v1 ServiceAccount":                       func() any { return &corev1.ServiceAccount{} },
	"apps/v1 Deployment":                      func() any { return &appsv1.Deployment{} },
	"batch/v1 Job":                            func() any { return &batchv1.Job{} },
	"policy/v1 PodDisruptionBudget":           func() any { return &policyv1.PodDisruptionBudget{} },
	"autoscaling/v2 HorizontalPodAutoscaler":  func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
	"keda.sh/v1alpha1 ScaledObject":           func() any { return &ScaledObject{} },
	"monitoring.coreos.com/v1 ServiceMonitor": func() any { return &ServiceMonitor{} },
}

// objectMeta is implemented by every type above (through its embedded ObjectMeta).
type objectMeta interface {
	GetName() string
	GetLabels() map[string]string
}

// checkDocument decodes one YAML document strictly. It returns a short description of the
// object, or an error; empty documents (only comments) give ("", nil).
func checkDocument(doc []byte) (string, error) {
	if len(bytes.TrimSpace(stripComments(doc))) == 0 {
		return "", nil
	}
	data, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return "", fmt.Errorf("not valid YAML (or a duplicate key): %w", err)
	}
	var tm metav1.TypeMeta
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(data, &tm); err != nil {
		return "", fmt.Errorf("no apiVersion/kind: %w", err)
	}
	key := tm.APIVersion + " " + tm.Kind
	newObject, ok := known[key]
	if !ok {
		return "", fmt.Errorf("%s: no Go type for this apiVersion and kind (a typo, or add it to manifest-check)", key)
	}
	obj := newObject()
	strictErrs, err := sigsjson.UnmarshalStrict(data, obj)
	if err != nil {
		return "", fmt.Errorf("%s: %w", key, err)
	}
	meta, _ := obj.(objectMeta)
	name := meta.GetName()
	what := tm.Kind + "/" + name
	var problems []string
	for _, e := range strictErrs {
		problems = append(problems, e.Error())
	}
	problems = append(problems, checkMeta(tm.Kind, name, meta.GetLabels())...)
	if v, ok := obj.(interface{ validate() []string }); ok {
		problems = append(problems, v.validate()...)
	}
	if len(problems) > 0 {
		return what, errors.New(strings.Join(problems, "; "))
	}
	return what, nil
}

// checkMeta applies the API server's rules for names and labels.
func checkMeta(kind, name string, labels map[string]string) []string {
	var problems []string
	if name == "" {
		return []string{"metadata.name is empty"}
	}
	nameErrs := validation.IsDNS1123Subdomain(name)
	if kind == "Service" {
		nameErrs = validation.IsDNS1035Label(name) // a Service name becomes a DNS label
	}
	for _, e := range nameErrs {
		problems = append(problems, fmt.Sprintf("metadata.name %q: %s", name, e))
	}
	for k, v := range labels {
		for _, e := range validation.IsQualifiedName(k) {
			problems = append(problems, fmt.Sprintf("label key %q: %s", k, e))
		}
		for _, e := range validation.IsValidLabelValue(v) {
			problems = append(problems, fmt.Sprintf("label %s=%q: %s", k, v, e))
		}
	}
	return problems
}

func stripComments(doc []byte) []byte {
	var out bytes.Buffer
	for _, line := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		out.WriteString(line)
		out.WriteByte('\n')
	}
	return out.Bytes()
}

// checkStream checks every document of r; it writes one line per object to out and returns the
// number of objects checked and of failures.
func checkStream(name string, r io.Reader, out io.Writer) (checked, failed int) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(r))
	for index := 0; ; index++ {
		doc, err := reader.Read()
		if err == io.EOF {
			return checked, failed
		}
		if err != nil {
			fmt.Fprintf(out, "FAIL %s: document %d: %v\n", name, index, err)
			return checked, failed + 1
		}
		what, err := checkDocument(doc)
		if what == "" && err == nil {
			continue
		}
		checked++
		if err != nil {
			failed++
			fmt.Fprintf(out, "FAIL %s: document %d %s: %v\n", name, index, what, err)
			continue
		}
		fmt.Fprintf(out, "ok   %s\n", what)
	}
}

func main() {
	files := os.Args[1:]
	if len(files) == 0 {
		files = []string{"-"}
	}
	checked, failed := 0, 0
	for _, file := range files {
		var r io.Reader = os.Stdin
		if file != "-" {
			f, err := os.Open(file)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
			defer f.Close()
			r = f
		}
		c, f := checkStream(file, r, os.Stdout)
		checked += c
		failed += f
	}
	fmt.Printf("%d objects checked, %d failed\n", checked, failed)
	if failed > 0 || checked == 0 {
		os.Exit(1)
	}
}
