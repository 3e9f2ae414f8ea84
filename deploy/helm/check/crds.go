package main

// Minimal Go types of the two custom resources the chart renders, with the fields of their CRDs
// (KEDA 2.x keda.sh/v1alpha1 ScaledObject, Prometheus Operator monitoring.coreos.com/v1
// ServiceMonitor) that a chart like this one may set. Anything else is an unknown field and fails,
// as with the built-in types: add a field here only after checking it in the CRD.

import (
	"fmt"
	"regexp"
	"strconv"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// --- KEDA: https://keda.sh/docs/2.15/reference/scaledobject-spec/

type ScaledObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              ScaledObjectSpec `json:"spec"`
}

type ScaledObjectSpec struct {
	ScaleTargetRef        *ScaleTarget    `json:"scaleTargetRef"`
	PollingInterval       *int32          `json:"pollingInterval,omitempty"`
	InitialCooldownPeriod *int32          `json:"initialCooldownPeriod,omitempty"`
	CooldownPeriod        *int32          `json:"cooldownPeriod,omitempty"`
	IdleReplicaCount      *int32          `json:"idleReplicaCount,omitempty"`
	MinReplicaCount       *int32          `json:"minReplicaCount,omitempty"`
	MaxReplicaCount       *int32          `json:"maxReplicaCount,omitempty"`
	Advanced              *AdvancedConfig `json:"advanced,omitempty"`
	Triggers              []ScaleTriggers `json:"triggers"`
	Fallback              *Fallback       `json:"fallback,omitempty"`
}

type ScaleTarget struct {
	Name                   string `json:"name"`
	APIVersion             string `json:"apiVersion,omitempty"`
	Kind                   string `json:"kind,omitempty"`
	EnvSourceContainerName string `json:"envSourceContainerName,omitempty"`
}

type AdvancedConfig struct {
	HorizontalPodAutoscalerConfig *HorizontalPodAutoscalerConfig `json:"horizontalPodAutoscalerConfig,omitempty"`
	RestoreToOriginalReplicaCount bool                           `json:"restoreToOriginalReplicaCount,omitempty"`
}

type HorizontalPodAutoscalerConfig struct {
	Behavior *autoscalingv2.HorizontalPodAutoscalerBehavior `json:"behavior,omitempty"`
	Name     string                                         `json:"name,omitempty"`
}

type ScaleTriggers struct {
	Type              string                         `json:"type"`
	Name              string                         `json:"name,omitempty"`
	UseCachedMetrics  bool                           `json:"useCachedMetrics,omitempty"`
	Metadata          map[string]string              `json:"metadata"`
	AuthenticationRef *AuthenticationRef             `json:"authenticationRef,omitempty"`
	MetricType        autoscalingv2.MetricTargetType `json:"metricType,omitempty"`
}

type AuthenticationRef struct {
	Name string `json:"name"`
	Kind string `json:"kind,omitempty"`
}

type Fallback struct {
	FailureThreshold int32 `json:"failureThreshold"`
	Replicas         int32 `json:"replicas"`
}

// The kafka scaler's metadata keys (https://keda.sh/docs/2.15/scalers/apache-kafka/); KEDA
// ignores a key it does not know, which would silently drop a setting.
var kafkaMetadata = map[string]string{
	"bootstrapServers": "", "consumerGroup": "", "topic": "", "lagThreshold": "int",
	"activationLagThreshold": "int", "offsetResetPolicy": "latest|earliest",
	"allowIdleConsumers": "bool", "scaleToZeroOnInvalidOffset": "bool", "excludePersistentLag": "bool",
	"limitToPartitionsWithLag": "bool", "version": "", "partitionLimitation": "", "sasl": "",
	"saslTokenProvider": "", "tls": "enable|disable", "unsafeSsl": "bool", "awsRegion": "",
}

