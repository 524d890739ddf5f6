#include "analyze/symbols.h"

#include <algorithm>
#include <array>
#include <cstddef>

namespace hive::analyze {

void Value::Merge(const Value& other, uint32_t mask) {
  bool copy = flags == 0 && text.empty() && mask == ~0u;  // this becomes `other`
  flags |= other.flags & mask;
  // Bounded: a hostile script can concatenate megabytes; paths and commands are short.
  if (!other.text.empty()) {
    if (text.size() < 4096) text += other.text.substr(0, 4096 - text.size());
    path_checked = copy && other.path_checked;
  }
  deps.insert(other.deps.begin(), other.deps.end());
}

void Symbols::Import(const std::string& module, const std::string& alias) {
  if (alias.empty()) {
    std::string top = module.substr(0, module.find('.'));
    Bind(top, top, {});
    modules_.insert(top);
    modules_.insert(module);
  } else {
    Bind(alias, module, {});
    modules_.insert(module);
  }
}

void Symbols::ImportFrom(const std::string& module, const std::string& name,
                         const std::string& alias) {
  if (name == "*") {
    if ((!known_module_ || known_module_(module)) &&
        std::find(star_modules_.begin(), star_modules_.end(), module) == star_modules_.end()) {
      star_modules_.push_back(module);
    }
    return;
  }
  std::string qual = module + "." + name;
  Bind(alias.empty() ? name : alias, qual, {});
  // `from os import path` imports a module; the analyzer cannot tell a submodule from a
  // function, so both count as modules for getattr() purposes.
  modules_.insert(qual);
}

Value Binding::value() const {
  Value v;
  v.flags = flags;
  v.text = text;
  v.path_checked = path_checked;
  return v;
}

void Symbols::Bind(const std::string& name, std::string qual, Value value) {
  Binding& b = bindings_[name];
  bound_text_ -= b.text.size();
  b.qual = std::move(qual);
  b.flags = value.flags;
  b.path_checked = value.path_checked;
  if (bound_text_ + value.text.size() > kMaxBoundText && value.text.size() > kShortText) {
    value.text.resize(kShortText);
    value.text.shrink_to_fit();
    b.flags &= ~kLiteral;  // no longer known in full: `__import__(name)` is not judged by it
  }
  b.text = std::move(value.text);
  bound_text_ += b.text.size();
}

uint32_t Symbols::Id(const std::string& name) {
  auto [it, added] = ids_.try_emplace(name, static_cast<uint32_t>(names_.size()));
  if (added) {
    names_.push_back(&it->first);  // keys of an unordered_map stay where they are
    deps_.emplace_back();
  }
  return it->second;
}

void Symbols::AddDeps(const std::string& name, const std::set<std::string>& deps) {
  if (deps.empty()) return;
  uint32_t id = Id(name);
  for (const std::string& d : deps) {
    uint32_t dep = Id(d);
    std::vector<uint32_t>& mine = deps_[id];
    // The same assignment repeated (in a loop body written out, say) adds nothing.
    auto recent = mine.end() - static_cast<std::ptrdiff_t>(std::min<size_t>(mine.size(), 8));
    if (std::find(recent, mine.end(), dep) == mine.end()) mine.push_back(dep);
  }
}

const Binding* Symbols::Find(const std::string& name) const {
  auto it = bindings_.find(name);
  return it == bindings_.end() ? nullptr : &it->second;
}

std::string Symbols::Resolve(const std::string& name) const {
  if (const Binding* b = Find(name)) return b->qual;
  if (name == "__builtins__" || name == "builtins") return "builtins";
  if (IsBuiltinName(name)) return "builtins." + name;
  for (const std::string& m : star_modules_) {
    std::string qual = m + "." + name;
    if (known_ && known_(qual)) return qual;
  }
  return "";
}

std::set<std::string> Symbols::WithDeps(const std::set<std::string>& roots) const {
  std::set<std::string> out = roots;
  std::vector<bool> seen(names_.size());
  std::vector<uint32_t> work;
  for (const std::string& r : roots) {
    auto it = ids_.find(r);
    if (it != ids_.end() && !seen[it->second]) {
      seen[it->second] = true;
      work.push_back(it->second);
    }
  }
  while (!work.empty()) {
    uint32_t n = work.back();
    work.pop_back();
    for (uint32_t d : deps_[n]) {
      if (seen[d]) continue;
      seen[d] = true;
      out.insert(*names_[d]);
      work.push_back(d);
    }
  }
  return out;
}

bool Symbols::IsModule(const std::string& qual) const {
  return qual == "builtins" || modules_.count(qual) > 0 || (known_module_ && known_module_(qual));
}

bool IsBuiltinName(std::string_view name) {
  static constexpr std::array<std::string_view, 18> kBuiltins = {
      "eval",      "exec",       "execfile", "compile", "open", "input",
      "raw_input", "__import__", "getattr",  "file",    "str",  "bytes",
      "bytearray", "repr",       "globals",  "locals",  "vars", "print"};
  return std::find(kBuiltins.begin(), kBuiltins.end(), name) != kBuiltins.end();
}

}  // namespace hive::analyze
