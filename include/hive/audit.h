// hive::audit: the signed, hash-chained audit log (DESIGN §7, hive-run-audit(5)).
//
// One JSON line per run and per security event. Each line names its predecessor by the
// SHA-256 of its exact bytes (`prev`) and ends with an Ed25519 signature over its own bytes
// up to the signature field, so verification reads bytes and never re-serialises JSON. The
// signing key is made on first use in the key directory; rotations are recorded in the log.
//
//   HIVE_ASSIGN_OR_RETURN(hive::audit::AuditLog log,
//                         hive::audit::AuditLog::Open(state + "/audit.log", state + "/keys"));
//   HIVE_TRY(log.Reserve());                      // failed? refuse the run (exit 125)
//   ... run ...
//   HIVE_ASSIGN_OR_RETURN(hive::audit::RecordRef ref, hive::audit::RecordRun(log, report));
//                                                 // failed? the run's exit status is 125
//
//   HIVE_ASSIGN_OR_RETURN(std::string key, hive::audit::LoadPublicKey(state + "/keys/audit.pub"));
//   HIVE_ASSIGN_OR_RETURN(hive::audit::VerifyResult v,
//                         hive::audit::Verify(state + "/audit.log", {.trusted_key = key}));
//   if (!v.ok) std::puts(v.message.c_str());     // "record 3: changed: ..."
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "hive/report.h"
#include "hive/status.h"

