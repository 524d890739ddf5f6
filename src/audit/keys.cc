#include "audit/keys.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/files.h"
#include "base/unique_fd.h"
#include "hive/audit.h"
#include "hive/state_dir.h"

namespace hive::audit {
namespace {

std::string ToHex(const unsigned char* bytes, size_t n) {
  std::string hex(2 * n + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), bytes, n);
  hex.pop_back();
  return hex;
}

bool FromHex(std::string_view hex, unsigned char* out, size_t n) {
  size_t len = 0;
  return hex.size() == 2 * n &&
         sodium_hex2bin(out, n, hex.data(), hex.size(), nullptr, &len, nullptr) == 0 && len == n;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

KeyPair FromSeed(const unsigned char* seed) {
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  unsigned char sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_seed_keypair(pk, sk, seed);
  KeyPair k{ToHex(seed, crypto_sign_SEEDBYTES), ToHex(pk, sizeof pk)};
  sodium_memzero(sk, sizeof sk);
  return k;
}

bool IsPublicKeyHex(std::string_view s) {
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  return FromHex(s, pk, sizeof pk);
}

}  // namespace

KeyPaths KeyPathsIn(const std::string& key_dir) {
  return {key_dir + "/audit.key", key_dir + "/audit.pub", key_dir + "/audit.key.new"};
}

Status InitSodium() {
  if (sodium_init() < 0) return Error(Code::kInternal, "initialise libsodium: sodium_init failed");
  return Ok();
}

KeyPair GenerateKeyPair() {
  unsigned char seed[crypto_sign_SEEDBYTES];
  randombytes_buf(seed, sizeof seed);
  KeyPair k = FromSeed(seed);
  sodium_memzero(seed, sizeof seed);
  return k;
}

Result<KeyPair> LoadKeyPair(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Errno(fmt::format("read signing key `{}`", path));
  // Like ssh: a private key others can read is not private any more, so it is not used.
  if (st.st_mode & 077) {
    return Error(Code::kPermissionDenied,
                 fmt::format("signing key `{}` is readable by others (mode {:04o}): chmod 600 it",
                             path, st.st_mode & 07777));
  }
  HIVE_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  unsigned char seed[crypto_sign_SEEDBYTES];
  if (!FromHex(Trim(std::move(text)), seed, sizeof seed)) {
    return Error(Code::kInvalidArgument,
                 fmt::format("signing key `{}`: expected 64 hex digits (an Ed25519 seed)", path));
  }
  KeyPair k = FromSeed(seed);
  sodium_memzero(seed, sizeof seed);
  return k;
}

Result<KeyPair> CreateKeyFileOnce(const std::string& path, const KeyPair& key) {
  // Written in full under a private name, then link()ed into place: link fails with EEXIST
  // when another process got there first, and nobody ever reads a half-written key.
  std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd.valid()) return Errno(fmt::format("create signing key `{}`", tmp));
    Status s = WriteAll(fd.get(), key.seed_hex + "\n", tmp);
    if (s.ok() && ::fsync(fd.get()) != 0) s = Errno(fmt::format("fsync `{}`", tmp));
    if (!s.ok()) {
      ::unlink(tmp.c_str());
      return s;
    }
  }
  int rc = ::link(tmp.c_str(), path.c_str());
  int err = errno;
  ::unlink(tmp.c_str());
  if (rc == 0) return key;
  if (err == EEXIST) return LoadKeyPair(path);
  return Errno(fmt::format("install signing key `{}`", path), err);
}

Status WritePublicKey(const std::string& path, const KeyPair& key) {
  return WriteFileAtomic(path, key.public_hex + "\n", 0644);
}

std::string SignHex(const KeyPair& key, std::string_view message) {
  unsigned char seed[crypto_sign_SEEDBYTES];
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  unsigned char sk[crypto_sign_SECRETKEYBYTES];
  FromHex(key.seed_hex, seed, sizeof seed);
  crypto_sign_seed_keypair(pk, sk, seed);
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(message.data()),
                       message.size(), sk);
  sodium_memzero(sk, sizeof sk);
  sodium_memzero(seed, sizeof seed);
  return ToHex(sig, sizeof sig);
}

bool VerifySignature(std::string_view public_hex, std::string_view message,
                     std::string_view sig_hex) {
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  unsigned char sig[crypto_sign_BYTES];
  if (!FromHex(public_hex, pk, sizeof pk) || !FromHex(sig_hex, sig, sizeof sig)) return false;
  return crypto_sign_verify_detached(sig, reinterpret_cast<const unsigned char*>(message.data()),
                                     message.size(), pk) == 0;
}

Result<std::string> LoadPublicKey(const std::string& path_or_hex) {
  if (::access(path_or_hex.c_str(), F_OK) != 0 && IsPublicKeyHex(path_or_hex)) {
    return path_or_hex;
  }
  HIVE_ASSIGN_OR_RETURN(std::string text, ReadInputFile(path_or_hex, kPublicKeyInput));
  text = Trim(std::move(text));
  if (!IsPublicKeyHex(text)) {
    return Error(Code::kInvalidArgument,
                 fmt::format("public key `{}`: expected 64 hex digits (an Ed25519 public key)",
                             path_or_hex));
  }
  return text;
}

Result<std::string> EnsureKeyPair(const std::string& key_dir, bool* created) {
  HIVE_ASSIGN_OR_RETURN(KeyPair key, EnsureKeys(key_dir, created));
  return key.public_hex;
}

Result<KeyPair> EnsureKeys(const std::string& key_dir, bool* created) {
  HIVE_TRY(InitSodium());
  HIVE_TRY(EnsureDir(key_dir, 0700));
  KeyPaths paths = KeyPathsIn(key_dir);
  Result<KeyPair> key = LoadKeyPair(paths.private_key);
  if (created) *created = false;
  if (!key.ok() && key.status().code() == Code::kNotFound) {
    key = CreateKeyFileOnce(paths.private_key, GenerateKeyPair());
    if (created && key.ok()) *created = true;
  }
  if (!key.ok()) return key.status();
  // audit.pub is derived data: rewritten when missing or stale, never trusted over audit.key.
  Result<std::string> pub = ReadFile(paths.public_key);
  if (!pub.ok() || Trim(pub.value()) != key->public_hex) {
    HIVE_TRY(WritePublicKey(paths.public_key, key.value()));
  }
  return key;
}

}  // namespace hive::audit
