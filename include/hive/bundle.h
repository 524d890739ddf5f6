// hive::Bundle: an OCI bundle directory (config.json + rootfs, optional policy.yml) loaded
// into a plain model. Malformed input is refused with the JSON path of the bad field;
// unknown properties are ignored, as the runtime-spec requires.
//
//   HIVE_ASSIGN_OR_RETURN(hive::Bundle b, hive::LoadBundle("bundles/python"));
//   b.config.process.args  // ["python3", ...]
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hive/run_spec.h"
#include "hive/status.h"

namespace hive {

struct OciConfig {
  std::string oci_version;
  ProcessSpec process;             // rlimits/capabilities as given (validated names)
  std::vector<std::string> capability_names;  // union of the sets, for the ceiling check
  std::string root_path;           // absolute after loading
  bool root_readonly = false;
  std::string hostname;
  std::vector<MountSpec> mounts;
  std::vector<std::string> namespaces;  // types listed in linux.namespaces
  std::vector<IdMapping> uid_mappings, gid_mappings;
  std::vector<std::string> masked_paths, readonly_paths;
  std::optional<int64_t> memory_limit;  // bytes
  std::optional<int64_t> pids_limit;
  std::optional<double> cpus;           // quota / period
  std::string cgroups_path;
};

struct Bundle {
  std::string dir;          // absolute
  OciConfig config;
  std::string policy_path;  // <dir>/policy.yml when present
  std::optional<std::string> policy_text;  // its bytes, read with the bundle
};

// Refuses duplicate keys; errors quote at most the offending token.
Result<OciConfig> ParseOciConfig(const std::string& json_text, const std::string& source,
                                 const std::string& bundle_dir);
// Reads config.json and policy.yml (when present) with the bounded reader, neither through a
// path that leaves the bundle directory.
Result<Bundle> LoadBundle(const std::string& dir);
// The bundle's own policy.yml (PolicyOrigin::kBundle: it may not set security.audit), or the
// built-in policy when the bundle has none.
Result<Policy> LoadBundlePolicy(const Bundle& bundle);

}  // namespace hive