namespace hive::audit {

// Where a record landed: the log, its seq and the SHA-256 of its line (what `prev` of the
// next record holds).
struct RecordRef {
  std::string log;
  uint64_t seq = 0;
  std::string hash;
};

// A checkpoint to publish off-box (`hive-run audit head`): seq 0 is the empty log, whose hash
// is the genesis value (64 zeros).
struct Head {
  uint64_t seq = 0;
  std::string hash;
};

// How long an append waits for another process's hold on the log's lock. A holder keeps it for
// one read of the tail, one write and one fsync, so a wait this long means the holder is stuck.
inline constexpr std::chrono::milliseconds kLockTimeout{30'000};

// Size bounds of what RecordRun writes, so that Reserve can set aside all a run will need. A
// line is counted with its newline; a record that would be longer has its fields shortened and
// says so (see Append).
inline constexpr uint64_t kMaxRecordBytes = 64 * 1024;  // any record, the run record included
inline constexpr uint64_t kMaxViolationRecordBytes = 2 * 1024;
inline constexpr size_t kMaxViolationRecords = 32;  // per run; the rest are counted, not listed
// All of one run's records, plus the newline that closes a torn last line.
inline constexpr uint64_t kRunReserveBytes =
    kMaxRecordBytes + kMaxViolationRecords * kMaxViolationRecordBytes + 1;

// The outcome of a run whose supervisor died before it could write the run record.
inline constexpr std::string_view kOutcomeSupervisorLost = "supervisor_lost";

struct OpenOptions {
  // Bounds every wait for the log's lock (open, reserve, append, rotate).
  std::chrono::milliseconds lock_timeout = kLockTimeout;
};

// What `hive-run audit keygen --rotate --lost-key` did.
struct KeyReplacement {
  RecordRef record;      // the key_replaced record; seq 0 when the log had no record to break
  std::string lost_key;  // empty when the log had no record
  std::string new_key;
  bool adopted = false;  // the new key is the one audit.key already held, not a fresh one
};

class AuditLog {
 public:
  // Opens (creating) the log at log_path and the Ed25519 key pair in key_dir (made on first
  // use: audit.key 0600, audit.pub beside it). Fails (Status) when the log cannot be appended
  // to, when its newest record is signed by a key other than key_dir's, or when audit.key is
  // missing while the log has records or audit.pub exists (the error says how to recover) —
  // the caller then refuses the run with exit 125 before it starts.
  static Result<AuditLog> Open(const std::string& log_path, const std::string& key_dir,
                               const OpenOptions& options = {});

  // Sets aside `bytes` of disk at the end of the log (fallocate, FALLOC_FL_KEEP_SIZE), so the
  // records appended later cannot fail for want of space: called once the log is open and
  // before the payload runs. Each call tops the space kept beyond the log's end up to `bytes`;
  // concurrent runs share it. Fails naming the log and the reason (ENOSPC: the filesystem is
  // full) — the caller then refuses the run with exit 125.
  Status Reserve(uint64_t bytes = kRunReserveBytes);

  // Appends one record: `fields` plus seq, time, event, host, user, key, prev, sig. Exclusive
  // flock, O_APPEND, one write, fsync. `event` is run, violation or refused; `fields` is an
  // object whose keys must not collide with the ones the log writes itself. A record whose
  // line would exceed max_line_bytes (newline included) keeps its members but has long strings
  // and lists cut, and gains `truncated` {"bytes", "sha256"} describing the fields as given.
  // Fails, leaving the log as it was, when the line cannot be written whole or the log's path
  // no longer names the file that was opened (removed or replaced since).
  Result<RecordRef> Append(const std::string& event, nlohmann::json fields,
                           uint64_t max_line_bytes = kMaxRecordBytes);

  // Makes a new key pair, appends a `key_rotated` record naming it (signed by the old key and
  // by the new one) and installs it in key_dir; later records are signed by the new key.
  Result<RecordRef> RotateKey();

  // For a log whose signing key is lost: appends a `key_replaced` record naming the lost key,
  // signed only by the new one (the key audit.key holds if it holds one, else a new key), and
  // installs it. Verification reports the trust break at that record (hive-run-audit(5)).
  // Refused when the log's key is not lost (then RotateKey is the way).
  static Result<KeyReplacement> ReplaceLostKey(const std::string& log_path,
                                               const std::string& key_dir,
                                               const OpenOptions& options = {});

  const std::string& path() const;
  // The signing key's public half, 64 lowercase hex digits.
  const std::string& public_key() const;

  AuditLog(AuditLog&&) noexcept;
  AuditLog& operator=(AuditLog&&) noexcept;
  ~AuditLog();

 private:
  struct State;
  explicit AuditLog(std::unique_ptr<State> state);

  std::unique_ptr<State> state_;
};

// Appends one `violation` record per report violation, then the `run` record (`refused` when
// the outcome is `blocked`); returns the run record's ref. At most kMaxViolationRecords
// violations are recorded one by one (and listed in the run record); the rest are counted in
// the run record's `violations_truncated` {"entries", "by_type"}. Together the records take
// at most kRunReserveBytes.
Result<RecordRef> RecordRun(AuditLog& log, const RunReport& report);

// Appends the `run` record of a run whose supervisor died before it wrote one (found later by
// whoever notices the orphaned run): outcome `supervisor_lost`, exit_code, signal and
// exit_status null. `known` holds what is still known of the run (command, started_at,
// bundle or script, policy_sha256, ...); run_id and outcome are set here.
Result<RecordRef> RecordLostRun(AuditLog& log, const std::string& run_id, nlohmann::json known);

// What verification found wrong with the first bad record.
enum class Problem {
  kNone,
  kChanged,      // its bytes no longer match its signature, or it is no longer a record
  kRemoved,      // an expected seq is missing (or truncated behind a published head)
  kReordered,    // the expected seq appears later in the file
  kInserted,     // a line that does not belong in the chain
  kOtherKey,     // a valid signature by a key that is not the log's (or not the trusted one)
  kTorn,         // the last line is incomplete (an interrupted write)
  kChainBroken,  // a valid record whose `prev` does not name its predecessor
  kKeyReplaced,  // a key_replaced record (the old key lost) the trusted key does not vouch for
  kEmpty,        // the log holds no bytes at all
};
const char* ProblemName(Problem p);

struct VerifyOptions {
  // Public key, 64 hex digits; it must sign at least one record. Empty: no anchor, only the
  // chain and each record's signature by the key it names are checked.
  std::string trusted_key;
  std::optional<Head> since_head;  // the log must still contain this record, unchanged
  // Trust breaks (key_replaced records, by seq) accepted although the trusted key does not
  // vouch for the key that replaced the lost one.
  std::set<uint64_t> accepted_key_replacements;
  bool allow_empty = false;  // an empty log verifies (ok, 0 records) instead of kEmpty
};

struct VerifyResult {
  bool ok = false;
  uint64_t records = 0;  // intact records read before the first problem
  Head head;             // the newest intact record
  Problem problem = Problem::kNone;
  uint64_t bad_seq = 0;            // the first bad record, by the seq it should have had
  std::string message;             // "record 3: changed: ..." or a summary when ok
  std::vector<std::string> notes;  // torn writes the writer recorded, key rotations
  // Trust breaks that did not fail verification: keys replaced without the old key.
  std::vector<std::string> warnings;
};

// Checks every signature, the chain and the sequence. Status only for I/O errors.
Result<VerifyResult> Verify(const std::string& log_path, const VerifyOptions& options);
VerifyResult VerifyBytes(const std::string& content, const VerifyOptions& options);

// The newest complete record of the log (seq 0 and the genesis hash when there is none).
Result<Head> ReadHead(const std::string& log_path);
// "SEQ:HASH" both ways.
std::string FormatHead(const Head& head);
Result<Head> ParseHead(const std::string& text);

// A public key from a file (audit.pub) or given directly as 64 hex digits.
Result<std::string> LoadPublicKey(const std::string& path_or_hex);

// Makes the key pair in key_dir unless it exists; returns its public half. `created` says
// which happened. Like Open, refuses to make a key when the log at log_path has records or
// audit.pub exists.
Result<std::string> EnsureKeyPair(const std::string& key_dir, const std::string& log_path,
                                  bool* created = nullptr);

}  // namespace hive::audit
