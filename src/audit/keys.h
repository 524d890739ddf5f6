// The audit log's Ed25519 signing key (libsodium) and how it is stored.
//
// <key_dir>/audit.key holds the 32-byte seed as 64 lowercase hex digits and a newline (mode
// 0600); audit.pub beside it holds the 32-byte public key the same way (mode 0644). During a
// rotation the new key waits in audit.key.new until its key_rotated record is written.
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
// EnsureKeyPair (hive/audit.h) returning the key pair itself, for the signer.
Result<KeyPair> EnsureKeys(const std::string& key_dir, bool* created = nullptr);
// Writes audit.pub for `key` (atomically).
Status WritePublicKey(const std::string& path, const KeyPair& key);

// Hex Ed25519 signature of `message`.
std::string SignHex(const KeyPair& key, std::string_view message);
bool VerifySignature(std::string_view public_hex, std::string_view message,
                     std::string_view sig_hex);

}  // namespace hive::audit
