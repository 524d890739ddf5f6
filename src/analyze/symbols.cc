#include "analyze/symbols.h"

#include <algorithm>
#include <array>

namespace hive::analyze {

void Value::Merge(const Value& other, uint32_t mask) {
  flags |= other.flags & mask;
  // Bounded: a hostile script can concatenate megabytes; paths and commands are short.
  if (text.size() < 4096) text += other.text.substr(0, 4096 - text.size());
  deps.insert(other.deps.begin(), other.deps.end());
}

void Symbols::Import(const std::string& module, const std::string& alias) {
  if (alias.empty()) {
    std::string top = module.substr(0, module.find('.'));
    bindings_[top] = Binding{top, {}};
    modules_.insert(top);
    modules_.insert(module);
  } else {
    bindings_[alias] = Binding{module, {}};
    modules_.insert(module);
  }
}

void Symbols::ImportFrom(const std::string& module, const std::string& name,
                         const std::string& alias) {
  if (name == "*") {
    star_modules_.push_back(module);
    return;
  }
  std::string qual = module + "." + name;
  bindings_[alias.empty() ? name : alias] = Binding{qual, {}};
  // `from os import path` imports a module; the analyzer cannot tell a submodule from a
  // function, so both count as modules for getattr() purposes.
  modules_.insert(qual);
}

void Symbols::Bind(const std::string& name, std::string qual, Value value) {
  bindings_[name] = Binding{std::move(qual), std::move(value)};
}

void Symbols::AddDeps(const std::string& name, const std::set<std::string>& deps) {
  deps_[name].insert(deps.begin(), deps.end());
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

const std::set<std::string>& Symbols::DepsOf(const std::string& name) const {
  static const std::set<std::string> kNone;
  auto it = deps_.find(name);
  return it == deps_.end() ? kNone : it->second;
}

bool Symbols::IsModule(const std::string& qual) const {
  return qual == "builtins" || modules_.count(qual) > 0;
}

bool IsBuiltinName(std::string_view name) {
  static constexpr std::array<std::string_view, 18> kBuiltins = {
      "eval",      "exec",       "execfile", "compile", "open", "input",
      "raw_input", "__import__", "getattr",  "file",    "str",  "bytes",
      "bytearray", "repr",       "globals",  "locals",  "vars", "print"};
  return std::find(kBuiltins.begin(), kBuiltins.end(), name) != kBuiltins.end();
}

}  // namespace hive::analyze
