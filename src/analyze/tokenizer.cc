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

}  // namespace

class Lexer {
 public:
  Lexer(std::string_view src, bool truncated) : src_(src), truncated_(truncated) {}

  // The next logical line's tokens into *out (cleared first); false once kEnd was delivered.
  bool NextLine(std::vector<Token>* out) {
    out->clear();
    if (done_) return false;
    bool line_has_tokens = false;
    for (;;) {
      SkipBlanks();
      if (AtEnd()) {
        if (line_has_tokens) out->push_back(Marker(TokenKind::kNewline));
        out->push_back(Marker(TokenKind::kEnd));
        done_ = true;
        if (omitted_errors_ > 0) {
          errors_.push_back(fmt::format("{} more syntax errors not listed", omitted_errors_));
        }
        return true;
      }
      char c = src_[pos_];
      if (c == '#') {
        SkipComment();
        continue;
      }
      if (IsNewline(c)) {
        // Inside brackets a newline only joins lines; blank and comment-only lines end nothing.
        bool ends = depth_ == 0 && line_has_tokens;
        if (ends) out->push_back(Marker(TokenKind::kNewline));
        AdvanceNewline();
        if (ends) return true;
        continue;
      }
      Token t = ScanToken();
      if (t.kind == TokenKind::kOp && t.text.size() == 1) {
        char o = t.text[0];
        if (o == '(' || o == '[' || o == '{') ++depth_;
        if ((o == ')' || o == ']' || o == '}') && depth_ > 0) --depth_;
      }
      out->push_back(std::move(t));
      line_has_tokens = true;
    }
  }

