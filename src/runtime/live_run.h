// hive::LiveRun: a run's mark, for as long as its supervisor lives, that it is under way.
//
// Each run holds an exclusive flock on `<state>/live/<run id>` from before it creates anything
// until it has written its audit record; the file says where the run's record goes. The kernel
// drops the lock when the supervisor dies, whatever kills it (and the sandbox dies with it:
// parent-death signal on its pid 1). A mark that nobody holds therefore names a run whose
// supervisor was lost; FindLost() takes such marks so that exactly one later hive-run records
// the loss (outcome `supervisor_lost`) and removes what the run left.
//
//   HIVE_ASSIGN_OR_RETURN(hive::LiveRun live, hive::LiveRun::Begin(state_dir, info));
//   ... run ...
//   live.End();                                      // after the audit record
//   for (hive::LostRun& lost : hive::FindLost(state_dir)) ... record it, then lost.Done();
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "hive/status.h"

namespace hive {

class LiveRun {
 public:
  // `info` is what a recoverer needs: run_id, started_at, command, audit_log, key_dir, ...
  static Result<LiveRun> Begin(const std::string& state_dir, const std::string& run_id,
                               const nlohmann::json& info);
  LiveRun() = default;
  LiveRun(LiveRun&&) noexcept = default;
  LiveRun& operator=(LiveRun&&) noexcept = default;
  ~LiveRun() { End(); }
  // The run ended and is recorded: the mark goes (unlinked before it is unlocked, so that a
  // recoverer that wins the lock afterwards finds it unlinked and leaves it).
  void End();
  // Replaces what the mark says (the run's report, when its own record failed).
  Status Rewrite(const nlohmann::json& info);
  // Leaves the mark in place for a later hive-run; the lock goes when this process exits.
  void Release() { path_.clear(); }

 private:
  std::string path_;
  UniqueFd fd_;
};

// A run whose supervisor died; its mark stays locked by this process until Done().
struct LostRun {
  std::string run_id;
  nlohmann::json info;  // as given to Begin
  std::string path;
  UniqueFd lock;
  // The loss is recorded: the mark is removed.
  void Done();
};

// Marks in `<state>/live` that no live supervisor holds. Cheap when there are none: one
// readdir of a directory that holds only the runs under way.
std::vector<LostRun> FindLost(const std::string& state_dir);

}  // namespace hive