func (o *ScaledObject) validate() []string {
	var problems []string
	s := o.Spec
	if s.ScaleTargetRef == nil || s.ScaleTargetRef.Name == "" {
		problems = append(problems, "spec.scaleTargetRef.name is required")
	}
	if len(s.Triggers) == 0 {
		problems = append(problems, "spec.triggers is empty")
	}
	if s.MinReplicaCount != nil && s.MaxReplicaCount != nil && *s.MinReplicaCount > *s.MaxReplicaCount {
		problems = append(problems, "spec.minReplicaCount > spec.maxReplicaCount")
	}
	for i, t := range s.Triggers {
		if t.Type != "kafka" {
			continue
		}
		for _, required := range []string{"bootstrapServers", "consumerGroup"} {
			if t.Metadata[required] == "" {
				problems = append(problems, fmt.Sprintf("spec.triggers[%d].metadata.%s is required", i, required))
			}
		}
		for k, v := range t.Metadata {
			rule, ok := kafkaMetadata[k]
			switch {
			case !ok:
				problems = append(problems, fmt.Sprintf("spec.triggers[%d].metadata.%s: not a kafka scaler setting", i, k))
			case rule == "int":
				if n, err := strconv.Atoi(v); err != nil || n < 0 {
					problems = append(problems, fmt.Sprintf("spec.triggers[%d].metadata.%s=%q: not a whole number", i, k, v))
				}
			case rule == "bool":
				if v != "true" && v != "false" {
					problems = append(problems, fmt.Sprintf("spec.triggers[%d].metadata.%s=%q: not true or false", i, k, v))
				}
			case rule != "":
				if !regexp.MustCompile("^(" + rule + ")$").MatchString(v) {
					problems = append(problems, fmt.Sprintf("spec.triggers[%d].metadata.%s=%q: not one of %s", i, k, v, rule))
				}
			}
		}
	}
	return problems
}

// --- Prometheus Operator: monitoring.coreos.com/v1 ServiceMonitor

type ServiceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              ServiceMonitorSpec `json:"spec"`
}

type ServiceMonitorSpec struct {
	JobLabel          string               `json:"jobLabel,omitempty"`
	TargetLabels      []string             `json:"targetLabels,omitempty"`
	PodTargetLabels   []string             `json:"podTargetLabels,omitempty"`
	Endpoints         []Endpoint           `json:"endpoints"`
	Selector          metav1.LabelSelector `json:"selector"`
	NamespaceSelector *NamespaceSelector   `json:"namespaceSelector,omitempty"`
	SampleLimit       *uint64              `json:"sampleLimit,omitempty"`
}

type NamespaceSelector struct {
	Any        bool     `json:"any,omitempty"`
	MatchNames []string `json:"matchNames,omitempty"`
}

type Endpoint struct {
	Port            string              `json:"port,omitempty"`
	TargetPort      *intstr.IntOrString `json:"targetPort,omitempty"`
	Path            string              `json:"path,omitempty"`
	Scheme          string              `json:"scheme,omitempty"`
	Params          map[string][]string `json:"params,omitempty"`
	Interval        string              `json:"interval,omitempty"`
	ScrapeTimeout   string              `json:"scrapeTimeout,omitempty"`
	HonorLabels     bool                `json:"honorLabels,omitempty"`
	HonorTimestamps *bool               `json:"honorTimestamps,omitempty"`
}

// The CRD's pattern for a Prometheus duration.
var promDuration = regexp.MustCompile(`^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$`)

func (m *ServiceMonitor) validate() []string {
	var problems []string
	if len(m.Spec.Endpoints) == 0 {
		problems = append(problems, "spec.endpoints is empty")
	}
	for i, e := range m.Spec.Endpoints {
		if e.Port == "" && e.TargetPort == nil {
			problems = append(problems, fmt.Sprintf("spec.endpoints[%d]: port or targetPort is required", i))
		}
		for field, d := range map[string]string{"interval": e.Interval, "scrapeTimeout": e.ScrapeTimeout} {
			if d != "" && !promDuration.MatchString(d) {
				problems = append(problems, fmt.Sprintf("spec.endpoints[%d].%s=%q: not a Prometheus duration", i, field, d))
			}
		}
	}
	return problems
}
