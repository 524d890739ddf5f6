// hive::oci::KubernetesOf: which pod, namespace and container a container created through
// containerd's CRI belongs to, read from the annotations CRI puts in its config.json, so its
// audit record names them.
#pragma once

#include <map>
#include <string>

#include "hive/report.h"

namespace hive::oci {

RunReport::KubernetesRef KubernetesOf(const std::map<std::string, std::string>& annotations);

}  // namespace hive::oci
