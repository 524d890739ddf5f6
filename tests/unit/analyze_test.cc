// The Python analyzer: tokenizer, alias-aware rules, risk, compatibility, and the labelled
// corpus in tests/analyze/ (recall >= 95% on dangerous/, no finding at all on benign/).
#include "hive/analyze.h"

#include <dirent.h>
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "analyze/paths.h"
#include "analyze/source_lines.h"
#include "analyze/tokenizer.h"

namespace {

using hive::analyze::Analysis;
using hive::analyze::AnalyzePython;
using hive::analyze::Finding;
using hive::analyze::Token;
using hive::analyze::Tokenize;
using hive::analyze::TokenKind;

const std::string kCorpus = HIVE_SOURCE_ROOT "/tests/analyze";

std::vector<std::string> Kinds(const std::vector<Token>& toks) {
  std::vector<std::string> out;
  for (const Token& t : toks) {
    switch (t.kind) {
      case TokenKind::kName:
        out.push_back("N:" + std::string(t.text));
        break;
      case TokenKind::kNumber:
        out.push_back("#:" + std::string(t.text));
        break;
      case TokenKind::kString:
        out.push_back("S:" + std::string(t.value()));
        break;
      case TokenKind::kOp:
        out.push_back("O:" + std::string(t.text));
        break;
      case TokenKind::kNewline:
        out.push_back("NL");
        break;
      case TokenKind::kEnd:
        out.push_back("END");
        break;
    }
  }
  return out;
}

// "type@line" of every finding.
std::set<std::string> Found(const Analysis& a) {
  std::set<std::string> out;
  for (const Finding& f : a.findings) out.insert(f.type + "@" + std::to_string(f.line));
  return out;
}

// "type@line severity" of every finding.
std::set<std::string> Rated(const Analysis& a) {
  std::set<std::string> out;
  for (const Finding& f : a.findings) {
    out.insert(f.type + "@" + std::to_string(f.line) + " " + f.severity);
  }
  return out;
}

const Finding* FindType(const Analysis& a, const std::string& type) {
  for (const Finding& f : a.findings) {
    if (f.type == type) return &f;
  }
  return nullptr;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> PyFiles(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  REQUIRE_MESSAGE(d != nullptr, "cannot open ", dir);
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n.size() > 3 && n.substr(n.size() - 3) == ".py") out.push_back(dir + "/" + n);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

// ---- tokenizer

TEST_CASE("tokenizer: every string prefix and quote form is one string token") {
  auto ts = Tokenize(
      "a = r'\\d' + b\"x\" + Rb'''y''' + u\"z\" + BR\"w\" + f'{v}' + rf\"{v}\\n\" + \"\"\"t\n"
      "u\"\"\"\n");
  CHECK(ts.errors.empty());
  int strings = 0;
  for (const Token& t : ts.tokens) strings += t.kind == TokenKind::kString;
  CHECK(strings == 8);
  CHECK(ts.tokens[2].raw);
  CHECK(ts.tokens[2].value() == "\\d");
  CHECK(ts.tokens[6].bytes);
  CHECK(ts.tokens.back().kind == TokenKind::kEnd);
}

TEST_CASE("tokenizer: words inside strings and comments never become names") {
  auto ts = Tokenize("x = 'eval(y)'  # os.system('rm')\n\"\"\"exec(z)\"\"\"\n");
  for (const Token& t : ts.tokens) {
    if (t.kind == TokenKind::kName) CHECK(t.text == "x");
  }
}

TEST_CASE("tokenizer: escapes, including an escaped quote in a raw string") {
  auto ts = Tokenize("a = 'it\\'s'\nb = r\"\\\"\"\nc = '\\x41\\n\\u00e9'\n");
  REQUIRE(ts.errors.empty());
  CHECK(ts.tokens[2].value() == "it's");
  CHECK(ts.tokens[6].value() == "\\\"");
  CHECK(ts.tokens[10].value() == "A\n\xc3\xa9");
}

TEST_CASE("tokenizer: f-string fields are tokenized, literal text is the value") {
  auto ts = Tokenize("f'{a!r:>{w}} and {{b}} {c[\"k\"]}'\n");
  REQUIRE(ts.errors.empty());
  const Token& s = ts.tokens[0];
  CHECK(s.fstring);
  CHECK(s.value() == " and {b} ");
  CHECK(Kinds(s.fields()) ==
        std::vector<std::string>{"N:a", "N:w", "NL", "N:c", "O:[", "S:k", "O:]", "NL"});
}

TEST_CASE("tokenizer: PEP 701 reuses the enclosing quote inside a field") {
  auto ts = Tokenize("x = f\"{\", \".join(songs)} {d[\"k\"]}\"\ny = 1\n");
  REQUIRE(ts.errors.empty());
  CHECK(ts.tokens[2].kind == TokenKind::kString);
  CHECK(ts.tokens[3].kind == TokenKind::kNewline);
  CHECK(ts.tokens[4].text == "y");
  CHECK(ts.tokens[4].line == 2);
}

TEST_CASE("tokenizer: continuation lines and brackets join lines; lines stay true") {
  auto ts = Tokenize("x = 1 + \\\n    2\ny = (3,\n     4)\n\n# c\nz = 5\n");
  std::vector<int> newline_lines;
  for (const Token& t : ts.tokens) {
    if (t.kind == TokenKind::kNewline) newline_lines.push_back(t.line);
    if (t.text == "2") CHECK(t.line == 2);
    if (t.text == "z") CHECK(t.line == 7);
  }
  CHECK(newline_lines.size() == 3);
}

TEST_CASE("tokenizer: numbers, operators, decorators") {
  auto k = Kinds(Tokenize("@dec\nx **= 1e-5 + 0x1F + 1_000j - .5\n").tokens);
  CHECK(k == std::vector<std::string>{"O:@", "N:dec", "NL", "N:x", "O:**=", "#:1e-5", "O:+",
                                      "#:0x1F", "O:+", "#:1_000j", "O:-", "#:.5", "NL", "END"});
}

TEST_CASE("tokenizer: columns count characters, CRLF lines count once") {
  auto ts = Tokenize("s = 'é'; eval(x)\r\nt = 1\r\n");
  for (const Token& t : ts.tokens) {
    if (t.text == "eval") CHECK(t.col == 10);
    if (t.text == "t") CHECK(t.line == 2);
  }
}

TEST_CASE("tokenizer: contents are stored only when decoding changed them") {
  auto ts =
      Tokenize("a = 'plain' + \"\"\"tri\nple\"\"\" + 'tab\\t' + f'{{x}}' + f'y{z}' + r'\\d'\n");
  REQUIRE(ts.errors.empty());
  std::vector<const Token*> strings;
  for (const Token& t : ts.tokens) {
    if (t.kind == TokenKind::kString) strings.push_back(&t);
  }
  REQUIRE(strings.size() == 6);
  CHECK(strings[0]->value() == "plain");
  CHECK(strings[0]->parts == nullptr);
  CHECK(strings[1]->value() == "tri\nple");
  CHECK(strings[1]->parts == nullptr);
  CHECK(strings[2]->value() == "tab\t");
  CHECK(strings[3]->value() == "{x}");
  CHECK(strings[4]->value() == "y");
  CHECK(Kinds(strings[4]->fields()) == std::vector<std::string>{"N:z", "NL"});
  CHECK(strings[5]->value() == "\\d");
  CHECK(sizeof(Token) <= 40);  // up to one token per byte of script
}

TEST_CASE("tokenizer: a script is read one logical line at a time") {
  hive::analyze::TokenReader r("x = (1,\n     2)\ny = 3\n");
  std::vector<Token> line;
  std::vector<std::vector<std::string>> lines;
  while (r.Next(&line)) lines.push_back(Kinds(line));
  CHECK(lines == std::vector<std::vector<std::string>>{
                     {"N:x", "O:=", "O:(", "#:1", "O:,", "#:2", "O:)", "NL"},
                     {"N:y", "O:=", "#:3", "NL"},
                     {"END"}});
  CHECK(r.errors().empty());
}

TEST_CASE("tokenizer: an unterminated string is reported, not fatal") {
  auto ts = Tokenize("x = 'abc\ny = 2\n");
  REQUIRE(ts.errors.size() == 1);
  CHECK(ts.errors[0].find("1:5: unterminated string") == 0);
  CHECK(ts.tokens.back().kind == TokenKind::kEnd);
}

// ---- paths

TEST_CASE("paths: climbing out and credentials") {
  using hive::analyze::ClimbsOut;
  using hive::analyze::NamesCredentials;
  CHECK(ClimbsOut("../../../etc/passwd"));
  CHECK(ClimbsOut("../etc/hosts"));
  CHECK_FALSE(ClimbsOut("../data/x.csv"));
  CHECK_FALSE(ClimbsOut("a/b..c/d"));
  CHECK(NamesCredentials("~/.ssh/id_rsa"));
  CHECK(NamesCredentials("/home/u/.aws/credentials"));
  CHECK(NamesCredentials("/etc/shadow"));
  CHECK_FALSE(NamesCredentials("~/.ssh/id_rsa.pub"));
  CHECK_FALSE(NamesCredentials("/etc/passwd"));
}

// ---- rules

TEST_CASE("seed: eval of input names the eval line") {
  Analysis a = AnalyzePython("x = 1\nexpr = input('> ')\nprint(eval(expr))\n");
  REQUIRE(a.findings.size() == 1);
  CHECK(a.findings[0].type == "dynamic_code_execution");
  CHECK(a.findings[0].line == 3);
  CHECK(a.findings[0].column == 7);
  CHECK(a.findings[0].severity == "critical");
  CHECK(a.findings[0].code == "print(eval(expr))");
  CHECK(a.risk_level == "critical");
}

TEST_CASE("seed: os.system with string concatenation names the os.system line") {
  Analysis a = AnalyzePython(
      "import os\nfilename = input('Enter filename: ')\n\nos.system('ls ' + filename)\n");
  CHECK(Found(a) == std::set<std::string>{"os_command_execution@4"});
  CHECK(a.findings[0].severity == "critical");
  CHECK(a.findings[0].description.find("command injection") == 0);
}

TEST_CASE("seed: path traversal names the open line") {
  Analysis a = AnalyzePython(
      "filename = \"../../../etc/passwd\"\nwith open(filename, 'r') as f:\n    content = "
      "f.read()\n");
  CHECK(Found(a) == std::set<std::string>{"path_traversal@2"});
}

TEST_CASE("seed: the secure path version, checked with is_relative_to, is clean") {
  Analysis a = AnalyzePython(ReadAll(kCorpus + "/benign/safe_path_pathlib.py"));
  CHECK(a.findings.empty());
}

TEST_CASE("aliases: from os import system as s; import subprocess as sp") {
  Analysis a = AnalyzePython(
      "from os import system as s\nimport subprocess as sp\ns(cmd)\nsp.run(cmd, shell=True)\n"
      "sp.Popen(['ls'])\n");
  CHECK(Found(a) == std::set<std::string>{"os_command_execution@3", "subprocess_shell@4"});
}

TEST_CASE("aliases: assignment, getattr with a literal, __import__ with a literal") {
  Analysis a = AnalyzePython(
      "import os\nrun = os.system\nrun('id')\ngetattr(os, 'popen')('id')\n"
      "__import__('subprocess').call('ls -l', shell=True)\n");
  CHECK(Found(a) == std::set<std::string>{"os_command_execution@3", "os_command_execution@4",
                                          "subprocess_shell@5"});
}

TEST_CASE("methods merely named eval or system are not findings") {
  Analysis a = AnalyzePython(
      "class M:\n    def eval(self, x):\n        return x\n    def system(self):\n        pass\n"
      "m = M()\nm.eval(input())\nself.system('rm -rf /')\nmodel.eval()\n");
  CHECK(a.findings.empty());
  CHECK(a.risk_level == "none");
}

TEST_CASE("a module-level def shadows the import it is named after") {
  Analysis a = AnalyzePython("from os import system\ndef system(m):\n    print(m)\nsystem(x)\n");
  CHECK(a.findings.empty());
}

TEST_CASE("eval of a literal is not a finding; literal code given to exec is read") {
  CHECK(AnalyzePython("print(eval('1 + 2'))\n").findings.empty());
  Analysis a = AnalyzePython("x = 1\nexec(\"import os\\nos.system('id')\")\n");
  CHECK(Found(a) == std::set<std::string>{"os_command_execution@2"});
}

TEST_CASE("code inside f-string fields is code") {
  Analysis a = AnalyzePython("print(f'{eval(x)} {\"eval(y)\"}')\n");
  CHECK(Found(a) == std::set<std::string>{"dynamic_code_execution@1"});
}

TEST_CASE("subprocess: list without a shell is fine; strings and shell=True are not") {
  Analysis a = AnalyzePython(
      "import subprocess\nsubprocess.run(['ls', '-l'])\nsubprocess.run('ls')\n"
      "subprocess.run('ls -l')\nsubprocess.run(c, shell=flag)\n");
  CHECK(Found(a) == std::set<std::string>{"subprocess_string_command@4", "subprocess_shell@5"});
}

TEST_CASE("deserialization: pickle from the network is critical; safe yaml is fine") {
  Analysis a = AnalyzePython(
      "import pickle, socket, yaml\ns = socket.socket()\nd = s.recv(10)\npickle.loads(d)\n"
      "yaml.load(f, Loader=yaml.SafeLoader)\nyaml.safe_load(f)\nyaml.load(f)\n");
  CHECK(Found(a) == std::set<std::string>{"network_access@2", "unsafe_deserialization@4",
                                          "unsafe_deserialization@7"});
  CHECK(a.findings[1].severity == "critical");
}

TEST_CASE("yaml: the loader is judged by what it was imported as") {
  Analysis a = AnalyzePython(
      "import yaml\nfrom yaml import CSafeLoader as Loader\nyaml.load(f, Loader=Loader)\n"
      "from yaml import Loader as L\nyaml.load(f, Loader=L)\nyaml.full_load(f)\n");
  CHECK(Found(a) == std::set<std::string>{"unsafe_deserialization@5", "unsafe_deserialization@6"});
}

TEST_CASE("obfuscation: exec of base64-decoded data") {
  Analysis a = AnalyzePython("import base64\nc = base64.b64decode(P)\nexec(c)\n");
  const Finding* f = FindType(a, "obfuscated_code");
  REQUIRE(f != nullptr);
  CHECK(f->line == 3);
  CHECK(f->severity == "critical");
}

TEST_CASE("dynamic imports and getattr with computed names") {
  Analysis a = AnalyzePython(
      "import os, importlib\n__import__(n)\nimportlib.import_module('p.' + n)\n"
      "getattr(os, n)\ngetattr(obj, 'x')\nimportlib.import_module('json')\n");
  CHECK(Found(a) ==
        std::set<std::string>{"dynamic_import@2", "dynamic_import@3", "dynamic_import@4"});
  for (const Finding& f : a.findings) CHECK(f.severity == "critical");
}

TEST_CASE("native code, recursive deletes, permission changes") {
  Analysis a = AnalyzePython(
      "import ctypes\nimport shutil, os\nshutil.rmtree('/')\nos.chmod('f', 0o4755)\n"
      "os.chmod('g', 0o644)\n");
  CHECK(Found(a) == std::set<std::string>{"native_code@1", "recursive_delete@3",
                                          "permission_change@4", "permission_change@5"});
  CHECK(a.findings[0].severity == "critical");
  CHECK(a.findings[1].severity == "critical");
  CHECK(a.findings[2].severity == "high");
  CHECK(a.findings[3].severity == "low");
}

TEST_CASE("network and credentials") {
  Analysis a = AnalyzePython(
      "import requests, os\nrequests.get('https://api.example.com/x')\n"
      "open(os.path.expanduser('~/.ssh/id_ed25519')).read()\nprint('~/.ssh/id_rsa')\n");
  CHECK(Found(a) == std::set<std::string>{"network_access@2", "credential_access@3"});
}

TEST_CASE("path traversal: user input joined to a base, unless contained") {
  CHECK(Found(AnalyzePython("import os, sys\np = os.path.join('/srv', sys.argv[1])\n")) ==
        std::set<std::string>{"path_traversal@2"});
  CHECK(AnalyzePython(
            "import os, sys\np = os.path.join('/srv', sys.argv[1])\n"
            "r = os.path.realpath(p)\nif not r.startswith('/srv/'):\n    raise SystemExit\n")
            .findings.empty());
  CHECK(AnalyzePython("import os\nd = os.path.join(os.path.dirname(__file__), '..', '..', 'x')\n")
            .findings.empty());
}

TEST_CASE("risk: level is the top severity, RiskRank orders levels") {
  using hive::analyze::RiskRank;
  CHECK(RiskRank("none") == 0);
  CHECK(RiskRank("low") == 1);
  CHECK(RiskRank("critical") == 4);
  CHECK(RiskRank("severe") == -1);
  Analysis a = AnalyzePython(
      "import os, requests\nos.chmod('a', 0o644)\nrequests.get('https://example.com/')\n");
  CHECK(a.risk_level == "medium");
  CHECK(a.risk_score == 7);
}

TEST_CASE("ToJson carries the seeds' fields") {
  Analysis a = AnalyzePython("eval(input())\n");
  nlohmann::json j = hive::analyze::ToJson(a);
  CHECK(j["schema"] == "hive-run/analysis/v1");
  CHECK(j["risk_level"] == "critical");
  CHECK(j["vulnerabilities_found"] == 1);
  CHECK(j["findings"][0]["line"] == 1);
  CHECK(j["findings"][0]["code"] == "eval(input())");
  CHECK(j["summary"]["critical"] == 1);
  CHECK_FALSE(j.contains("compatibility"));
}

// ---- compatibility

TEST_CASE("compatibility: what a script hits under the seed policy") {
  hive::Policy p;
  p.source = "seed.yml";
  p.execution.max_processes = 5;
  p.execution.timeout_seconds = 300;
  p.filesystem.allowed_paths = {"/tmp", "/work/data", "/work/logs"};
  p.filesystem.blocked_operations = {"delete", "chmod", "chown"};
  Analysis a = AnalyzePython(
      "import os, requests, time, subprocess\n"
      "requests.get('https://api.example.com/v1')\n"
      "open('/etc/app/out.txt', 'w').write('x')\n"
      "open('./data/in.csv').read()\n"
      "os.remove('./logs/old.txt')\n"
      "time.sleep(600)\n",
      &p, "/work");
  REQUIRE(a.compatibility.has_value());
  const hive::analyze::Compatibility& c = *a.compatibility;
  CHECK_FALSE(c.compatible);
  std::set<std::string> keys;
  for (const auto& i : c.issues) keys.insert(std::to_string(i.line) + ":" + i.policy_key);
  CHECK(keys == std::set<std::string>{"2:security.network.allowed_domains",
                                      "3:security.filesystem.allowed_paths",
                                      "5:security.filesystem.blocked_operations",
                                      "6:security.execution.timeout_seconds"});
  CHECK(c.score == 0);
  CHECK(c.issues[0].suggestion == "add `api.example.com` to security.network.allowed_domains");
}

TEST_CASE("compatibility: an os.replace atomic write is refused while delete is blocked") {
  hive::Policy p;
  p.source = "seed.yml";
  p.filesystem.allowed_paths = {"/tmp", "/work/data"};
  p.filesystem.blocked_operations = {"delete", "chmod", "chown"};
  const char* atomic =
      "import os, json\n"
      "with open('./data/state.json.tmp', 'w') as f:\n"
      "    json.dump({'votes': 3}, f)\n"
      "os.replace('./data/state.json.tmp', './data/state.json')\n";
  Analysis a = AnalyzePython(atomic, &p, "/work");
  REQUIRE(a.compatibility.has_value());
  CHECK_FALSE(a.compatibility->compatible);
  REQUIRE(a.compatibility->issues.size() == 1);
  CHECK(a.compatibility->issues[0].line == 4);
  CHECK(a.compatibility->issues[0].policy_key == "security.filesystem.blocked_operations");
  CHECK(a.compatibility->issues[0].detail.find("os.replace") != std::string::npos);
  // The same pattern on the sandbox's own /tmp goes through.
  Analysis tmp = AnalyzePython(
      "import os\nopen('/tmp/s.tmp', 'w').write('x')\nos.replace('/tmp/s.tmp', '/tmp/s')\n"
      "os.remove('/tmp/s')\n",
      &p, "/work");
  CHECK(tmp.compatibility->issues.empty());
  // Without delete blocked, the same write is compatible.
  p.filesystem.blocked_operations = {"chmod", "chown"};
  a = AnalyzePython(atomic, &p, "/work");
  CHECK(a.compatibility->compatible);
  CHECK(a.compatibility->issues.empty());
}

TEST_CASE("compatibility: allowed domains, processes, refuse_at") {
  hive::Policy p;
  p.network.allowed_domains = {"example.com"};
  p.network.blocked_ports = {22};
  p.execution.max_processes = 2;
  p.analysis.refuse_at = "high";
  Analysis a = AnalyzePython(
      "import requests, socket, subprocess\nrequests.get('https://api.example.com/')\n"
      "requests.get('https://other.org/')\ns = socket.socket()\ns.connect(('example.com', 22))\n"
      "subprocess.Popen(['a'])\nsubprocess.Popen(['b'])\nsubprocess.run('x', shell=True)\n",
      &p, "/w");
  REQUIRE(a.compatibility.has_value());
  std::set<std::string> got;
  for (const auto& i : a.compatibility->issues) got.insert(i.category + ":" + i.severity);
  CHECK(got == std::set<std::string>{"network:blocking", "processes:warning", "analysis:blocking"});
  int network_blocking = 0;
  for (const auto& i : a.compatibility->issues) network_blocking += i.category == "network";
  // api.example.com (an exact name does not cover the names below it, as the run enforces),
  // other.org, and port 22.
  CHECK(network_blocking == 3);
  p.network.allowed_domains = {"example.com", "*.example.com"};
  a = AnalyzePython("import requests\nrequests.get('https://api.example.com/')\n", &p, "/w");
  REQUIRE(a.compatibility.has_value());
  CHECK(a.compatibility->issues.empty());
}

TEST_CASE("compatibility: a clean script under a permissive policy scores 100") {
  hive::Policy p;
  p.filesystem.allowed_paths = {"/w"};
  Analysis a = AnalyzePython("with open('out.txt', 'w') as f:\n    f.write('hi')\n", &p, "/w");
  REQUIRE(a.compatibility.has_value());
  CHECK(a.compatibility->issues.empty());
  CHECK(a.compatibility->score == 100);
  CHECK(a.compatibility->compatible);
}

// ---- the corpus

TEST_CASE("corpus: recall >= 95% on dangerous scripts, no false positive on benign ones") {
  // `# expect: TYPE@LINE [SEVERITY]`
  const std::regex expect_re(R"(^# expect: (\w+)@(\d+)(?: (\w+))?\s*$)");
  int expected = 0, hits = 0, files = 0;
  for (const std::string& path : PyFiles(kCorpus + "/dangerous")) {
    ++files;
    std::set<std::string> want;
    std::istringstream in(ReadAll(path));
    for (std::string line; std::getline(in, line);) {
      std::smatch m;
      if (std::regex_match(line, m, expect_re)) {
        want.insert(m[1].str() + "@" + m[2].str() + (m[3].matched ? " " + m[3].str() : ""));
      }
    }
    CHECK_MESSAGE(!want.empty(), path, " declares no `# expect: TYPE@LINE`");
    auto a = hive::analyze::AnalyzeFile(path);
    REQUIRE(a.ok());
    CHECK_MESSAGE(a->syntax_errors.empty(), path);
    std::set<std::string> got = Found(*a);
    std::set<std::string> rated = Rated(*a);
    for (const std::string& w : want) {
      expected++;
      if (w.find(' ') == std::string::npos ? got.count(w) > 0 : rated.count(w) > 0) {
        hits++;
      } else {
        MESSAGE("missed ", w, " in ", path);
      }
    }
  }
  int benign_files = 0, false_positives = 0;
  for (const std::string& path : PyFiles(kCorpus + "/benign")) {
    ++benign_files;
    auto a = hive::analyze::AnalyzeFile(path);
    REQUIRE(a.ok());
    for (const Finding& f : a->findings) {
      ++false_positives;
      MESSAGE("false positive ", path, ":", f.line, " ", f.type, ": ", f.code);
    }
  }
  MESSAGE("recall ", hits, "/", expected, " over ", files, " dangerous files; ", false_positives,
          " findings over ", benign_files, " benign files");
  CHECK(files >= 30);
  CHECK(benign_files >= 30);
  CHECK(expected > 0);
  CHECK(hits * 100 >= expected * 95);
  CHECK(false_positives == 0);
}

TEST_CASE("hostile nesting is read without recursing without bound") {
  const int n = 20000;
  std::string parens = "x = " + std::string(n, '(') + "1" + std::string(n, ')') + "\n";
  std::string calls = "x = ";
  for (int i = 0; i < n; ++i) calls += "f(";
  calls += "eval(input())" + std::string(n, ')') + "\n";
  std::string fstrings = "x = ";
  for (int i = 0; i < n; ++i) fstrings += "f'{";
  for (int i = 0; i < n; ++i) fstrings += "}'";
  CHECK(AnalyzePython(parens).findings.empty());
  CHECK(Found(AnalyzePython(calls)) == std::set<std::string>{"dynamic_code_execution@1"});
  Analysis a = AnalyzePython(fstrings + "\n");
  CHECK_FALSE(a.syntax_errors.empty());
  CHECK(AnalyzePython("x = " + std::string(n, '[') + "\n").findings.empty());
}

// ---- size: what a long script costs the analyzer, and what it says about the part it skips

namespace {

// `lines` repeated until the text passes `size` bytes.
std::string Repeat(const std::string& lines, size_t size) {
  std::string out;
  out.reserve(size + lines.size());
  while (out.size() <= size) out += lines;
  return out;
}

int Lines(std::string_view text) {
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

}  // namespace

TEST_CASE("size: a script past kMaxAnalyzedBytes is analyzed to its last whole line") {
  using hive::analyze::kMaxAnalyzedBytes;
  std::string src = "import os\nos.system('id')\n" +
                    Repeat("rows.append((1, 'a', 2.5))  # data\n", kMaxAnalyzedBytes) +
                    "os.system(cmd)\n";  // past the cap: never read
  Analysis a = AnalyzePython(src);
  CHECK(a.syntax_errors.empty());
  // The first line not read is the one the cap falls in.
  size_t read = src.rfind('\n', kMaxAnalyzedBytes - 1) + 1;
  int first_unread = Lines(std::string_view(src).substr(0, read)) + 1;
  CHECK(Found(a) == std::set<std::string>{"os_command_execution@2",
                                          "analysis_incomplete@" + std::to_string(first_unread)});
  const Finding* f = FindType(a, "analysis_incomplete");
  REQUIRE(f != nullptr);
  CHECK(f->severity == "high");
  CHECK(f->column == 1);
  CHECK(f->code == "rows.append((1, 'a', 2.5))  # data");
  CHECK(f->description.find("the script is " + std::to_string(src.size()) + " bytes") == 0);
  CHECK(f->description.find("only its first " + std::to_string(read) + " bytes (lines 1-" +
                            std::to_string(first_unread - 1) + ")") != std::string::npos);
  CHECK(a.findings.back().type == "analysis_incomplete");  // in source order: it comes last
}

TEST_CASE("size: what a long script hides is high risk, never silently passed") {
  using hive::analyze::kMaxAnalyzedBytes;
  using hive::analyze::RefusalFor;
  // Comments only up to the cap: nothing that was read is a finding.
  std::string src = Repeat("# padding padding padding padding\n", kMaxAnalyzedBytes) +
                    "__import__('os').system('id')\n";
  Analysis a = AnalyzePython(src);
  CHECK(Found(a).size() == 1);
  CHECK(a.risk_level == "high");
  hive::Policy builtin;  // no refuse_at: the built-in policy runs it
  CHECK(RefusalFor(a, builtin).empty());
  hive::Policy lenient;
  lenient.analysis.refuse_at = "critical";
  CHECK(RefusalFor(a, lenient).empty());
  hive::Policy strict;
  strict.source = "strict.yml";
  strict.analysis.refuse_at = "high";
  CHECK(RefusalFor(a, strict).find("more than the 4 MiB the analyzer reads") != std::string::npos);
  // A script of exactly the cap is read whole.
  std::string exact = Repeat("x = 1\n", kMaxAnalyzedBytes);
  exact.resize(kMaxAnalyzedBytes - 6);
  exact += "\nx = 1";
  REQUIRE(exact.size() == kMaxAnalyzedBytes);
  CHECK(AnalyzePython(exact).findings.empty());
}

TEST_CASE("size: a cut inside a string or a line") {
  using hive::analyze::kMaxAnalyzedBytes;
  // A triple-quoted string open across the cut is where reading stopped, not a syntax error.
  std::string src = "s = '''\n" + Repeat("text\n", kMaxAnalyzedBytes) + "'''\n";
  Analysis a = AnalyzePython(src);
  CHECK(a.syntax_errors.empty());
  int first_unread = Lines(std::string_view(src).substr(0, kMaxAnalyzedBytes)) + 1;
  CHECK(Found(a) == std::set<std::string>{"analysis_incomplete@" + std::to_string(first_unread)});
  // One line longer than the cap: part of it is read; its code is quoted short.
  a = AnalyzePython("x = [" + Repeat("1, ", kMaxAnalyzedBytes) + "]\n");
  const Finding* f = FindType(a, "analysis_incomplete");
  REQUIRE(f != nullptr);
  CHECK(f->line == 1);
  CHECK(f->description.find("(part of line 1)") != std::string::npos);
  CHECK(f->code.size() == hive::analyze::SourceLines::kMaxCode);
  CHECK(f->code.ends_with("..."));
}

TEST_CASE("size: findings past 200 of a severity are counted, not listed") {
  std::string src;
  for (int i = 0; i < 1000; ++i) src += "eval(x)\n";
  for (int i = 0; i < 3; ++i) src += "eval(input())\n";
  Analysis a = AnalyzePython(src);
  CHECK(a.findings.size() == 203);
  CHECK(a.unlisted == std::map<std::string, int>{{"high", 800}});
  CHECK(a.risk_level == "critical");
  nlohmann::json j = hive::analyze::ToJson(a);
  CHECK(j["vulnerabilities_found"] == 1003);
  CHECK(j["findings_unlisted"] == 800);
  CHECK(j["summary"]["high"] == 1000);
  CHECK(j["summary"]["critical"] == 3);
  // Many findings on one long line each quote a short piece of it, not the whole line.
  std::string one_line;
  for (int i = 0; i < 5000; ++i) one_line += "eval(x);";
  a = AnalyzePython(one_line + "\n");
  CHECK(a.findings.size() == 200);
  for (const Finding& f : a.findings) CHECK(f.code.size() <= hive::analyze::SourceLines::kMaxCode);
}

TEST_CASE("size: a long chain of assignments still links a containment check to its source") {
  // Each variable records only the names it was computed from; the check on the last one
  // reaches the first through all of them.
  std::string src = "import os, sys\np0 = sys.argv[1]\nf = open(os.path.join('/srv', p0))\n";
  const int n = 3000;
  for (int i = 1; i <= n; ++i) src += fmt::format("p{} = p{}\n", i, i - 1);
  CHECK(Found(AnalyzePython(src)) == std::set<std::string>{"path_traversal@3"});
  src +=
      fmt::format("if not os.path.realpath(p{}).startswith('/srv/'):\n    raise SystemExit\n", n);
  CHECK(AnalyzePython(src).findings.empty());
}

// ---- names computed at run time, and native code

TEST_CASE("computed names: imports and lookups that can reach os.system are critical") {
  // Each can pick os.system, subprocess or ctypes by a name only known at run time.
  for (std::string_view line :
       {"__import__(name)", "importlib.import_module(name=name)", "getattr(os, name)",
        "getattr(builtins, name)", "getattr(__builtins__, name)",
        "getattr(__import__('subprocess'), name)", "globals()[name]", "locals()[name]()",
        "vars()[name]", "vars(builtins)[name]", "vars(os)[name]", "__builtins__.__dict__[name]",
        "builtins.__dict__[name]", "os.__dict__[name]", "sys.modules[name]", "__builtins__[name]",
        "g = globals()\ng[name]",
        "m = importlib.import_module('os')\n"
        "getattr(m, name)"}) {
    Analysis a = AnalyzePython("import os, sys, builtins, importlib\n" + std::string(line) + "\n");
    int last = 1 + static_cast<int>(std::count(line.begin(), line.end(), '\n')) + 1;
    CHECK_MESSAGE(
        Rated(a) == std::set<std::string>{"dynamic_import@" + std::to_string(last) + " critical"},
        line);
  }
}

TEST_CASE("computed names: a module without such functions, or a plain object, ranks lower") {
  Analysis a = AnalyzePython(
      "import logging, sys, json\nlevel = getattr(logging, name)\n"
      "getattr(self, 'handle_' + command)()\ngetattr(obj, sys.argv[1])\nvars(json)[key]\n"
      "getattr(logging, sys.argv[1])\n");
  CHECK(Rated(a) == std::set<std::string>{"dynamic_import@2 high", "dynamic_import@3 low",
                                          "dynamic_import@4 high", "dynamic_import@5 high",
                                          "dynamic_import@6 critical"});
}

TEST_CASE("computed names: a name known before run time is judged by what it names") {
  Analysis a = AnalyzePython(
      "import os, sys, builtins\nn = 'o' + 's'\nm = __import__(n)\nm.system('id')\n"
      "getattr(__import__('os'), 'system')('id')\ngetattr(os, 'sys' + 'tem')('id')\n"
      "sys.modules['os'].system('id')\nglobals()['eval'](code)\nvars(builtins)['exec'](code)\n"
      "os.__dict__['popen']('id')\n__import__('json').dumps({})\nsys.modules['json'].dumps({})\n"
      "importlib = __import__('importlib')\nimportlib.import_module('ctypes')\n");
  CHECK(Rated(a) ==
        std::set<std::string>{"os_command_execution@4 high", "os_command_execution@5 high",
                              "os_command_execution@6 high", "os_command_execution@7 high",
                              "dynamic_code_execution@8 high", "dynamic_code_execution@9 high",
                              "os_command_execution@10 high", "native_code@14 critical"});
}

TEST_CASE("computed names: a name cut short in the symbol table is no longer a literal") {
  // Past kMaxBoundText, bindings keep 15 characters of their text: that is not the name.
  std::string src = "a = '" + std::string(4000, 'x') + "'\n";
  for (int i = 0; i < 2200; ++i) src += fmt::format("b{} = a\n", i);
  src += "name = 'xml.etree.ElementTree'\nmod = __import__(name)\n";
  Analysis a = AnalyzePython(src);
  CHECK(Rated(a) == std::set<std::string>{"dynamic_import@2203 critical"});
}

TEST_CASE("native code: ctypes and cffi reach raw system calls and are critical") {
  Analysis a = AnalyzePython(
      "import ctypes\nctypes.CDLL(None).syscall(39)\n"
      "libc = ctypes.cdll.LoadLibrary('libc.so.6')\nlibc.system(b'id')\n"
      "ctypes.pythonapi.PyRun_SimpleString(b'x')\nctypes.memmove(dst, src, n)\n"
      "from cffi import FFI\nlib = FFI().dlopen(None)\nlib.getpid()\n"
      "__import__('ctypes').CDLL('libc.so.6')\n");
  CHECK(Rated(a) == std::set<std::string>{"native_code@1 critical", "native_code@2 critical",
                                          "native_code@3 critical", "native_code@4 critical",
                                          "native_code@5 critical", "native_code@6 critical",
                                          "native_code@7 critical", "native_code@8 critical",
                                          "native_code@9 critical", "native_code@10 critical"});
  const Finding* f = FindType(a, "native_code");
  REQUIRE(f != nullptr);
  CHECK(f->description.find("raw system calls") != std::string::npos);
  CHECK(a.findings[1].description == "ctypes.CDLL().syscall() makes a raw system call");
  // Other ctypes calls (types, sizes) add nothing to the import.
  CHECK(Rated(AnalyzePython("import ctypes\nx = ctypes.c_int(5)\nctypes.sizeof(x)\n")) ==
        std::set<std::string>{"native_code@1 critical"});
}
