// hive::audit: the signed, hash-chained audit log (DESIGN §7, hive-run-audit(5)).
//
// One JSON line per run and per security event. Each line names its predecessor by the
// SHA-256 of its exact bytes (`prev`) and ends with an Ed25519 signature over its own bytes
// up to the signature field, so verification reads bytes and never re-serialises JSON. The
// signing key is made on first use in the key directory; rotations are recorded in the log.
//
//   HIVE_ASSIGN_OR_RETURN(hive::audit::AuditLog log,
//                         hive::audit::AuditLog::Open(state + "/audit.log", state + "/keys"));
//   ... run ...                                   // Open failed? refuse the run (exit 125)
//   HIVE_ASSIGN_OR_RETURN(hive::audit::RecordRef ref, hive::audit::RecordRun(log, report));
//
//   HIVE_ASSIGN_OR_RETURN(std::string key, hive::audit::LoadPublicKey(state + "/keys/audit.pub"));
//   HIVE_ASSIGN_OR_RETURN(hive::audit::VerifyResult v,
//                         hive::audit::Verify(state + "/audit.log", {.trusted_key = key}));
//   if (!v.ok) std::puts(v.message.c_str());     // "record 3: changed: ..."
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
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

class AuditLog {
 public:
  // Opens (creating) the log at log_path and the Ed25519 key pair in key_dir (made on first
  // use: audit.key 0600, audit.pub beside it). Fails (Status) when the log cannot be appended
  // to, or when its newest record is signed by a key other than key_dir's — the caller then
  // refuses the run with exit 125 before it starts.
  static Result<AuditLog> Open(const std::string& log_path, const std::string& key_dir);

  // Appends one record: `fields` plus seq, time, event, host, user, key, prev, sig. Exclusive
  // flock, O_APPEND, one write, fsync. `event` is run, violation or refused; `fields` is an
  // object whose keys must not collide with the ones the log writes itself.
  Result<RecordRef> Append(const std::string& event, nlohmann::json fields);

  // Makes a new key pair, appends a `key_rotated` record naming it (signed by the old key and
  // by the new one) and installs it in key_dir; later records are signed by the new key.
  Result<RecordRef> RotateKey();

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
// the outcome is `blocked`); returns the run record's ref.
Result<RecordRef> RecordRun(AuditLog& log, const RunReport& report);

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
};
const char* ProblemName(Problem p);

struct VerifyOptions {
  // Public key, 64 hex digits; it must sign at least one record. Empty: no anchor, only the
  // chain and each record's signature by the key it names are checked.
  std::string trusted_key;
  std::optional<Head> since_head;  // the log must still contain this record, unchanged
};

struct VerifyResult {
  bool ok = false;
  uint64_t records = 0;  // intact records read before the first problem
  Head head;             // the newest intact record
  Problem problem = Problem::kNone;
  uint64_t bad_seq = 0;            // the first bad record, by the seq it should have had
  std::string message;             // "record 3: changed: ..." or a summary when ok
  std::vector<std::string> notes;  // torn writes the writer recorded, key rotations
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
// which happened.
Result<std::string> EnsureKeyPair(const std::string& key_dir, bool* created = nullptr);

}  // namespace hive::audit