  const std::vector<std::string>& errors() const { return errors_; }

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
    if (errors_.size() >= TokenReader::kMaxErrors) {
      ++omitted_errors_;
      return;
    }
    errors_.push_back(fmt::format("{}:{}: {}", line, col, what));
  }
  // Running out of text: an error, unless the text was cut short on purpose.
  void EndError(int line, int col, const std::string& what) {
    if (!truncated_) Error(line, col, what);
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

  // A string's contents are built only once they differ from its source text: until then
  // `out` is null and the contents are src_[start, pos_).
  struct Body {
    Token& t;
    size_t start;
    std::string* out = nullptr;
  };

  StringParts& Parts(Token& t) {
    if (!t.parts) t.parts = std::make_unique<StringParts>();
    return *t.parts;
  }

  // The contents so far, copied out of the source the first time decoding changes them.
  std::string& Own(Body& b) {
    if (!b.out) {
      StringParts& p = Parts(b.t);
      p.decoded = true;
      p.value.assign(src_.substr(b.start, pos_ - b.start));
      b.out = &p.value;
    }
    return *b.out;
  }

  // Consumes one character that is part of the contents as written.
  void Keep(Body& b) {
    if (b.out) *b.out += src_[pos_];
    Advance();
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
    int quotes = triple ? 3 : 1;
    for (int i = 0; i < quotes; ++i) Advance();
    t.body_begin = static_cast<uint8_t>(pos_ - start);
    // Fields nest strings in strings; past this depth (real code stops at a handful) the
    // rest is read as plain text rather than recursing without bound.
    if (t.fstring && fstring_depth_ >= kMaxFStringNesting) {
      Error(t.line, t.col, "f-strings nested too deeply; inner ones read as plain text");
      t.fstring = false;
    }
    if (t.fstring) ++fstring_depth_;
    Body body{t, pos_};
    bool closed = ScanBody(body, quote, triple);
    if (t.fstring) --fstring_depth_;
    t.text = src_.substr(start, pos_ - start);
    t.body_end = closed ? static_cast<uint8_t>(quotes) : 0;
  }

  // True (and consumed) when the closing quote(s) are next.
  bool AtClose(char quote, bool triple) {
    if (Peek() != quote) return false;
    if (triple && (Peek(1) != quote || Peek(2) != quote)) return false;
    for (int i = 0; i < (triple ? 3 : 1); ++i) Advance();
    return true;
  }

  // True when the string was closed by its quote(s).
  bool ScanBody(Body& b, char quote, bool triple) {
    Token& t = b.t;
    for (;;) {
      if (AtEnd()) {
        EndError(t.line, t.col, "unterminated string");
        return false;
      }
      char c = src_[pos_];
      if (c == '\\') {
        ScanEscape(b);
        continue;
      }
      if (AtClose(quote, triple)) return true;
      if (IsNewline(c) && !triple) {
        Error(t.line, t.col, "unterminated string");
        return false;
      }
      if (t.fstring && (c == '{' || c == '}')) {
        std::string& out = Own(b);
        if (Peek(1) == c) {  // doubled braces are literal
          out += c;
          Advance();
          Advance();
          continue;
        }
        Advance();
        if (c == '{') ScanField(t, quote, triple);
        continue;
      }
      Keep(b);
    }
  }

  void ScanEscape(Body& b) {
    Token& t = b.t;
    char n = Peek(1);
    if (n == '\0' && pos_ + 1 >= src_.size()) {
      Own(b);  // a backslash ending the input adds nothing
      Advance();
      return;
    }
    // In f-strings a brace after a backslash still opens or closes a field.
    if (t.fstring && (n == '{' || n == '}')) {
      Keep(b);
      return;
    }
    if (t.raw) {
      Keep(b);  // the backslash
      if (IsNewline(n)) {
        Own(b) += '\n';
        AdvanceNewline();
      } else {
        Keep(b);
      }
      return;
    }
    std::string& out = Own(b);
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
        out += '\n';
        return;
      case 't':
        out += '\t';
        return;
      case 'r':
        out += '\r';
        return;
      case 'a':
        out += '\a';
        return;
      case 'b':
        out += '\b';
        return;
      case 'f':
        out += '\f';
        return;
      case 'v':
        out += '\v';
        return;
      case '\\':
      case '\'':
      case '"':
        out += n;
        return;
      case 'x': {
        uint32_t v = hex_digits(2);
        if (t.bytes)
          out += static_cast<char>(v);
        else
          AppendUtf8(out, v);
        return;
      }
      case 'u':
      case 'U':
        if (!t.bytes) {
          AppendUtf8(out, hex_digits(n == 'u' ? 4 : 8));
          return;
        }
        break;
      case 'N':
        if (!t.bytes && Peek() == '{') {  // \N{NAME}: kept as written, never a field
          out += "\\N";
          while (!AtEnd() && Peek() != '}' && !IsNewline(Peek())) {
            out += Peek();
            Advance();
          }
          if (Peek() == '}') {
            out += '}';
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
            out += static_cast<char>(v);
          else
            AppendUtf8(out, v);
          return;
        }
        break;
    }
    out += '\\';
    out += n;
  }

  // After the `{` of a replacement field: its tokens go to the string's fields; consumes the
  // closing `}`.
  void ScanField(Token& t, char quote, bool triple) {
    std::vector<Token>& fields = Parts(t).fields;
    int depth = 0;
    for (;;) {
      SkipBlanks(/*newlines=*/true);
      if (AtEnd()) {
        EndError(t.line, t.col, "unterminated f-string field");
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
      fields.push_back(std::move(inner));
    }
    fields.push_back(Marker(TokenKind::kNewline));
  }

  // The format spec after `:` is literal text with nested fields, up to the field's `}`.
  void ScanFormatSpec(Token& t, char quote, bool triple) {
    for (;;) {
      if (AtEnd()) {
        EndError(t.line, t.col, "unterminated f-string format spec");
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
        t.parts->fields.pop_back();  // the nested field's end; the outer one adds its own
      }
    }
  }

  std::string_view src_;
  bool truncated_;
  size_t pos_ = 0;
  int line_ = 1;
  size_t line_start_ = 0;
  int depth_ = 0;  // open brackets: a newline inside them joins lines
  bool done_ = false;
  std::vector<std::string> errors_;
  size_t omitted_errors_ = 0;
  int fstring_depth_ = 0;
  size_t col_line_start_ = 0, col_offset_ = 0;  // Column()'s place
  int col_ = 1;
};

Token::Token() = default;
Token::Token(Token&&) noexcept = default;
Token& Token::operator=(Token&&) noexcept = default;
Token::~Token() = default;

std::string_view Token::value() const {
  if (parts && parts->decoded) return parts->value;
  if (kind != TokenKind::kString) return {};
  return text.substr(body_begin, text.size() - body_begin - body_end);
}

const std::vector<Token>& Token::fields() const {
  static const std::vector<Token> kNone;
  return parts ? parts->fields : kNone;
}

TokenReader::TokenReader(std::string_view source, bool truncated)
    : lexer_(std::make_unique<Lexer>(source, truncated)) {}
TokenReader::~TokenReader() = default;

bool TokenReader::Next(std::vector<Token>* line) { return lexer_->NextLine(line); }

std::vector<std::string> TokenReader::errors() const { return lexer_->errors(); }

TokenStream Tokenize(std::string_view source) {
  TokenStream ts;
  TokenReader reader(source);
  std::vector<Token> line;
  while (reader.Next(&line)) {
    for (Token& t : line) ts.tokens.push_back(std::move(t));
  }
  ts.errors = reader.errors();
  return ts;
}

bool IsKeyword(std::string_view name) {
  static constexpr std::array<std::string_view, 35> kKeywords = {
      "False", "None",     "True",  "and",    "as",   "assert", "async",  "await",    "break",
      "class", "continue", "def",   "del",    "elif", "else",   "except", "finally",  "for",
      "from",  "global",   "if",    "import", "in",   "is",     "lambda", "nonlocal", "not",
      "or",    "pass",     "raise", "return", "try",  "while",  "with",   "yield"};
  return std::find(kKeywords.begin(), kKeywords.end(), name) != kKeywords.end();
}

}  // namespace hive::analyze
