// The audit log's Ed25519 signing key (libsodium) and how it is stored.
//
// <key_dir>/audit.key holds the 32-byte seed as 64 lowercase hex digits and a newline (mode
// 0600); audit.pub beside it holds the 32-byte public key the same way (mode 0644). During a
// rotation the new key waits in audit.key.new until its record is written.
//
// A key file is written in full into an unnamed file (O_TMPFILE) with its final mode and only
// then given a name, so a killed hive-run never leaves a half-written or readable private key
// behind. Where a name is needed first (replacing audit.pub atomically) it is `NAME.tmp.PID`,
// and such leftovers of dead processes are swept on every open.
#pragma once

#include <string>
#include <string_view>

#include "hive/status.h"

namespace hive::audit {

struct KeyPair {
  std::string seed_hex;
  std::string public_hex;
};

struct KeyPaths {
  std::string private_key;
  std::string public_key;
  std::string pending;  // audit.key.new
};
KeyPaths KeyPathsIn(const std::string& key_dir);

// libsodium must be initialised once per process before any key is made or used.
Status InitSodium();

KeyPair GenerateKeyPair();
// kNotFound when the file does not exist.
Result<KeyPair> LoadKeyPair(const std::string& private_key_path);
// Creates `path` with `key` unless it exists (then the existing key wins and is returned), so
// that concurrent first uses agree on one key.
Result<KeyPair> CreateKeyFileOnce(const std::string& path, const KeyPair& key);
// Replaces `path` with `data` atomically, the file carrying exactly `mode` whatever the umask.
Status ReplaceKeyFile(const std::string& path, const std::string& data, mode_t mode);
// Writes audit.pub for `key` (atomically).
Status WritePublicKey(const std::string& path, const KeyPair& key);
// Renames audit.key.new over audit.key and writes audit.pub for it: the end of a rotation.
Status InstallPendingKey(const KeyPaths& paths, const KeyPair& key);

// Removes `NAME.tmp.PID` files in key_dir whose PID is no process any more: what a hive-run
// killed while replacing a key file leaves. Files of live processes are left alone.
void SweepStaleTemporaries(const std::string& key_dir);

// The key pair of key_dir for a log whose records are signed, from the next record on, by
// `log_key` (64 hex digits; empty when the log has no record yet).
//
// A missing audit.key is made only for a log without records and without an audit.pub: a new
// key beside a log or a public key someone may have published would silently cut the log's
// trust chain. Otherwise the error says how to recover (restore the key, or replace it in the
// open with `hive-run audit keygen --rotate --lost-key`). An interrupted replacement whose
// record names the key in audit.key.new is finished here. `created` says a key was made.
Result<KeyPair> EnsureKeys(const std::string& key_dir, const std::string& log_key,
                           const std::string& log_path, bool* created = nullptr);

// Hex Ed25519 signature of `message`.
std::string SignHex(const KeyPair& key, std::string_view message);
bool VerifySignature(std::string_view public_hex, std::string_view message,
                     std::string_view sig_hex);

}  // namespace hive::audit
