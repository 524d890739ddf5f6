#include "analyze/tokenizer.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace hive::analyze {
namespace {

bool IsIdentStart(unsigned char c) { return std::isalpha(c) || c == '_' || c >= 0x80; }
bool IsIdentChar(unsigned char c) { return IsIdentStart(c) || std::isdigit(c); }
bool IsHex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

constexpr int kMaxFStringNesting = 64;

constexpr std::array<std::string_view, 5> kOps3 = {"**=", "//=", ">>=", "<<=", "..."};
constexpr std::array<std::string_view, 19> kOps2 = {
    "**", "//", ">>", "<<", "<=", ">=", "==", "!=", "->", "+=",
    "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@=", ":="};

bool IsStringPrefix(std::string_view name) {
  if (name.size() > 2) return false;
  std::string lower;
  for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static constexpr std::array<std::string_view, 11> kPrefixes = {"r",  "u",  "b", "br", "rb", "f",
                                                                 "fr", "rf", "t", "tr", "rt"};
  return std::find(kPrefixes.begin(), kPrefixes.end(), lower) != kPrefixes.end();
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

class Lexer {
 public:
  explicit Lexer(std::string_view src) : src_(src) {}

  TokenStream Run() {
    int depth = 0;
    bool line_has_tokens = false;
    for (;;) {
      SkipBlanks();
      if (AtEnd()) {
        if (line_has_tokens) out_.tokens.push_back(Marker(TokenKind::kNewline));
        out_.tokens.push_back(Marker(TokenKind::kEnd));
        return std::move(out_);
      }
      char c = src_[pos_];
      if (c == '#') {
        SkipComment();
        continue;
      }
      if (IsNewline(c)) {
        // Inside brackets a newline only joins lines; blank and comment-only lines end nothing.
        if (depth == 0 && line_has_tokens) {
          out_.tokens.push_back(Marker(TokenKind::kNewline));
          line_has_tokens = false;
        }
        AdvanceNewline();
        continue;
      }
      Token t = ScanToken();
      if (t.kind == TokenKind::kOp && t.text.size() == 1) {
        char o = t.text[0];
        if (o == '(' || o == '[' || o == '{') ++depth;
        if ((o == ')' || o == ']' || o == '}') && depth > 0) --depth;
      }
      out_.tokens.push_back(std::move(t));
      line_has_tokens = true;
    }
  }

 private:
  bool AtEnd() const { return pos_ >= src_.size(); }
  char Peek(size_t k = 0) const { return pos_ + k < src_.size() ? src_[pos_ + k] : '\0'; }
  static bool IsNewline(char c) { return c == '\n' || c == '\r'; }

  void Advance() {
    char c = src_[pos_++];
    if (c == '\n' || (c == '\r' && Peek() != '\n')) {
      ++line_;
      line_start_ = pos_;
    }
  }
  void AdvanceNewline() {
    if (Peek() == '\r' && Peek(1) == '\n') Advance();
    Advance();
  }

  // Characters, not bytes, from the line start; counted on from the last token of the same
  // line so that a megabyte-long line stays linear.
  int Column(size_t offset) {
    if (col_line_start_ != line_start_ || col_offset_ > offset) {
      col_line_start_ = line_start_;
      col_offset_ = line_start_;
      col_ = 1;
    }
    for (; col_offset_ < offset && col_offset_ < src_.size(); ++col_offset_) {
      if ((static_cast<unsigned char>(src_[col_offset_]) & 0xC0) != 0x80) ++col_;
    }
    return col_;
  }

  void Error(int line, int col, const std::string& what) {
    out_.errors.push_back(fmt::format("{}:{}: {}", line, col, what));
  }

  Token Marker(TokenKind kind) {
    Token t;
    t.kind = kind;
    t.line = line_;
    t.col = Column(pos_);
    return t;
  }

  // Spaces, tabs, form feeds and backslash continuations; newlines too inside an f-string field.
  void SkipBlanks(bool newlines = false) {
    while (!AtEnd()) {
      char c = src_[pos_];
      if (c == ' ' || c == '\t' || c == '\f') {
        Advance();
      } else if (c == '\\' && IsNewline(Peek(1))) {
        Advance();
        AdvanceNewline();
      } else if (newlines && IsNewline(c)) {
        AdvanceNewline();
      } else if (newlines && c == '#') {
        SkipComment();
      } else {
        return;
      }
    }
  }

  void SkipComment() {
    while (!AtEnd() && !IsNewline(src_[pos_])) Advance();
  }

  Token ScanToken() {
    Token t;
    size_t start = pos_;
    t.line = line_;
    t.col = Column(start);
    unsigned char c = static_cast<unsigned char>(src_[pos_]);
    if (IsIdentStart(c)) {
      while (!AtEnd() && IsIdentChar(static_cast<unsigned char>(src_[pos_]))) Advance();
      std::string_view name = src_.substr(start, pos_ - start);
      if (IsStringPrefix(name) && (Peek() == '\'' || Peek() == '"')) {
        ScanString(t, start, name);
      } else {
        t.kind = TokenKind::kName;
        t.text = name;
      }
      return t;
    }
    if (std::isdigit(c) || (c == '.' && std::isdigit(static_cast<unsigned char>(Peek(1))))) {
      bool hex = c == '0' && (Peek(1) == 'x' || Peek(1) == 'X');
      while (!AtEnd()) {
        char p = src_[pos_];
        char prev = pos_ > start ? src_[pos_ - 1] : '\0';
        bool exponent_sign = (p == '+' || p == '-') && (prev == 'e' || prev == 'E') && !hex;
        if (!IsIdentChar(static_cast<unsigned char>(p)) && p != '.' && !exponent_sign) break;
        Advance();
      }
      t.kind = TokenKind::kNumber;
      t.text = src_.substr(start, pos_ - start);
      return t;
    }
    if (c == '\'' || c == '"') {
      ScanString(t, start, "");
      return t;
    }
    t.kind = TokenKind::kOp;
    size_t len = 1;
    std::string_view rest = src_.substr(pos_);
    for (std::string_view op : kOps3) {
      if (rest.substr(0, 3) == op) len = 3;
    }
    if (len == 1) {
      for (std::string_view op : kOps2) {
        if (rest.substr(0, 2) == op) len = 2;
      }
    }
    for (size_t i = 0; i < len; ++i) Advance();
    t.text = src_.substr(start, len);
    return t;
  }

  void ScanString(Token& t, size_t start, std::string_view prefix) {
    t.kind = TokenKind::kString;
    for (char p : prefix) {
      char l = static_cast<char>(std::tolower(static_cast<unsigned char>(p)));
      if (l == 'r') t.raw = true;
      if (l == 'b') t.bytes = true;
      if (l == 'f' || l == 't') t.fstring = true;
    }
    char quote = Peek();
    bool triple = Peek(1) == quote && Peek(2) == quote;
    for (int i = 0; i < (triple ? 3 : 1); ++i) Advance();
    // Fields nest strings in strings; past this depth (real code stops at a handful) the
    // rest is read as plain text rather than recursing without bound.
    if (t.fstring && fstring_depth_ >= kMaxFStringNesting) {
      Error(t.line, t.col, "f-strings nested too deeply; inner ones read as plain text");
      t.fstring = false;
    }
    if (t.fstring) ++fstring_depth_;
    ScanBody(t, quote, triple);
    if (t.fstring) --fstring_depth_;
    t.text = src_.substr(start, pos_ - start);
  }

  // True (and consumed) when the closing quote(s) are next.
  bool AtClose(char quote, bool triple) {
    if (Peek() != quote) return false;
    if (triple && (Peek(1) != quote || Peek(2) != quote)) return false;
    for (int i = 0; i < (triple ? 3 : 1); ++i) Advance();
    return true;
  }

  void ScanBody(Token& t, char quote, bool triple) {
    for (;;) {
      if (AtEnd()) {
        Error(t.line, t.col, "unterminated string");
        return;
      }
      char c = src_[pos_];
      if (c == '\\') {
        ScanEscape(t);
        continue;
      }
      if (AtClose(quote, triple)) return;
      if (IsNewline(c) && !triple) {
        Error(t.line, t.col, "unterminated string");
        return;
      }
      if (t.fstring && (c == '{' || c == '}')) {
        if (Peek(1) == c) {  // doubled braces are literal
          t.value += c;
          Advance();
          Advance();
          continue;
        }
        Advance();
        if (c == '{') ScanField(t, quote, triple);
        continue;
      }
      t.value += c;
      Advance();
    }
  }

  void ScanEscape(Token& t) {
    char n = Peek(1);
    if (n == '\0' && pos_ + 1 >= src_.size()) {
      Advance();
      return;
    }
    // In f-strings a brace after a backslash still opens or closes a field.
    if (t.fstring && (n == '{' || n == '}')) {
      t.value += '\\';
      Advance();
      return;
    }
    if (t.raw) {
      t.value += '\\';
      Advance();
      if (IsNewline(n)) {
        t.value += '\n';
        AdvanceNewline();
      } else {
        t.value += n;
        Advance();
      }
      return;
    }
    Advance();  // the backslash
    if (IsNewline(n)) {
      AdvanceNewline();  // continuation: nothing is added
      return;
    }
    Advance();  // the escape letter
    auto hex_digits = [&](int count) -> uint32_t {
      uint32_t v = 0;
      for (int k = 0; k < count && IsHex(Peek()); ++k) {
        char h = static_cast<char>(std::tolower(static_cast<unsigned char>(Peek())));
        v = v * 16 + static_cast<uint32_t>(h <= '9' ? h - '0' : h - 'a' + 10);
        Advance();
      }
      return v;
    };
    switch (n) {
      case 'n':
        t.value += '\n';
        return;
      case 't':
        t.value += '\t';
        return;
      case 'r':
        t.value += '\r';
        return;
      case 'a':
        t.value += '\a';
        return;
      case 'b':
        t.value += '\b';
        return;
      case 'f':
        t.value += '\f';
        return;
      case 'v':
        t.value += '\v';
        return;
      case '\\':
      case '\'':
      case '"':
        t.value += n;
        return;
      case 'x': {
        uint32_t v = hex_digits(2);
        if (t.bytes)
          t.value += static_cast<char>(v);
        else
          AppendUtf8(t.value, v);
        return;
      }
      case 'u':
      case 'U':
        if (!t.bytes) {
          AppendUtf8(t.value, hex_digits(n == 'u' ? 4 : 8));
          return;
        }
        break;
      case 'N':
        if (!t.bytes && Peek() == '{') {  // \N{NAME}: kept as written, never a field
          t.value += "\\N";
          while (!AtEnd() && Peek() != '}' && !IsNewline(Peek())) {
            t.value += Peek();
            Advance();
          }
          if (Peek() == '}') {
            t.value += '}';
            Advance();
          }
          return;
        }
        break;
      default:
        if (n >= '0' && n <= '7') {
          uint32_t v = static_cast<uint32_t>(n - '0');
          for (int i = 0; i < 2 && Peek() >= '0' && Peek() <= '7'; ++i) {
            v = v * 8 + static_cast<uint32_t>(Peek() - '0');
            Advance();
          }
          if (t.bytes)
            t.value += static_cast<char>(v);
          else
            AppendUtf8(t.value, v);
          return;
        }
        break;
    }
    t.value += '\\';
    t.value += n;
  }

  // After the `{` of a replacement field: its tokens go to t.fields; consumes the closing `}`.
  void ScanField(Token& t, char quote, bool triple) {
    int depth = 0;
    for (;;) {
      SkipBlanks(/*newlines=*/true);
      if (AtEnd()) {
        Error(t.line, t.col, "unterminated f-string field");
        break;
      }
      char c = src_[pos_];
      if (depth == 0) {
        if (c == '}') {
          Advance();
          break;
        }
        if (c == '!' && Peek(1) != '=') {  // conversion: !r !s !a
          Advance();
          while (!AtEnd() && IsIdentChar(static_cast<unsigned char>(Peek()))) Advance();
          continue;
        }
        if (c == ':') {
          Advance();
          ScanFormatSpec(t, quote, triple);
          break;
        }
        if (c == '=' && (Peek(1) == '}' || Peek(1) == '!' || Peek(1) == ':')) {  // {x=}
          Advance();
          continue;
        }
      }
      Token inner = ScanToken();
      if (inner.kind == TokenKind::kOp && inner.text.size() == 1) {
        char o = inner.text[0];
        if (o == '(' || o == '[' || o == '{') ++depth;
        if ((o == ')' || o == ']' || o == '}') && depth > 0) --depth;
      }
      t.fields.push_back(std::move(inner));
    }
    t.fields.push_back(Marker(TokenKind::kNewline));
  }

  // The format spec after `:` is literal text with nested fields, up to the field's `}`.
  void ScanFormatSpec(Token& t, char quote, bool triple) {
    for (;;) {
      if (AtEnd()) {
        Error(t.line, t.col, "unterminated f-string format spec");
        return;
      }
      char c = src_[pos_];
      if (c == '}') {
        Advance();
        return;
      }
      if (c == quote || (IsNewline(c) && !triple)) return;  // malformed; the body reports it
      Advance();
      if (c == '{') {
        ScanField(t, quote, triple);
        t.fields.pop_back();  // the nested field's end; the outer one adds its own
      }
    }
  }

  std::string_view src_;
  size_t pos_ = 0;
  int line_ = 1;
  size_t line_start_ = 0;
  TokenStream out_;
  int fstring_depth_ = 0;
  size_t col_line_start_ = 0, col_offset_ = 0;  // Column()'s place
  int col_ = 1;
};

}  // namespace

TokenStream Tokenize(std::string_view source) { return Lexer(source).Run(); }

bool IsKeyword(std::string_view name) {
  static constexpr std::array<std::string_view, 35> kKeywords = {
      "False", "None",     "True",  "and",    "as",   "assert", "async",  "await",    "break",
      "class", "continue", "def",   "del",    "elif", "else",   "except", "finally",  "for",
      "from",  "global",   "if",    "import", "in",   "is",     "lambda", "nonlocal", "not",
      "or",    "pass",     "raise", "return", "try",  "while",  "with",   "yield"};
  return std::find(kKeywords.begin(), kKeywords.end(), name) != kKeywords.end();
}

}  // namespace hive::analyze
