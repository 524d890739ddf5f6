// hive::oci::ContainerRecord: what `hive-run create` leaves under the OCI state root
// (`--root`, default /run/hive-run) so that the later commands of the runc command line
// (start, state, kill, delete, list) find a container again: <root>/<id>/state.json.
//
// The status is never stored: it is read from the kernel each time (is pid 1 alive, and is it
// still the process that was created — its start time), so a record cannot claim a dead
// container runs.
//
//   HIVE_ASSIGN_OR_RETURN(hive::oci::ContainerRecord r, hive::oci::LoadRecord(root, "c1"));
//   if (hive::oci::StatusOf(r) == "stopped") ...
//   nlohmann::json state = hive::oci::StateJson(r);  // what `hive-run state` prints
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hive/run_spec.h"
#include "hive/status.h"

namespace hive::oci {

// The policy's cgroup limits when the container was created: `update` may move a limit up to
// these and no further (0 = the policy sets none).
struct ResourceCeiling {
  uint64_t memory_bytes = 0;
  uint64_t pids = 0;
  double cpus = 0;
  uint64_t io_read_bps = 0;
  uint64_t io_write_bps = 0;
  std::string policy;  // where the policy came from, for messages
};

struct ContainerRecord {
  std::string id;
  std::string bundle;
  std::string rootfs;
  std::string created;  // RFC 3339
  std::string owner;
  std::map<std::string, std::string> annotations;
  pid_t pid = 0;                 // pid 1 of the container (host pid)
  uint64_t pid_start = 0;        // its start time (/proc/PID/stat field 22)
  pid_t monitor_pid = 0;         // the monitor holding the listener and the cgroups
  uint64_t monitor_start = 0;
  bool started = false;          // `start` released the payload
  std::vector<std::string> cgroup_dirs;
  std::string audit_log;         // where the container's record goes at delete
  std::string key_dir;
  std::string command;
  // config.json's hooks, for the commands that run them after create (start: poststart,
  // delete: poststop) and the time they may take.
  HooksSpec hooks;
  ResourceCeiling ceiling;
};

// [A-Za-z0-9_+.-], not starting with '.', at most 1024 characters (runc's rule).
Status ValidateId(const std::string& id);
std::string RecordDir(const std::string& root, const std::string& id);

// Creates <root>/<id> (0700); fails with "container with id exists" when it does.
Status CreateRecordDir(const std::string& root, const std::string& id);
Status SaveRecord(const std::string& root, const ContainerRecord& record);
// Code::kNotFound with "container `ID` does not exist" when there is no record.
Result<ContainerRecord> LoadRecord(const std::string& root, const std::string& id);
Result<std::vector<ContainerRecord>> ListRecords(const std::string& root);
Status RemoveRecordDir(const std::string& root, const std::string& id);

// The start time of a live (not zombie) process, or 0 when it is gone.
uint64_t ProcessStartTime(pid_t pid);
// "created", "running", "paused" or "stopped".
std::string StatusOf(const ContainerRecord& record);
bool Alive(const ContainerRecord& record);
// The runtime-spec state: ociVersion, id, status, pid, bundle, rootfs, created, owner,
// annotations.
nlohmann::json StateJson(const ContainerRecord& record);

}  // namespace hive::oci
